"""Core layers: Dense, Activation, Lambda, Identity."""
from kusari import activations, constraints, initializers, ops, regularizers
from kusari.layers.layer import Layer
from kusari.ops import linalg


def _serialize(obj, module):
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    return module.serialize(obj) if hasattr(module, "serialize") else obj


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis; kernel shape (input_dim, units) as in Keras.

    >>> import kusari
    >>> layer = kusari.layers.Dense(3)
    >>> layer(kusari.ops.ones((2, 4))).shape, layer.kernel.shape
    ((2, 3), (4, 3))
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if quantization_config is not None:
            raise NotImplementedError("Dense(quantization_config=...): kusari has no quantization yet")
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        _init_weight_options(self, ("kernel", "bias"), locals())
        if lora_rank:
            raise NotImplementedError("Dense(lora_rank=...) is not supported by kusari yet")
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{self.name}: the last dimension of the input must be known, got {input_shape}")
        self.kernel = _add_weight_with_options(self, (input_dim, self.units), "kernel")
        self.bias = _add_weight_with_options(self, (self.units,), "bias") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self.name} (Dense): expected inputs with last dimension {self.kernel.shape[0]}, "
                             f"got shape {inputs.shape}")
        act = self.activation
        if act is activations.relu or act is activations.linear:
            # one fused node for matmul + bias (+ relu): see ops.linalg.linear
            return linalg.linear(inputs, self.kernel, self.bias, relu=act is activations.relu)
        y = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return act(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_weight_options_config(self, ("kernel", "bias"))}


def _constraint_config(c):
    if c is None:
        return None
    return {"class_name": type(c).__name__, "config": c.get_config()}


# -- the initializer / regularizer / constraint of each weight (Dense and the convolutions) ------------------------

def _init_weight_options(layer, weights, arguments):
    """Set ``layer.<w>_initializer``, ``<w>_regularizer`` and ``<w>_constraint`` for each weight name ``w`` in
    ``weights``, and ``layer.activity_regularizer``, from the constructor's ``arguments`` (its ``locals()``):
    initializers, then regularizers (activity last), then constraints — the order of Keras' ``get_config`` keys."""
    for w in weights:
        setattr(layer, f"{w}_initializer", initializers.get(arguments[f"{w}_initializer"]))
    for w in weights + ("activity",):
        setattr(layer, f"{w}_regularizer", regularizers.get(arguments[f"{w}_regularizer"]))
    for w in weights:
        setattr(layer, f"{w}_constraint", constraints.get(arguments[f"{w}_constraint"]))


def _weight_options_config(layer, weights):
    """The ``get_config`` entries for what ``_init_weight_options`` set, in the same order."""
    config = {f"{w}_initializer": _serialize(getattr(layer, f"{w}_initializer"), initializers) for w in weights}
    config.update({f"{w}_regularizer": _serialize(getattr(layer, f"{w}_regularizer"), regularizers)
                   for w in weights + ("activity",)})
    config.update({f"{w}_constraint": _constraint_config(getattr(layer, f"{w}_constraint")) for w in weights})
    return config


def _add_weight_with_options(layer, shape, options, name=None):
    """``layer.add_weight`` with ``layer.<options>_initializer`` / ``_regularizer`` / ``_constraint``; the weight is
    named ``name`` (default: ``options``)."""
    return layer.add_weight(shape=shape, initializer=getattr(layer, f"{options}_initializer"),
                            regularizer=getattr(layer, f"{options}_regularizer"),
                            constraint=getattr(layer, f"{options}_constraint"), name=name or options)


class Activation(Layer):
    """Applies an activation by name or callable.

    >>> import kusari
    >>> kusari.layers.Activation("relu")(kusari.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged (a placeholder, e.g. for a removed head).

    >>> import kusari
    >>> kusari.layers.Identity()(kusari.tensor([1.0, 2.0])).tolist()
    [1.0, 2.0]
    """

    def call(self, inputs):
        return inputs


class Lambda(Layer):
    """Wraps a Python function as a layer.

    Its function is not serialised as code: loading a saved model with a Lambda needs ``safe_mode=False``.

    >>> import kusari
    >>> kusari.layers.Lambda(lambda x: x * 2)(kusari.tensor([1.0, 2.0])).tolist()
    [2.0, 4.0]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda needs a callable, got {function!r}")
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape

    def call(self, inputs, mask=None):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        return {**super().get_config(), "function": getattr(self.function, "__name__", "lambda"),
                "arguments": self.arguments}
