"""Shape ops: reshape, transpose, expand_dims, squeeze, broadcast_to, sum_to, …

View-producing ops share the input's in-place version counter, so an in-place change through a view is caught.
"""
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.tensor import Tensor

__all__ = ["reshape", "transpose", "broadcast_to", "sum_to", "expand_dims", "squeeze", "ravel"]


def _share_version(out, x):
    """``out`` is a view of ``x``: they share the in-place version counter."""
    out._vc = x._version_counter()
    return out


class Reshape(Function):
    uses_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return B().xp.reshape(x, self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


class Transpose(Function):
    uses_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return B().xp.permute_dims(x, self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return transpose(gy, tuple(inverse))


class BroadcastTo(Function):
    uses_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return B().xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    """Sum ``x`` down to ``shape`` (the reverse of broadcasting)."""
    uses_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1)
        y = B().xp.sum(x, axis=axes, keepdims=True) if axes else x
        if lead:
            y = B().xp.reshape(y, self.shape)
        return y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def reshape(x, newshape):
    """``x`` with a new shape (one dimension may be -1).

    >>> import kusari
    >>> kusari.ops.reshape(kusari.tensor([1, 2, 3, 4]), (2, -1)).shape
    (2, 2)
    """
    x = as_tensor(x)
    if isinstance(newshape, int):
        newshape = (newshape,)
    newshape = tuple(int(s) for s in newshape)
    if newshape == x.shape:
        return x
    known = 1
    for s in newshape:
        if s != -1:
            known *= s
    n = x.size
    if newshape.count(-1) > 1 or (-1 in newshape and (known == 0 or n % known)) or \
            (-1 not in newshape and known != n):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({n} elements) into {newshape}")
    return _share_version(Reshape(newshape)(x), x)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim - 1, -1, -1))
    axes = tuple(a % x.ndim for a in axes) if x.ndim else ()
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    if axes == tuple(range(x.ndim)):
        return x
    return _share_version(Transpose(axes)(x), x)


def broadcast_to(x, shape):
    x = as_tensor(x)
    shape = tuple(int(s) for s in shape)
    if x.shape == shape:
        return x
    ok = len(shape) >= x.ndim and all(a == b or a == 1 for a, b in zip(x.shape[::-1], shape[::-1]))
    if not ok:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return _share_version(BroadcastTo(shape)(x), x)


def sum_to(x, shape):
    """Sum ``x`` over broadcast dimensions so that it has ``shape``."""
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def expand_dims(x, axis):
    """Insert a length-1 axis at ``axis`` (an int or a tuple of ints)."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = sorted(a % ndim for a in axes)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    x = as_tensor(x)
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length {x.shape[a]}, not 1")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def ravel(x):
    return reshape(x, (-1,))


def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


Tensor.reshape = lambda self, *shape: reshape(self, _shape_args(shape))
Tensor.view = Tensor.reshape
Tensor.transpose = lambda self, *axes: transpose(self, _shape_args(axes) if axes else None)
Tensor.T = property(lambda self: transpose(self))
Tensor.flatten = lambda self: reshape(self, (-1,))
Tensor.squeeze = lambda self, axis=None: squeeze(self, axis)
Tensor.expand_dims = lambda self, axis: expand_dims(self, axis)
Tensor.unsqueeze = Tensor.expand_dims
Tensor.broadcast_to = lambda self, *shape: broadcast_to(self, _shape_args(shape))
