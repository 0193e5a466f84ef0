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
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if lora_rank:
            raise NotImplementedError("Dense(lora_rank=...) is not supported by kusari yet")
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{self.name}: the last dimension of the input must be known, got {input_shape}")
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
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
                "kernel_initializer": _serialize(self.kernel_initializer, initializers),
                "bias_initializer": _serialize(self.bias_initializer, initializers),
                "kernel_regularizer": _serialize(self.kernel_regularizer, regularizers),
                "bias_regularizer": _serialize(self.bias_regularizer, regularizers),
                "activity_regularizer": _serialize(self.activity_regularizer, regularizers),
                "kernel_constraint": _constraint_config(self.kernel_constraint),
                "bias_constraint": _constraint_config(self.bias_constraint)}


def _constraint_config(c):
    if c is None:
        return None
    return {"class_name": type(c).__name__, "config": c.get_config()}


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
