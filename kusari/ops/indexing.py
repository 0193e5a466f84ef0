"""Indexing: ``Tensor.__getitem__``, take, take_along_axis, slice, slice_update, scatter, scatter_update, clip.

``x[index]`` follows NumPy: ints, slices (any step), ``None``, ``...`` give a view (basic indexing; it shares the
in-place version counter); integer arrays/lists/Tensors and boolean masks give a copy (advanced indexing). The
backward of a gather is a scatter-add (``IndexAdd``, repeated indices accumulate) and the backward of that is the
gather again, so second derivatives work.
"""
from kusari import dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.ops.shape import _share_version, reshape
from kusari.tensor import Tensor

__all__ = ["take", "take_along_axis", "slice", "slice_update", "scatter", "scatter_update", "clip"]

_slice = slice  # the builtin; ``slice`` below is the keras.ops function


# -- index normalisation ------------------------------------------------------------------------------------------

def _int_array(a, what, allow_bool=True):
    """A backend integer array from a list/array/Tensor; bool masks are expanded with nonzero (NumPy rule)."""
    b = B()
    if isinstance(a, Tensor):
        arr = a.data
    elif isinstance(a, b.array_types):
        arr = a
    else:
        arr = b.asarray(a)
        if arr.size == 0:
            arr = b.cast(arr, "int64")
    name = b.dtype_name(arr.dtype)
    if name == "bool" and allow_bool:
        return tuple(b.xp.nonzero(arr))
    if name == "bool":
        raise TypeError(f"{what}: indices must be integers, not a boolean mask")
    if not dtypes.is_int(name):
        raise TypeError(f"{what}: indices must be integers or booleans, got dtype {name}")
    return (arr,)


def _slice_part(v):
    return int(v) if isinstance(v, Tensor) else v


def _normalize_index(index):
    """``(index tuple of arrays/ints/slices/None/Ellipsis, is_basic)``."""
    if not isinstance(index, tuple):
        index = (index,)
    out, basic = [], True
    for i in index:
        if i is None or i is Ellipsis:
            out.append(i)
        elif isinstance(i, _slice):
            out.append(_slice(_slice_part(i.start), _slice_part(i.stop), _slice_part(i.step)))
        elif isinstance(i, bool):
            raise TypeError("tensor index: a Python bool is not a valid index; use a boolean mask tensor")
        elif isinstance(i, int):
            out.append(i)
        elif isinstance(i, Tensor) and i.ndim == 0 and dtypes.is_int(i.dtype):
            out.append(int(i.item()))
        elif isinstance(i, (list, tuple, Tensor)) or isinstance(i, B().array_types) or (
                hasattr(i, "__array__") and getattr(i, "ndim", 0) > 0):   # another library's array (NumPy's)
            out.extend(_int_array(i, "tensor index"))
            basic = False
        elif hasattr(i, "__index__"):
            out.append(i.__index__())
        else:
            raise TypeError(f"tensor index: cannot index with a {type(i).__name__} ({i!r}); use ints, slices, "
                            "None, ..., integer arrays or boolean masks")
    return tuple(out), basic


def _index_error(e, index, shape):
    return IndexError(f"tensor index {index!r} does not fit a tensor of shape {shape}: {e}")


class GetItem(Function):
    uses_inputs = False

    def __init__(self, index, basic):
        self.index, self.basic = index, basic

    def forward(self, x):
        self.shape = tuple(x.shape)
        return B().xp.asarray(B().getitem(x, self.index))

    def backward(self, gy):
        return IndexAdd(self.shape, self.index, self.basic)(gy)


class IndexAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeats accumulate): the backward of ``x[index]``."""
    uses_inputs = False

    def __init__(self, shape, index, basic):
        self.shape, self.index, self.basic = shape, index, basic

    def forward(self, g):
        b = B()
        if self.basic:       # basic indexing never repeats an element: a plain write is enough
            out = b.zeros(self.shape, b.dtype_name(g.dtype))
            return b.setitem(out, self.index, g)
        return b.index_add(self.shape, self.index, g)

    def backward(self, gg):
        return GetItem(self.index, self.basic)(gg)


def getitem(x, index):
    """``x[index]`` with NumPy's rules; differentiable.

    >>> import kusari
    >>> x = kusari.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> x[:, ::-2].tolist(), x[[1, 1], 0].tolist(), x[x > 4].tolist()
    ([[3.0, 1.0], [6.0, 4.0]], [4.0, 4.0], [5.0, 6.0])
    """
    x = as_tensor(x)
    idx, basic = _normalize_index(index)
    try:
        y = GetItem(idx, basic)(x)
    except IndexError as e:
        raise _index_error(e, index, x.shape) from None
    return _share_version(y, x) if basic else y


def _axis_slice(x, axis, start, stop):
    """``x[..., start:stop, ...]`` on ``axis``."""
    return getitem(x, (_slice(None),) * axis + (_slice(start, stop),))


# -- take / take_along_axis ---------------------------------------------------------------------------------------

def _check_range(idx, n, op):
    xp = B().xp
    if idx.size and B().is_concrete(idx) and bool(xp.any(xp.logical_or(idx < -n, idx >= n))):
        raise IndexError(f"{op}: index out of range for an axis of length {n} (indices span "
                         f"{int(xp.min(idx))}..{int(xp.max(idx))})")
    return xp.where(idx < 0, idx + n, idx)


class Take(Function):
    uses_inputs = False

    def __init__(self, axis, idx, idx_shape):
        self.axis, self.idx, self.idx_shape = axis, idx, idx_shape   # idx: flat, non-negative

    def forward(self, x):
        self.shape = tuple(x.shape)
        y = B().xp.take(x, self.idx, axis=self.axis)
        a = self.axis
        return B().xp.reshape(y, self.shape[:a] + self.idx_shape + self.shape[a + 1:])

    def backward(self, gy):
        a = self.axis
        g = reshape(gy, self.shape[:a] + (self.idx.shape[0],) + self.shape[a + 1:])
        return ScatterAdd(self.shape, a, self.idx)(g)


class ScatterAdd(Function):
    """Zeros of ``shape`` with slices of ``g`` added at ``idx`` along ``axis``: the backward of ``take``."""
    uses_inputs = False

    def __init__(self, shape, axis, idx):
        self.shape, self.axis, self.idx = shape, axis, idx

    def forward(self, g):
        return B().scatter_add(self.shape, self.axis, self.idx, g)

    def backward(self, gg):
        return Take(self.axis, self.idx, (self.idx.shape[0],))(gg)


def take(x, indices, axis=None):
    """Elements of ``x`` at integer ``indices`` along ``axis`` (of the flattened tensor when None).

    >>> import kusari
    >>> kusari.ops.take(kusari.tensor([[1, 2], [3, 4]]), [1, 0, 1], axis=0).tolist()
    [[3, 4], [1, 2], [3, 4]]
    """
    x = as_tensor(x)
    (idx,) = _int_array(indices, "take", allow_bool=False)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    if x.ndim == 0:
        raise ValueError("take: cannot index a zero-dimensional tensor along an axis")
    axis = normalize_axis(axis, x.ndim, "take")[0]
    idx_shape = tuple(idx.shape)
    flat = _check_range(B().xp.reshape(idx, (-1,)), x.shape[axis], "take")
    return Take(axis, flat, idx_shape)(x)


def take_along_axis(x, indices, axis=None):
    """Pick values along ``axis`` at ``indices`` of the same rank as ``x`` (NumPy ``take_along_axis``)."""
    x = as_tensor(x)
    (idx,) = _int_array(indices, "take_along_axis", allow_bool=False)
    xp = B().xp
    if axis is None:
        x = reshape(x, (-1,))
        idx = xp.reshape(idx, (-1,))
        axis = 0
    axis = normalize_axis(axis, x.ndim, "take_along_axis")[0]
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {tuple(idx.shape)} need the rank of x "
                         f"(shape {x.shape})")
    for d, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if d != axis and a != b and a != 1 and b != 1:
            raise ValueError(f"take_along_axis: indices of shape {tuple(idx.shape)} do not broadcast with x of "
                             f"shape {x.shape} outside axis {axis}")
    idx = _check_range(idx, x.shape[axis], "take_along_axis")
    full = []
    for d in range(x.ndim):
        if d == axis:
            full.append(idx)
        else:
            shape = [1] * x.ndim
            shape[d] = x.shape[d]
            full.append(xp.reshape(B().arange(0, x.shape[d], 1, "int64"), tuple(shape)))
    return GetItem(tuple(full), False)(x)


# -- slices and functional updates --------------------------------------------------------------------------------

def _start_index(x, start_indices, shape, op):
    starts = [int(s) for s in (start_indices.tolist() if isinstance(start_indices, Tensor) else start_indices)]
    shape = [int(s) for s in shape]
    if len(starts) != x.ndim or len(shape) != x.ndim:
        raise ValueError(f"{op}: need {x.ndim} start indices and sizes for shape {x.shape}, got {starts} and "
                         f"{shape}")
    for s, n, d in zip(starts, shape, x.shape):
        if s < 0 or n < 0 or s + n > d:
            raise ValueError(f"{op}: the block at {starts} of shape {tuple(shape)} does not fit shape {x.shape}")
    return tuple(_slice(s, s + n) for s, n in zip(starts, shape))


def slice(inputs, start_indices, shape):
    """The block of ``inputs`` of size ``shape`` starting at ``start_indices`` (a view).

    >>> import kusari
    >>> kusari.ops.slice(kusari.tensor([[1, 2, 3], [4, 5, 6]]), (0, 1), (2, 2)).tolist()
    [[2, 3], [5, 6]]
    """
    x = as_tensor(inputs)
    shape = [d - s if n == -1 else n for n, s, d in zip(shape, start_indices, x.shape)] \
        if len(shape) == x.ndim else shape
    return getitem(x, _start_index(x, start_indices, shape, "slice"))


class Update(Function):
    """``x`` with ``x[index]`` replaced by ``u`` (a new tensor)."""
    uses_inputs = False

    def __init__(self, index, basic):
        self.index, self.basic = index, basic

    def forward(self, x, u):
        out = B().xp.asarray(x, copy=True)
        return B().setitem(out, self.index, u)

    def backward(self, gy):
        x, u = self.inputs
        nx, nu = self.needs_input_grad
        gx = Update(self.index, self.basic)(gy, Tensor(B().zeros(u.shape, gy.dtype))) if nx else None
        gu = GetItem(self.index, self.basic)(gy) if nu else None
        return gx, gu


def _update(x, index, basic, updates, want_shape, op):
    from kusari.ops.arithmetic import cast
    u = as_tensor(updates)
    if u.dtype != x.dtype:
        u = cast(u, x.dtype)
    if u.shape != tuple(want_shape):
        raise ValueError(f"{op}: updates of shape {u.shape} do not fit the target region of shape "
                         f"{tuple(want_shape)}")
    return Update(index, basic)(x, u)


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block starting at ``start_indices`` replaced by ``updates`` (functional)."""
    x = as_tensor(inputs)
    u = as_tensor(updates)
    if u.ndim != x.ndim:
        raise ValueError(f"slice_update: updates of shape {u.shape} need the rank of inputs (shape {x.shape})")
    index = _start_index(x, start_indices, u.shape, "slice_update")
    return _update(x, index, True, u, u.shape, "slice_update")


def _point_index(indices, shape, op):
    (idx,) = _int_array(indices, op, allow_bool=False)
    if idx.ndim != 2 or idx.shape[1] > len(shape):
        raise ValueError(f"{op}: indices need shape (N, k) with k <= {len(shape)}, got {tuple(idx.shape)}")
    cols = []
    for j in range(idx.shape[1]):
        cols.append(_check_range(idx[:, j], shape[j], op))
    return tuple(cols), (idx.shape[0],) + tuple(shape[idx.shape[1]:])


def scatter_update(inputs, indices, updates):
    """``inputs`` with the entries at ``indices`` (shape (N, k)) replaced by ``updates`` (shape (N, ...)).
    With repeated indices the last update wins in the forward pass."""
    x = as_tensor(inputs)
    index, want = _point_index(indices, x.shape, "scatter_update")
    return _update(x, index, False, updates, want, "scatter_update")


def scatter(indices, values, shape):
    """Zeros of ``shape`` with ``values`` (shape (N, ...)) added at ``indices`` (shape (N, k)); repeats sum.

    >>> import kusari
    >>> kusari.ops.scatter([[0], [2], [0]], kusari.tensor([1.0, 2.0, 3.0]), (3,)).tolist()
    [4.0, 0.0, 2.0]
    """
    shape = tuple(int(s) for s in shape)
    v = as_tensor(values)
    index, want = _point_index(indices, shape, "scatter")
    if v.shape != want:
        raise ValueError(f"scatter: values of shape {v.shape} do not fit indices into shape {shape} "
                         f"(expected {want})")
    return IndexAdd(shape, index, False)(v)


# -- clip ------------------------------------------------------------------------------------------------------

class Clip(Function):
    """Clip to [lo, hi]; the gradient is 1 inside the interval (ends included), 0 outside."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = B().xp
        y = x
        if self.lo is not None:
            y = xp.maximum(y, xp.asarray(self.lo, dtype=x.dtype))
        if self.hi is not None:
            y = xp.minimum(y, xp.asarray(self.hi, dtype=x.dtype))
        return y

    def backward(self, gy):
        x = self.inputs[0].data
        xp = B().xp
        inside = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside = xp.logical_and(inside, x >= self.lo)
        if self.hi is not None:
            inside = xp.logical_and(inside, x <= self.hi)
        return gy * Tensor(B().cast(inside, B().dtype_name(x.dtype)))


def clip(x, x_min, x_max):
    """Limit values to ``[x_min, x_max]`` (Python numbers or tensors; one may be None).

    >>> import kusari
    >>> kusari.ops.clip(kusari.tensor([-2.0, 0.5, 3.0]), -1.0, 1.0).tolist()
    [-1.0, 0.5, 1.0]
    """
    x = as_tensor(x)
    if x_min is None and x_max is None:
        raise ValueError("clip: give x_min, x_max or both")
    if x.dtype == "bool":
        x = Tensor(B().cast(x.data, "int32"))
    scalar = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in (x_min, x_max))
    if scalar:
        if x_min is not None and x_max is not None and x_min > x_max:
            raise ValueError(f"clip: x_min={x_min} is larger than x_max={x_max}")
        if not dtypes.is_float(x.dtype) and any(isinstance(v, float) for v in (x_min, x_max)):
            from kusari import config
            from kusari.ops.arithmetic import cast
            x = cast(x, config.floatx())
        if not dtypes.is_float(x.dtype):
            return Tensor(Clip(x_min, x_max).forward(x.data))
        return Clip(x_min, x_max)(x)
    from kusari.ops.arithmetic import maximum, minimum
    y = x
    if x_min is not None:
        y = maximum(y, x_min)
    if x_max is not None:
        y = minimum(y, x_max)
    return y


Tensor.__getitem__ = getitem
Tensor.clip = lambda self, x_min=None, x_max=None: clip(self, x_min, x_max)
Tensor.take = lambda self, indices, axis=None: take(self, indices, axis)
