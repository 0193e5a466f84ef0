"""The JAX backend: arrays are ``jax.Array``; eager by default, and the whole train step can be compiled with
``model.compile(jit_compile=True)`` (see ``kusari/training/jit.py``).

JAX arrays are immutable, so ``assign`` / ``setitem`` and the optimizer path return new arrays and the caller
rebinds ``Tensor.data`` (the Backend protocol allows this). ``xp`` is ``jax.numpy`` (array-API names).
float64 needs JAX's x64 mode, which this backend switches on when it is created (``jax_enable_x64``); kusari
still makes float32 by default (``config.floatx()``).

Random numbers: a generator is a small mutable holder of a JAX PRNG key; each draw splits the key. Under a
compiled train step the key is part of the traced state, so dropout inside ``jit`` draws fresh masks each step.
"""
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from kusari.backend.base import Backend, foreign_rng_seed

jax.config.update("jax_enable_x64", True)

_DTYPES = {name: jnp.dtype(name) for name in (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "float8_e4m3fn", "float8_e5m2")}
_NAMES = {dt: name for name, dt in _DTYPES.items()}


class JaxGenerator:
    """A mutable holder of a JAX PRNG key (``key``: a uint32 array of shape (2,))."""
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def split(self):
        self.key, sub = jax.random.split(self.key)
        return sub


def _from_host(data, dtype=None):
    """A jax array with the values of host ``data`` (a NumPy array, Python data, anything with ``__array__``).

    NumPy's rules for Python data (floats -> float64), like the numpy backend. A NumPy array is copied first: jax
    reads a host buffer asynchronously (and on CPU may keep aliasing it), so without the copy a caller writing into
    its array after handing it over (``model.set_weights(ws); ws[0][...] = 0``) could change this immutable one.
    """
    return jnp.asarray(np.array(data, copy=True), dtype=dtype)


def _pairs(padding):
    return tuple((int(lo), int(hi)) for lo, hi in padding)


def _check_bounds(shape, index):
    parts = index if isinstance(index, tuple) else (index,)
    consuming = sum(1 for i in parts if i is not None and i is not Ellipsis
                    and not (hasattr(i, "dtype") and jnp.dtype(i.dtype) == jnp.dtype("bool")))
    dim = 0
    for i in parts:
        if i is None:
            continue
        if i is Ellipsis:
            dim += len(shape) - consuming
            continue
        if isinstance(i, slice):
            dim += 1
            continue
        if dim >= len(shape):
            raise IndexError(f"too many indices for an array with {len(shape)} dimensions")
        n = shape[dim]
        if isinstance(i, int):
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
        elif hasattr(i, "dtype") and not isinstance(i, jax.core.Tracer) and jnp.issubdtype(i.dtype, jnp.integer) \
                and getattr(i, "size", 0):
            lo, hi = int(jnp.min(i)), int(jnp.max(i))
            if lo < -n or hi >= n:
                raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for axis {dim} with size {n}")
        dim += 1


class JaxBackend(Backend):
    name = "jax"
    xp = jnp
    array_types = (jax.Array,)
    supports_jit = True

    def __init__(self, device=None):
        platform = device or jax.default_backend()
        try:
            self.jax_device = jax.devices(platform.split(":")[0])[0]
        except RuntimeError as e:
            raise RuntimeError(f"jax backend: no {platform!r} device ({e})") from e
        self.device = self.jax_device.platform

    def owns(self, a):
        return isinstance(a, jax.Array)

    def get_num_threads(self):
        raise RuntimeError("the jax backend's thread count is fixed when XLA starts; see XLA_FLAGS "
                           "(--xla_cpu_multi_thread_eigen, intra_op_parallelism_threads)")

    def set_num_threads(self, n):
        raise RuntimeError("the jax backend cannot change its thread count at runtime: XLA fixes it at start-up; "
                           "set XLA_FLAGS (--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=N) "
                           "before importing jax")

    def is_concrete(self, a):
        return not isinstance(a, jax.core.Tracer)

    jit_errors = (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError,
                  jax.errors.TracerIntegerConversionError, jax.errors.TracerArrayConversionError)

    def jit(self, fn):
        return jax.jit(fn)

    def _dt(self, dtype):
        if dtype is None:
            return None
        return _DTYPES[dtype] if isinstance(dtype, str) else jnp.dtype(dtype)

    # -- creation and conversion --
    def asarray(self, data, dtype=None):
        dt = self._dt(dtype)
        if isinstance(data, jax.Array):
            return data if dt is None or data.dtype == dt else data.astype(dt)
        return _from_host(data, dt)

    def to_numpy(self, a):
        return np.asarray(a)

    def dtype(self, name):
        return _DTYPES[name]

    def dtype_name(self, native):
        return _NAMES[jnp.dtype(native)]

    def zeros(self, shape, dtype):
        return jnp.zeros(shape, _DTYPES[dtype])

    def ones(self, shape, dtype):
        return jnp.ones(shape, _DTYPES[dtype])

    def full(self, shape, value, dtype):
        return jnp.full(shape, value, _DTYPES[dtype])

    def arange(self, start, stop, step, dtype):
        return jnp.arange(start, stop, step, dtype=_DTYPES[dtype])

    def cast(self, a, dtype_name):
        return (a if isinstance(a, jax.Array) else _from_host(a)).astype(_DTYPES[dtype_name])

    # -- state: functional updates, the caller rebinds --
    def assign(self, dst, src):
        src = src.astype(dst.dtype) if isinstance(src, jax.Array) else _from_host(src, dst.dtype)
        if src.shape != dst.shape:
            src = jnp.broadcast_to(src, dst.shape)
        return src

    def getitem(self, x, index):
        _check_bounds(x.shape, index)      # JAX clamps out-of-range indices; NumPy (and kusari) raise
        return x[index]

    def setitem(self, dst, index, src):
        src = src.astype(dst.dtype) if isinstance(src, jax.Array) else _from_host(src, dst.dtype)
        return dst.at[index].set(src)

    # -- kernels --
    def erf(self, x):
        return jax.scipy.special.erf(x)

    def pad(self, x, pairs, mode="constant", constant_values=0):
        pairs = [(int(lo), int(hi)) for lo, hi in pairs]
        if mode == "constant":
            if any(lo < 0 or hi < 0 for lo, hi in pairs):
                return lax.pad(x, jnp.asarray(constant_values, x.dtype), [(lo, hi, 0) for lo, hi in pairs])
            return jnp.pad(x, pairs, mode="constant", constant_values=constant_values)
        return jnp.pad(x, pairs, mode=mode)

    def einsum(self, subscripts, *operands):
        return jnp.einsum(subscripts, *operands)

    def take_along_axis(self, x, indices, axis):
        return jnp.take_along_axis(x, indices, axis=axis)

    def scatter_add(self, shape, axis, indices, values):
        shape = tuple(shape)
        axis = axis % len(shape)
        indices = jnp.reshape(indices, (-1,))
        values = jnp.reshape(values, shape[:axis] + (indices.shape[0],) + shape[axis + 1:])
        out = jnp.zeros(shape, values.dtype)
        return out.at[(slice(None),) * axis + (indices,)].add(values)

    def index_add(self, shape, index, values):
        return jnp.zeros(shape, values.dtype).at[index].add(values)

    # -- random --
    def rng(self, seed):
        return JaxGenerator(jax.random.PRNGKey(int(seed) % (2 ** 63)))

    def rng_state(self, gen):
        return {"jax_key": [int(v) for v in np.asarray(gen.key).reshape(-1)]}

    def set_rng_state(self, gen, state):
        if "jax_key" not in state:            # written by another backend
            gen.key = jax.random.PRNGKey(foreign_rng_seed(state))
            return
        gen.key = jnp.asarray(np.asarray(state["jax_key"], dtype=np.uint32))

    def _work(self, dtype):
        dt = _DTYPES[dtype]
        return dt, (dt if dt in (jnp.dtype("float32"), jnp.dtype("float64")) else jnp.dtype("float32"))

    def normal(self, gen, shape, dtype, mean=0.0, stddev=1.0):
        dt, work = self._work(dtype)
        out = jax.random.normal(gen.split(), tuple(shape), work)
        if stddev != 1.0:
            out = out * stddev
        if mean != 0.0:
            out = out + mean
        return out.astype(dt)

    def uniform(self, gen, shape, dtype, minval=0.0, maxval=1.0):
        dt, work = self._work(dtype)
        out = jax.random.uniform(gen.split(), tuple(shape), work)
        if (minval, maxval) != (0.0, 1.0):
            out = out * (maxval - minval) + minval
        return out.astype(dt)

    def randint(self, gen, shape, minval, maxval, dtype):
        return jax.random.randint(gen.split(), tuple(shape), minval, maxval, _DTYPES[dtype])

    def permutation(self, gen, n):
        return jax.random.permutation(gen.split(), int(n))

    # -- convolution and pooling: lax kernels (jit-compiled once per shape and settings, so eager calls are fast);
    # gradients through jax.vjp / jax.jvp of the forward --
    def conv(self, x, w, strides, padding, dilation, groups):
        return _conv(x, w, tuple(strides), _pairs(padding), tuple(dilation), groups)

    def conv_backward_input(self, gy, w, x_shape, strides, padding, dilation, groups):
        return _conv_bwd_input(gy, w, tuple(x_shape), tuple(strides), _pairs(padding), tuple(dilation), groups)

    def conv_backward_filter(self, x, gy, w_shape, strides, padding, dilation, groups):
        return _conv_bwd_filter(x, gy, tuple(w_shape), tuple(strides), _pairs(padding), tuple(dilation), groups)

    def max_pool(self, x, pool, strides, padding):
        # the "argmax" handed back is the input itself: the backward is jax's own vjp of the window max
        return _max_pool(x, tuple(pool), tuple(strides), _pairs(padding)), x

    def max_pool_backward(self, gy, argmax, x_shape, pool, strides, padding):
        return _max_pool_bwd(gy, argmax, tuple(pool), tuple(strides), _pairs(padding))

    def max_pool_grad_gather(self, ggx, argmax, pool, strides, padding):
        return _max_pool_gather(ggx, argmax, tuple(pool), tuple(strides), _pairs(padding))

    def avg_pool(self, x, pool, strides, padding):
        return _avg_pool(x, tuple(pool), tuple(strides), _pairs(padding))

    def avg_pool_backward(self, gy, x_shape, pool, strides, padding):
        return _avg_pool_bwd(gy, tuple(x_shape), tuple(pool), tuple(strides), _pairs(padding))


def _conv_raw(x, w, strides, padding, dilation, groups):
    nd = x.ndim - 2
    sp = "DHW"[3 - nd:]
    dn = ("N" + sp + "C", sp + "IO", "N" + sp + "C")
    pads = list(padding)
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        x = lax.pad(x, jnp.asarray(0, x.dtype), [(0, 0, 0)] + [(lo, hi, 0) for lo, hi in pads] + [(0, 0, 0)])
        pads = [(0, 0)] * nd
    return lax.conv_general_dilated(x, w, strides, pads, rhs_dilation=dilation, dimension_numbers=dn,
                                    feature_group_count=groups)


_STATIC_CONV = ("strides", "padding", "dilation", "groups")
_conv = jax.jit(_conv_raw, static_argnames=_STATIC_CONV)


@partial(jax.jit, static_argnames=("x_shape",) + _STATIC_CONV)
def _conv_bwd_input(gy, w, x_shape, strides, padding, dilation, groups):
    _, vjp = jax.vjp(lambda x: _conv_raw(x, w, strides, padding, dilation, groups), jnp.zeros(x_shape, gy.dtype))
    return vjp(gy)[0]


@partial(jax.jit, static_argnames=("w_shape",) + _STATIC_CONV)
def _conv_bwd_filter(x, gy, w_shape, strides, padding, dilation, groups):
    _, vjp = jax.vjp(lambda w: _conv_raw(x, w, strides, padding, dilation, groups), jnp.zeros(w_shape, gy.dtype))
    return vjp(gy)[0]


def _max_pool_raw(x, pool, strides, padding):
    # a concrete (NumPy) init value lets JAX pick its differentiable reduce_window_max primitive
    init = -np.inf if jnp.issubdtype(x.dtype, jnp.floating) else jnp.iinfo(x.dtype).min
    return lax.reduce_window(x, np.asarray(init, x.dtype), lax.max, (1, *pool, 1), (1, *strides, 1),
                             [(0, 0)] + list(padding) + [(0, 0)])


_STATIC_POOL = ("pool", "strides", "padding")
_max_pool = jax.jit(_max_pool_raw, static_argnames=_STATIC_POOL)


@partial(jax.jit, static_argnames=_STATIC_POOL)
def _max_pool_bwd(gy, x, pool, strides, padding):
    _, vjp = jax.vjp(lambda v: _max_pool_raw(v, pool, strides, padding), x)
    return vjp(gy)[0]


@partial(jax.jit, static_argnames=_STATIC_POOL)
def _max_pool_gather(ggx, x, pool, strides, padding):
    return jax.jvp(lambda v: _max_pool_raw(v, pool, strides, padding), (x,), (ggx,))[1]


def _avg_pool_raw(x, pool, strides, padding):
    window, step = (1, *pool, 1), (1, *strides, 1)
    pads = [(0, 0)] + list(padding) + [(0, 0)]
    s = lax.reduce_window(x, np.asarray(0, x.dtype), lax.add, window, step, pads)
    if not any(lo or hi for lo, hi in padding):
        return s / math.prod(pool)
    ones = jnp.ones((1, *x.shape[1:-1], 1), x.dtype)
    counts = lax.reduce_window(ones, np.asarray(0, x.dtype), lax.add, window, step, pads)
    return s / counts     # Keras "same" pooling: padded positions are not counted


_avg_pool = jax.jit(_avg_pool_raw, static_argnames=_STATIC_POOL)


@partial(jax.jit, static_argnames=("x_shape",) + _STATIC_POOL)
def _avg_pool_bwd(gy, x_shape, pool, strides, padding):
    _, vjp = jax.vjp(lambda v: _avg_pool_raw(v, pool, strides, padding), jnp.zeros(x_shape, gy.dtype))
    return vjp(gy)[0]
