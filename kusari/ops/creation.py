"""Making tensors (zeros, ones, full, arange, linspace, eye, tri) and facts about them (shape, ndim, size);
tril / triu are differentiable, stop_gradient cuts the graph.
"""
from kusari import config, dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor
from kusari.tensor import Tensor

__all__ = ["zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "empty", "arange", "linspace", "eye",
           "identity", "tri", "tril", "triu", "convert_to_tensor", "convert_to_numpy", "shape", "ndim", "size",
           "stop_gradient"]


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(s) for s in shape)


def _dtype(dtype):
    return dtypes.standardize(dtype) or config.floatx()


def zeros(shape, dtype=None):
    """A tensor of zeros (``floatx`` unless ``dtype``).

    >>> import kusari
    >>> kusari.ops.zeros((2,)).tolist()
    [0.0, 0.0]
    """
    return Tensor(B().zeros(_shape(shape), _dtype(dtype)))


def ones(shape, dtype=None):
    return Tensor(B().ones(_shape(shape), _dtype(dtype)))


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    """A tensor of ``fill_value`` (``floatx`` unless ``dtype``, as Keras)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.data
    return Tensor(B().full(_shape(shape), fill_value, _dtype(dtype)))


def _like_dtype(x, dtype):
    return dtypes.standardize(dtype) or x.dtype


def zeros_like(x, dtype=None):
    x = as_tensor(x)
    return Tensor(B().zeros(x.shape, _like_dtype(x, dtype)))


def ones_like(x, dtype=None):
    x = as_tensor(x)
    return Tensor(B().ones(x.shape, _like_dtype(x, dtype)))


def full_like(x, fill_value, dtype=None):
    x = as_tensor(x)
    return Tensor(B().full(x.shape, fill_value, _like_dtype(x, dtype)))


def _is_float(v):
    return isinstance(v, float) or (isinstance(v, Tensor) and dtypes.is_float(v.dtype))


def arange(start, stop=None, step=1, dtype=None):
    """``start, start + step, …`` below ``stop`` (``arange(n)`` counts from 0); int32 for integer arguments,
    floatx when any is a float.

    >>> import kusari
    >>> kusari.ops.arange(3).tolist()
    [0, 1, 2]
    """
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        dtype = config.floatx() if any(_is_float(v) for v in (start, stop, step)) else "int32"
    dtype = dtypes.standardize(dtype)
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, stop, step)]
    return Tensor(B().arange(*vals, dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless ``endpoint=False``)."""
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    dtype = _dtype(dtype)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else float("nan")
    b = B()
    idx = b.arange(0, num, 1, "float64")
    vals = idx * step + start if div > 0 else idx * 0.0 + start
    if endpoint and num > 1:
        vals = b.xp.where(idx == num - 1, float(stop), vals)
    out = Tensor(b.cast(vals, dtype))
    if axis != 0:
        raise ValueError("linspace: only scalar start/stop (axis=0) are supported")
    return (out, step) if retstep else out


def eye(N, M=None, k=0, dtype=None):
    """A 2-D tensor with ones on the ``k``-th diagonal."""
    M = N if M is None else M
    b = B()
    rows = b.xp.reshape(b.arange(0, N, 1, "int64"), (N, 1))
    cols = b.xp.reshape(b.arange(0, M, 1, "int64"), (1, M))
    return Tensor(b.cast(cols - rows == k, _dtype(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal of an N x M matrix."""
    M = N if M is None else M
    b = B()
    rows = b.xp.reshape(b.arange(0, N, 1, "int64"), (N, 1))
    cols = b.xp.reshape(b.arange(0, M, 1, "int64"), (1, M))
    return Tensor(b.cast(cols - rows <= k, _dtype(dtype)))


class MaskTri(Function):
    """``x * mask`` for a constant 0/1 triangle mask over the last two axes."""
    uses_inputs = False

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return B().xp.where(self.mask, x, B().xp.zeros_like(x))

    def backward(self, gy):
        from kusari.ops.arithmetic import where
        return where(Tensor(self.mask), gy, gy * 0.0)


def _tri_mask(x, k, lower, op):
    if x.ndim < 2:
        raise ValueError(f"{op}: needs at least 2 dimensions, got shape {x.shape}")
    n, m = x.shape[-2:]
    b = B()
    rows = b.xp.reshape(b.arange(0, n, 1, "int64"), (n, 1))
    cols = b.xp.reshape(b.arange(0, m, 1, "int64"), (1, m))
    return (cols - rows <= k) if lower else (cols - rows >= k)


def tril(x, k=0):
    """``x`` with everything above the ``k``-th diagonal zeroed (last two axes); differentiable."""
    x = as_tensor(x)
    return MaskTri(_tri_mask(x, k, True, "tril"))(x)


def triu(x, k=0):
    """``x`` with everything below the ``k``-th diagonal zeroed (last two axes); differentiable."""
    x = as_tensor(x)
    return MaskTri(_tri_mask(x, k, False, "triu"))(x)


def convert_to_tensor(x, dtype=None):
    """``x`` as a Tensor (the same object when it already is one of that dtype)."""
    return as_tensor(x, dtype)


def convert_to_numpy(x):
    """A NumPy array with ``x``'s values."""
    if isinstance(x, Tensor):
        return x.numpy()
    return as_tensor(x).numpy()


def shape(x):
    """The shape as a tuple of ints."""
    if isinstance(x, Tensor):
        return x.shape
    return as_tensor(x).shape


def ndim(x):
    return len(shape(x))


def size(x):
    n = 1
    for s in shape(x):
        n *= s
    return n


def stop_gradient(variable):
    """The same values, cut from the graph (``detach``)."""
    return as_tensor(variable).detach()
