"""Reductions: sum, mean, max, min, prod, var, std, logsumexp, argmax, argmin, cumsum."""
from kusari import config, dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.ops.shape import broadcast_to, reshape
from kusari.tensor import Tensor

__all__ = ["sum", "mean"]


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    uses_inputs = False

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return B().xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].shape
        if not self.keepdims:
            gy = reshape(gy, _keep_shape(shape, self.axes))
        return broadcast_to(gy, shape)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes when None).

    >>> import kusari
    >>> kusari.ops.sum(kusari.tensor([[1, 2], [3, 4]]), axis=0).tolist()
    [4, 6]
    """
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "sum")
    if x.dtype == "bool":
        x = Tensor(B().cast(x.data, "int32"))
    return Sum(axes, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``; integer inputs give floatx."""
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        from kusari.ops.arithmetic import cast
        x = cast(x, config.floatx())
    axes = normalize_axis(axis, x.ndim, "mean")
    n = 1
    for a in axes:
        n *= x.shape[a]
    return Sum(axes, keepdims)(x) * (1.0 / max(n, 1))


Tensor.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
