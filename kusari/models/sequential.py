"""``Sequential``: a plain stack of layers.

>>> import kusari
>>> from kusari import layers
>>> model = kusari.Sequential([kusari.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(2)])
>>> model(kusari.ops.ones((3, 4))).shape
(3, 2)
"""
from kusari.layers.input_layer import InputLayer
from kusari.layers.layer import Layer
from kusari.layers.symbolic import SymbolicTensor
from kusari.models.functional import adjust_rank
from kusari.models.model import Model


class Sequential(Model):
    """A Model that calls its layers one after another; ``add`` appends, ``pop`` removes the last.

    >>> import kusari
    >>> model = kusari.Sequential([kusari.Input((4,)), kusari.layers.Dense(2)])
    >>> model.add(kusari.layers.Activation("softmax"))
    >>> [layer.name.split("_")[0] for layer in model.layers]
    ['dense', 'activation']
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._input_layer = None
        self._stack = []
        self._symbolic_output = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (or an ``Input``)."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError(f"{self.name}: an Input must come first in a Sequential model")
            self._input_layer = layer
            self._symbolic_output = layer.output
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}: Sequential.add() takes a Layer, got {type(layer).__name__}")
        if not self._stack and self._input_layer is None:
            batch_shape = layer._batch_input_shape
            inputs = getattr(layer, "inputs", None) if isinstance(layer, Model) else None
            if batch_shape is None and inputs and len(inputs) == 1:
                batch_shape = inputs[0].shape  # a model with an Input as first layer: Keras infers the input
            if batch_shape is not None:
                self._input_layer = InputLayer(batch_shape=batch_shape)
                self._symbolic_output = self._input_layer.output
        self._stack.append(layer)
        self._track(layer)
        if self._symbolic_output is not None:
            out = layer(self._symbolic_output)
            if not isinstance(out, SymbolicTensor):
                raise ValueError(f"{self.name}: layer {layer.name!r} returns several outputs; Sequential models "
                                 "need one output per layer (use the functional API)")
            self._symbolic_output = out
        self.built = self._input_layer is not None

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise TypeError(f"{self.name}: there is no layer to pop")
        layer = self._stack.pop()
        self._layers = [l for l in self._layers if l is not layer]
        self._symbolic_output = self._stack[-1].output if self._stack and self._input_layer else \
            (self._input_layer.output if self._input_layer else None)
        return layer

    @property
    def layers(self):
        return list(self._stack)

    @property
    def inputs(self):
        return [self._input_layer.output] if self._input_layer else []

    @property
    def input(self):
        if self._input_layer is None:
            raise AttributeError(f"{self.name} has no defined input; start it with kusari.Input(shape)")
        return self._input_layer.output

    @property
    def outputs(self):
        return [self._symbolic_output] if self._symbolic_output is not None else []

    @property
    def output(self):
        if self._symbolic_output is None:
            raise AttributeError(f"{self.name} has no defined input, so no symbolic output")
        return self._symbolic_output

    @property
    def output_names(self):
        return [self._stack[-1].name] if self._stack else []

    def call(self, inputs, training=None, mask=None):
        if self._input_layer is not None:
            expected = self._input_layer.batch_shape
            inputs = adjust_rank(inputs, expected)
            shape = tuple(getattr(inputs, "shape", ()))
            if len(shape) != len(expected) or any(e is not None and e != d for e, d in zip(expected[1:], shape[1:])):
                first = self._stack[0].name if self._stack else self.name
                raise ValueError(f"{self.name}: layer {first!r} expects input shape {expected}, got {shape}")
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    def build(self, input_shape=None):
        if input_shape is not None and self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=input_shape)
            out = self._input_layer.output
            for layer in self._stack:
                out = layer(out)
            self._symbolic_output = out
        self.built = True

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._stack]}
