"""Activation layers with Keras 3's names, arguments, defaults and weights: ReLU, LeakyReLU, PReLU, ELU, Softmax.

>>> import kusari
>>> kusari.layers.ReLU(max_value=1.0)(kusari.tensor([[-1.0, 0.5, 3.0]])).tolist()
[[0.0, 0.5, 1.0]]
>>> kusari.layers.LeakyReLU()(kusari.tensor([[-1.0, 2.0]])).tolist()
[[-0.30000001192092896, 2.0]]
"""
from kusari import constraints, initializers, ops, regularizers
from kusari.layers.core import _constraint_config, _serialize
from kusari.layers.layer import Layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _number(value, what, cls, allow_none=False, positive=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{cls}: {what} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{cls}: {what} must be {'positive' if positive else '>= 0'}, got {value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit: ``max_value`` where ``x >= max_value``, ``x`` where ``threshold <= x < max_value``,
    ``negative_slope * (x - threshold)`` below the threshold (Keras' definition)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = _number(negative_slope, "negative_slope", "ReLU")
        self.threshold = _number(threshold, "threshold", "ReLU")
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        x = inputs
        if self.negative_slope == 0.0 and self.threshold == 0.0:
            y = ops.relu(x)
        else:
            y = ops.where(x >= self.threshold, x, (x - self.threshold) * self.negative_slope)
        if self.max_value is not None:
            y = ops.minimum(y, ops.cast(self.max_value, y.dtype))
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras' default slope 0.3; ``alpha=`` is Keras 2's name)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _number(negative_slope, "negative_slope", "LeakyReLU")
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU with a learned slope ``alpha`` per element of ``input_shape[1:]`` (size 1 on ``shared_axes``).

    >>> import kusari
    >>> layer = kusari.layers.PReLU(shared_axes=[1])
    >>> layer(kusari.ops.ones((2, 3, 4))).shape, layer.alpha.shape
    ((2, 3, 4), (1, 4))
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"{self.name} (PReLU): shared_axes must name axes 1..{len(input_shape) - 1} of "
                                 f"the input, got {self.shared_axes} for input shape {tuple(input_shape)}")
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"{self.name} (PReLU): the non-shared axes must have known sizes, got input shape "
                             f"{tuple(input_shape)}")
        self.alpha = self.add_weight(shape=tuple(param_shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint,
                                     name="alpha")
        self.built = True

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": _serialize(self.alpha_initializer, initializers),
                "alpha_regularizer": _serialize(self.alpha_regularizer, regularizers),
                "alpha_constraint": _constraint_config(self.alpha_constraint), "shared_axes": self.shared_axes}


class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha", "ELU")
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over ``axis`` (an int or a tuple of axes); ``mask`` (True = keep) excludes positions, as in Keras.

    >>> import kusari
    >>> kusari.layers.Softmax()(kusari.tensor([[1.0, 1.0]])).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            # Keras' large negative (-1e9 for float32) where mask is False
            adder = (1.0 - ops.cast(mask, inputs.dtype)) * -1e9
            inputs = inputs + adder
        if isinstance(self.axis, (list, tuple)):
            if len(self.axis) > 1:
                axis = tuple(self.axis)
                return ops.exp(inputs - ops.logsumexp(inputs, axis=axis, keepdims=True))
            return ops.softmax(inputs, axis=self.axis[0])
        return ops.softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
