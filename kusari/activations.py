"""Activation functions by Keras name: ``Dense(64, activation="relu")``; ``activations.get("gelu")``.

>>> from kusari import activations
>>> activations.get("relu")([-1.0, 2.0]).tolist()
[0.0, 2.0]
"""
from kusari import ops


def linear(x):
    return ops.convert.as_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' relu with its optional leak, cap and threshold."""
    x = ops.convert.as_tensor(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    y = ops.where(x > threshold, x, negative_slope * (x - threshold)) if negative_slope else \
        ops.where(x > threshold, x, x * 0.0)
    if max_value is not None:
        y = ops.minimum(y, float(max_value))
    return y


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def exponential(x):
    return ops.exp(x)


def _name_map():
    return {
        "linear": linear, "relu": relu, "softmax": softmax, "log_softmax": log_softmax, "exponential": exponential,
        "sigmoid": ops.sigmoid, "tanh": ops.tanh, "elu": ops.elu, "selu": ops.selu, "softplus": ops.softplus,
        "softsign": ops.softsign, "swish": ops.silu, "silu": ops.silu, "gelu": ops.gelu,
        "hard_sigmoid": ops.hard_sigmoid, "hard_silu": getattr(ops, "hard_silu", None), "leaky_relu": ops.leaky_relu,
        "relu6": ops.relu6, "mish": getattr(ops, "mish", None),
    }


def get(identifier):
    """The activation function for a Keras name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        table = {k: v for k, v in _name_map().items() if v is not None}
        if identifier in table:
            return table[identifier]
        raise ValueError(f"unknown activation {identifier!r}; valid names: {', '.join(sorted(table))}")
    raise TypeError(f"cannot interpret {identifier!r} as an activation")


def serialize(fn):
    for name, f in _name_map().items():
        if f is fn:
            return name
    return getattr(fn, "__name__", str(fn))
