"""Turning op arguments into Tensors: Python scalars, lists, arrays; dtype promotion between operands."""
from kusari import backend as _backend
from kusari import config, dtypes
from kusari.tensor import Tensor


def B():
    """The current backend (ops compute with it)."""
    return _backend.current()


def as_tensor(x, dtype=None):
    """``x`` as a Tensor (itself if it already is one and ``dtype`` matches)."""
    if isinstance(x, Tensor):
        if dtype is None or x.dtype == dtypes.standardize(dtype):
            return x
        from kusari.ops.arithmetic import cast
        return cast(x, dtype)
    return Tensor(x, dtype=dtype)


def scalar_like(value, like):
    """A 0-d tensor holding the Python number ``value`` in ``like``'s dtype (Python scalars are weakly typed)."""
    b = like.backend
    return Tensor(b.asarray(value, b.dtype(like.dtype)))


def pair(a, b):
    """Two Tensors of one dtype from two operands (Tensors, Python numbers, arrays)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.data.dtype != b.data.dtype or type(a.data) is not type(b.data):
                return promote(a, b)
            return a, b
        if isinstance(b, (int, float, bool)):
            a = _with_scalar(a, b)
            return a, scalar_like(b, a)
        return pair(a, as_tensor(b))
    if isinstance(b, Tensor):
        if isinstance(a, (int, float, bool)):
            b = _with_scalar(b, a)
            return scalar_like(a, b), b
        return pair(as_tensor(a), b)
    return pair(as_tensor(a), as_tensor(b))


def _with_scalar(t, value):
    """``t`` cast so that a Python scalar ``value`` fits it: an int tensor meeting a float becomes floatx."""
    if isinstance(value, float) and not isinstance(value, bool) and not dtypes.is_float(t.dtype):
        from kusari.ops.arithmetic import cast
        return cast(t, config.floatx())
    if isinstance(value, int) and not isinstance(value, bool) and t.dtype == "bool":
        from kusari.ops.arithmetic import cast
        return cast(t, "int32")
    return t


def promote(a, b):
    ba, bb = a.backend, b.backend
    if ba is not bb:
        what = f"devices {ba.device!r} and {bb.device!r}" if ba.name == bb.name else \
            f"backends {ba.name!r} ({ba.device}) and {bb.name!r} ({bb.device})"
        raise TypeError(f"cannot combine tensors on {what}: a tensor of shape {a.shape} on {ba!r} and one of shape "
                        f"{b.shape} on {bb!r}; move one with kusari.tensor(t.numpy()) under the other backend")
    if a.data.dtype == b.data.dtype:
        return a, b
    from kusari.ops.arithmetic import cast
    dt = dtypes.result_type(a.dtype, b.dtype)
    return (a if a.dtype == dt else cast(a, dt)), (b if b.dtype == dt else cast(b, dt))


def normalize_axis(axis, ndim, op):
    """``axis`` (int, tuple or None) as a tuple of non-negative ints, with a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(out)
