"""``OpLayer``: a ``kusari.ops`` function applied in a functional graph (``x + y``, ``ops.relu(x)`` on symbolic
tensors), saved by the op's name — Keras 3 writes these nodes as ``keras.src.ops.*`` operations, and kusari reads
and writes the same entries.

>>> import kusari
>>> x = kusari.Input((3,))
>>> y = kusari.ops.relu(x * 2.0)
>>> type(y.node.layer).__name__, y.node.layer.op_name
('OpLayer', 'relu')
"""
from kusari import ops
from kusari.layers import symbolic
from kusari.layers.layer import Layer, unique_name

# kusari op name -> (Keras class name, Keras module)
_KERAS_NAMES = {
    "add": ("Add", "keras.src.ops.numpy"), "subtract": ("Subtract", "keras.src.ops.numpy"),
    "multiply": ("Multiply", "keras.src.ops.numpy"), "divide": ("Divide", "keras.src.ops.numpy"),
    "true_divide": ("TrueDivide", "keras.src.ops.numpy"), "negative": ("Negative", "keras.src.ops.numpy"),
    "power": ("Power", "keras.src.ops.numpy"), "matmul": ("Matmul", "keras.src.ops.numpy"),
}


def keras_class_name(op_name):
    if op_name in _KERAS_NAMES:
        return _KERAS_NAMES[op_name]
    camel = "".join(part.capitalize() for part in op_name.split("_"))
    module = "keras.src.ops.nn" if hasattr(ops.nn, op_name) else "keras.src.ops.numpy"
    return camel, module


def op_name_from_keras(class_name):
    """The kusari op for a Keras operation class name (``"Relu"`` -> ``"relu"``), or None."""
    for name, (cls, _) in _KERAS_NAMES.items():
        if cls == class_name:
            return name
    from kusari.layers.layer import snake_case
    name = snake_case(class_name)
    return name if name in ops.__all__ else None


class OpLayer(Layer):
    """A ``kusari.ops`` function by name, as a layer: made for you when an op is applied to a symbolic tensor.

    >>> import kusari
    >>> kusari.layers.OpLayer("relu")(kusari.tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    def __init__(self, op_name, name=None, **kwargs):
        if op_name not in ops.__all__:
            raise ValueError(f"OpLayer: kusari.ops has no {op_name!r}")
        super().__init__(name=name or unique_name(op_name), **kwargs)
        self.op_name = op_name
        self.built = True

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)
        kwargs.pop("mask", None)
        return getattr(ops, self.op_name)(*args, **kwargs)

    def get_config(self):
        return {"name": self.name, "op_name": self.op_name}


def _record(op_name, args, kwargs):
    return OpLayer(op_name)(*args, **kwargs)


ops._symbolic_type = symbolic.SymbolicTensor
ops._symbolic_handler = _record
