"""The Backend protocol: everything kusari asks of an array library.

A backend is one object. Ops call ``backend.current()`` and use its members; nothing outside ``kusari/backend``
imports an array library. Elementwise maths, reductions and shape functions come from ``xp``, a namespace with the
Python array API standard's names (``xp.sum(x, axis=..., keepdims=...)``, ``xp.permute_dims``, ``xp.concat`` …);
the rest — things the standard lacks or a library does slowly — are methods here.

To add a backend: subclass ``Backend`` in one new file of this folder, fill in every method that raises
``NotImplementedError``, and register its factory in ``registry.py``.
"""


class Backend:
    name = "abstract"
    device = "cpu"
    xp = None              # the array-API namespace
    array_types = ()       # isinstance(obj, array_types) -> obj is an array of this backend

    # -- creation and conversion ------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """An array of this backend from ``data`` (nested lists, scalars, NumPy arrays, own arrays)."""
        raise NotImplementedError

    def to_numpy(self, a):
        """A NumPy array with the same values (a copy where the library needs one)."""
        raise NotImplementedError

    def dtype(self, name):
        """The library's dtype object for a canonical dtype name."""
        raise NotImplementedError

    def dtype_name(self, native):
        """The canonical name of a library dtype."""
        raise NotImplementedError

    def zeros(self, shape, dtype):
        raise NotImplementedError

    def ones(self, shape, dtype):
        raise NotImplementedError

    def full(self, shape, value, dtype):
        raise NotImplementedError

    def arange(self, start, stop, step, dtype):
        raise NotImplementedError

    def cast(self, a, dtype_name):
        raise NotImplementedError

    # -- state ------------------------------------------------------------------------------------
    def assign(self, dst, src):
        """Write ``src`` into ``dst``; return the array that now holds the value (``dst`` itself where the
        library mutates in place, a new array where it can't)."""
        raise NotImplementedError

    def setitem(self, dst, index, src):
        """``dst[index] = src``; returns the resulting array, like ``assign``."""
        raise NotImplementedError

    # -- kernels the array API lacks ---------------------------------------------------------------
    def erf(self, x):
        raise NotImplementedError

    def pad(self, x, pairs, mode="constant", constant_values=0):
        raise NotImplementedError

    def einsum(self, subscripts, *operands):
        raise NotImplementedError

    def take_along_axis(self, x, indices, axis):
        raise NotImplementedError

    def scatter_add(self, shape, axis, indices, values):
        """Zeros of ``shape`` with ``values`` summed in at ``indices`` (1-D integers) along ``axis``.
        Repeated indices accumulate. The backward of ``take``."""
        raise NotImplementedError

    def index_add(self, shape, index, values):
        """Zeros of ``shape`` with ``values`` added at the (advanced) ``index``, repeats accumulating.
        The backward of ``x[index]``."""
        raise NotImplementedError

    # -- random numbers from explicit generators ----------------------------------------------------
    def rng(self, seed):
        """A new generator seeded with the integer ``seed``."""
        raise NotImplementedError

    def rng_state(self, gen):
        """A JSON-serialisable snapshot of ``gen``'s state."""
        raise NotImplementedError

    def set_rng_state(self, gen, state):
        raise NotImplementedError

    def normal(self, gen, shape, dtype, mean=0.0, stddev=1.0):
        raise NotImplementedError

    def uniform(self, gen, shape, dtype, minval=0.0, maxval=1.0):
        raise NotImplementedError

    def randint(self, gen, shape, minval, maxval, dtype):
        raise NotImplementedError

    def permutation(self, gen, n):
        raise NotImplementedError

    # -- convolution and pooling (channels-last, explicit (lo, hi) padding per spatial dim) -----------
    def conv(self, x, w, strides, padding, dilation, groups):
        raise NotImplementedError

    def conv_backward_input(self, gy, w, x_shape, strides, padding, dilation, groups):
        raise NotImplementedError

    def conv_backward_filter(self, x, gy, w_shape, strides, padding, dilation, groups):
        raise NotImplementedError

    def max_pool(self, x, pool, strides, padding):
        """Returns ``(y, argmax)``; ``argmax`` is opaque and only handed back to the two functions below."""
        raise NotImplementedError

    def max_pool_backward(self, gy, argmax, x_shape, pool, strides, padding):
        raise NotImplementedError

    def max_pool_grad_gather(self, ggx, argmax, y_shape, pool, strides, padding):
        raise NotImplementedError

    def avg_pool(self, x, pool, strides, padding):
        raise NotImplementedError

    def avg_pool_backward(self, gy, x_shape, pool, strides, padding):
        raise NotImplementedError

    def __repr__(self):
        return f"<kusari backend {self.name!r} on {self.device}>"
