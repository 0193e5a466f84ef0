"""The NumPy backend (the default): arrays are ``numpy.ndarray``; bfloat16/float8 come from ``ml_dtypes``."""
import math

import numpy as np

from kusari.backend import numpy_malloc, numpy_relu, numpy_threads
from kusari.backend.base import Backend, foreign_rng_seed

numpy_malloc.keep_freed_memory()         # freed arrays stay with the process: no page faults every step

try:
    import ml_dtypes
    _EXTRA_DTYPES = {
        "bfloat16": np.dtype(ml_dtypes.bfloat16),
        "float8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
        "float8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
    }
except ImportError:  # ml_dtypes is a core dependency, but keep numpy alone importable
    _EXTRA_DTYPES = {}

_DTYPES = {name: np.dtype(name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool")}
_DTYPES.update(_EXTRA_DTYPES)
_NAMES = {dt: name for name, dt in _DTYPES.items()}
_SQRT_PI = math.sqrt(math.pi)
_erf64 = np.frompyfunc(math.erf, 1, 1)
_EINSUM_PATHS = {}  # (subscripts, shapes...) -> contraction path for np.einsum(optimize=path)


def _erf_approx(x):
    """erf to ~1e-7 relative accuracy: Taylor series near 0, Chebyshev erfc (Numerical Recipes) beyond."""
    x64 = x.astype(np.float64)
    a = np.abs(x64)
    # series: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)), 10 terms are exact to 1e-12 for |x| < 0.5
    x2 = x64 * x64
    term, series = x64.copy(), x64.copy()
    for n in range(1, 10):
        term = term * (-x2) / n
        series += term / (2 * n + 1)
    series *= 2.0 / _SQRT_PI
    t = 1.0 / (1.0 + 0.5 * a)
    poly = (-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277)))))))))
    tail = np.sign(x64) * (1.0 - t * np.exp(poly))
    return np.where(a < 0.5, series, tail).astype(x.dtype)


def _zero_d_safe(kernel):
    """Optimizer kernels update arrays in place; a 0-d variable may hold a NumPy scalar (immutable), and ufuncs
    return scalars for 0-d inputs. Such calls run on 0-d array copies, which the optimizer stores back."""
    def run(self, param, *rest):
        if type(param) is np.ndarray and param.ndim:
            return kernel(self, param, *rest)
        return kernel(self, np.array(param), *[np.array(a) if isinstance(a, (np.ndarray, np.generic)) else a
                                               for a in rest])
    run.__name__, run.__doc__, run.raw = kernel.__name__, kernel.__doc__, getattr(kernel, "raw", kernel)
    return run


def _flat_ok(arrays):
    """True when a variable's arrays can be updated in flat chunks: C-contiguous arrays of one size, not 0-d."""
    size = arrays[0].size if type(arrays[0]) is np.ndarray and arrays[0].ndim else -1
    return size > 0 and all(type(a) is np.ndarray and a.size == size and a.flags.c_contiguous for a in arrays)


def _update_many(backend, whole, raw, passes, per_variable, scalars):
    """Run an optimizer kernel over many variables in one dispatch: the variables are cut into flat chunks of about
    equal size, one run of chunks per thread, each chunk updated by ``raw`` (the undecorated kernel) in place.
    ``per_variable`` holds each variable's array arguments (None allowed); a variable that cannot be cut (0-d, not
    C-contiguous), or all of them when the work is too small to split, go whole through ``whole``. Returns each
    variable's kernel result, the whole arrays in place of the chunks."""
    sizes = [args[0].size if _flat_ok([a for a in args if a is not None]) else 0 for args in per_variable]
    total = sum(sizes)
    parts = numpy_threads.parts_for(total * passes * numpy_threads.NS_PER_ELEMENT, max(total, 1))
    if parts == 1:
        return [whole(backend, *args, *scalars) for args in per_variable]
    share = -(-total // parts)
    tasks = [[] for _ in range(parts)]
    part, room = 0, share
    for j, size in enumerate(sizes):
        lo = 0
        while lo < size:                    # cut variable j into chunks that fill the parts in turn
            take = min(room, size - lo)
            tasks[part].append((j, slice(lo, lo + take)))
            lo += take
            room -= take
            if room == 0 and part < parts - 1:
                part, room = part + 1, share
    results = [None] * len(per_variable)

    def run(i):
        if i == 0:
            for j, size in enumerate(sizes):
                if size == 0:
                    results[j] = whole(backend, *per_variable[j], *scalars)
        for j, sl in tasks[i]:
            views = [None if a is None else a.reshape(-1)[sl] for a in per_variable[j]]
            out = raw(backend, *views, *scalars)
            if sl.start == 0:               # the kernel hands back the arrays it updated: the whole ones
                by_view = {id(v): a for v, a in zip(views, per_variable[j]) if v is not None}
                results[j] = tuple(None if r is None else by_view[id(r)] for r in out)
    numpy_threads.run(run, parts)
    return results


def _split_flat(passes):
    """Optimizer kernels are elementwise: a big variable is updated in flat chunks, one per thread (``passes``:
    the kernel's rough number of passes over memory, for the cost estimate). The array arguments (arrays or None)
    come first, then the scalars."""
    def wrap(kernel):
        def run(self, *args):
            k = next((i for i, a in enumerate(args) if not (a is None or isinstance(a, np.ndarray))), len(args))
            return _update_many(self, kernel, kernel, passes, [args[:k]], args[k:])[0]
        run.__name__, run.__doc__, run.raw = kernel.__name__, kernel.__doc__, kernel
        return run
    return wrap


def _as_matrix(x, term, first, second):
    """``x`` (subscripts ``term``) as a matrix with the letters ``first`` as rows and ``second`` as columns, by a
    reshape and maybe a transpose (no copy when x is contiguous); None when the letters are not in that layout."""
    shape = dict(zip(term, x.shape))
    rows, cols = math.prod(shape[c] for c in first), math.prod(shape[c] for c in second)
    if term == first + second:
        return x.reshape(rows, cols)
    if term == second + first:
        return x.reshape(cols, rows).T
    return None


def _two_terms(subscripts, a, b):
    """``(ta, tb, out)`` of a two-operand equation whose terms match the operands' ranks and name each letter once
    (no diagonals, no summing within one operand); None otherwise."""
    ins, out = subscripts.split("->")
    ta, tb = ins.split(",")
    if (len(set(ta)) != len(ta) or len(set(tb)) != len(tb) or len(set(out)) != len(out)
            or len(ta) != a.ndim or len(tb) != b.ndim):
        return None
    return ta, tb, out


def _einsum_as_gemm(subscripts, a, b):
    """A two-operand einsum that is one matrix product after reshapes (EinsumDense's equations and their
    gradients: ``abc,cde->abde``, ``abde,cde->abc``, ``abc,abde->cde``), done as one: NumPy's einsum would copy
    and transpose around its tensordot, and the product can then be spread over the threads. None otherwise."""
    terms = _two_terms(subscripts, a, b)
    if terms is None:
        return None
    ta, tb, out = terms
    shared = [c for c in ta if c in tb]
    if any(c in out for c in shared) or not shared:
        return None
    free_a, free_b = "".join(c for c in ta if c not in tb), "".join(c for c in tb if c not in ta)
    if out == free_b + free_a:
        a, b, ta, tb, free_a, free_b = b, a, tb, ta, free_b, free_a
        shared = [c for c in ta if c in tb]
    if out != free_a + free_b or "".join(c for c in tb if c in ta) != "".join(shared):
        return None
    shared = "".join(shared)
    ma, mb = _as_matrix(a, ta, free_a, shared), _as_matrix(b, tb, shared, free_b)
    if ma is None or mb is None:
        return None
    sizes = dict(zip(ta, a.shape))
    sizes.update(zip(tb, b.shape))
    return numpy_threads.matmul(ma, mb).reshape(tuple(sizes[c] for c in out))


def _einsum_as_batched_gemm(subscripts, a, b, matmul):
    """A two-operand einsum whose shared letters are all either kept (batch) or summed (contracted), each letter
    once per operand (attention: ``aecd,abcd->acbe``, ``acbe,aecd->abcd``): one stacked ``matmul`` of transposed
    views, then a transposed view of the result. None when the equation is not of that form."""
    terms = _two_terms(subscripts, a, b)
    if terms is None:
        return None
    ta, tb, out = terms
    batch = "".join(c for c in out if c in ta and c in tb)
    summed = "".join(c for c in ta if c in tb and c not in out)
    free_a = "".join(c for c in ta if c not in tb)
    free_b = "".join(c for c in tb if c not in ta)
    if (not batch or not summed or len(free_a) != 1 or len(free_b) != 1 or len(summed) != 1
            or set(out) != set(batch + free_a + free_b)):
        return None
    av = a.transpose([ta.index(c) for c in batch + free_a + summed])
    bv = b.transpose([tb.index(c) for c in batch + summed + free_b])
    y = matmul(av, bv)                                  # (*batch, free_a, free_b)
    have = batch + free_a + free_b
    return y.transpose([have.index(c) for c in out])


def _einsum_split(einsum, subscripts, operands):
    """A two-operand einsum split over the threads along one index, or None when none fits or it is too small.
    The index is the output's first (each operand holding it must hold it first: slices of it give slices of
    the output), else one summed over that every operand holds first (each thread sums its share; the partial
    results are added)."""
    ins, out = subscripts.split("->")
    terms = ins.split(",")
    sizes = {}
    for term, x in zip(terms, operands):
        if len(term) != x.ndim or len(set(term)) != len(term):
            return None
        sizes.update(zip(term, x.shape))
    work = 2.0 * math.prod(sizes.values()) * numpy_threads.NS_PER_FLOP

    def leads(letter):
        return all(letter not in t or t[0] == letter for t in terms)
    if out and leads(out[0]):
        letter, summed = out[0], False
    else:
        firsts = [t[0] for t in terms if t and t[0] not in out and all(t[0] in u for u in terms)]
        if not firsts or not leads(firsts[0]):
            return None
        letter, summed = firsts[0], True
    parts = numpy_threads.parts_for(work, sizes[letter])
    if parts == 1:
        return None
    slices = numpy_threads.split(sizes[letter], parts)
    res = [None] * parts

    def part(i):
        res[i] = einsum(subscripts, *[x[slices[i]] if t and t[0] == letter else x for t, x in zip(terms, operands)])
    numpy_threads.run(part, parts)
    return numpy_threads.add_up(res) if summed else np.concatenate(res, axis=0)


class NumpyBackend(Backend):
    name = "numpy"
    device = "cpu"
    xp = np
    array_types = (np.ndarray, np.generic)

    def asarray(self, data, dtype=None):
        if dtype is not None:
            dtype = _DTYPES[dtype] if isinstance(dtype, str) else dtype
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, a):
        return np.asarray(a)

    def dtype(self, name):
        return _DTYPES[name]

    def dtype_name(self, native):
        return _NAMES[native]

    def zeros(self, shape, dtype):
        return np.zeros(shape, _DTYPES[dtype])

    def ones(self, shape, dtype):
        return np.ones(shape, _DTYPES[dtype])

    def full(self, shape, value, dtype):
        return np.full(shape, value, _DTYPES[dtype])

    def arange(self, start, stop, step, dtype):
        return np.arange(start, stop, step, dtype=_DTYPES[dtype])

    def cast(self, a, dtype_name):
        return np.asarray(a).astype(_DTYPES[dtype_name], copy=False)

    # -- state --
    def assign(self, dst, src):
        if isinstance(dst, np.generic):         # a NumPy scalar (what 0-d results are): immutable, so rebound
            return np.array(src, dtype=dst.dtype)
        np.copyto(dst, src, casting="unsafe")
        return dst

    def getitem(self, x, index):
        return x[index]

    def setitem(self, dst, index, src):
        dst[index] = src
        return dst

    # -- kernels --
    def erf(self, x):
        x = np.asarray(x)
        if x.dtype == np.float64:
            return _erf64(x).astype(np.float64)
        return _erf_approx(x)

    def pad(self, x, pairs, mode="constant", constant_values=0):
        if mode == "constant":
            return np.pad(x, pairs, mode="constant", constant_values=constant_values)
        return np.pad(x, pairs, mode=mode)

    def einsum(self, subscripts, *operands):
        if len(operands) == 2 and "." not in subscripts:
            y = _einsum_as_gemm(subscripts, *operands)
            if y is None and min(o.size for o in operands) >= 1 << 12:
                y = _einsum_as_batched_gemm(subscripts, *operands, self.matmul)
            if y is None and numpy_threads.pool_size() > 1:
                y = _einsum_split(self._einsum, subscripts, operands)
            if y is not None:
                return y
        return self._einsum(subscripts, *operands)

    def _einsum(self, subscripts, *operands):
        # NumPy's plain einsum loops in C without BLAS: a 2-operand contraction of attention-sized arrays is ~10x
        # slower than the tensordot/matmul that ``optimize`` picks. Tiny operands skip the path search (its cost
        # exceeds the contraction's); the path is cached per subscripts and shapes.
        if len(operands) == 2 and operands[0].size * operands[1].size < 1 << 16:
            return np.einsum(subscripts, *operands)
        key = (subscripts,) + tuple(o.shape for o in operands)
        path = _EINSUM_PATHS.get(key)
        if path is None:
            if len(_EINSUM_PATHS) > 4096:
                _EINSUM_PATHS.clear()
            path = _EINSUM_PATHS[key] = np.einsum_path(subscripts, *operands, optimize="greedy")[0]
        return np.einsum(subscripts, *operands, optimize=path)

    def take_along_axis(self, x, indices, axis):
        return np.take_along_axis(x, indices, axis)

    def scatter_add(self, shape, axis, indices, values):
        # sort-and-reduce instead of np.add.at: one argsort, one reduceat, vectorised
        axis = axis % len(shape)
        indices = np.asarray(indices).reshape(-1)
        v = np.moveaxis(values, axis, 0).reshape((indices.size,) + tuple(np.delete(shape, axis)))
        out = np.zeros((shape[axis],) + v.shape[1:], dtype=values.dtype)
        if indices.size:
            order = np.argsort(indices, kind="stable")
            sorted_idx = indices[order]
            starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
            out[sorted_idx[starts]] = np.add.reduceat(v[order], starts, axis=0)
        return np.moveaxis(out, 0, axis)

    def index_add(self, shape, index, values):
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    # -- random --
    def rng(self, seed):
        return np.random.Generator(np.random.PCG64(seed))

    def rng_state(self, gen):
        state = gen.bit_generator.state
        return {"bit_generator": state["bit_generator"], "state": {k: int(v) for k, v in state["state"].items()},
                "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}

    def set_rng_state(self, gen, state):
        if "bit_generator" not in state:      # written by another backend
            state = type(gen.bit_generator)(foreign_rng_seed(state)).state
        gen.bit_generator.state = state

    def normal(self, gen, shape, dtype, mean=0.0, stddev=1.0):
        dt = _DTYPES[dtype]
        if dt in (np.float32, np.float64):
            out = gen.standard_normal(shape, dtype=dt)
        else:
            out = gen.standard_normal(shape, dtype=np.float32)
        if stddev != 1.0:
            out *= stddev
        if mean != 0.0:
            out += mean
        return out.astype(dt, copy=False)

    def uniform(self, gen, shape, dtype, minval=0.0, maxval=1.0):
        dt = _DTYPES[dtype]
        out = gen.random(shape, dtype=dt if dt in (np.float32, np.float64) else np.float32)
        if (minval, maxval) != (0.0, 1.0):
            out *= (maxval - minval)
            out += minval
        return out.astype(dt, copy=False)

    def randint(self, gen, shape, minval, maxval, dtype):
        return gen.integers(minval, maxval, size=shape, dtype=_DTYPES[dtype])

    def permutation(self, gen, n):
        return gen.permutation(n)

    # -- convolution and pooling --
    def conv(self, x, w, strides, padding, dilation, groups):
        from kusari.backend import numpy_conv
        return numpy_conv.conv_forward(x, w, strides, padding, dilation, groups)

    def conv_backward_input(self, gy, w, x_shape, strides, padding, dilation, groups):
        from kusari.backend import numpy_conv
        return numpy_conv.conv_backward_input(gy, w, x_shape, strides, padding, dilation, groups)

    def conv_backward_filter(self, x, gy, w_shape, strides, padding, dilation, groups):
        from kusari.backend import numpy_conv
        return numpy_conv.conv_backward_filter(x, gy, w_shape, strides, padding, dilation, groups)

    def get_num_threads(self):
        return numpy_threads.count()

    def set_num_threads(self, n):
        numpy_threads.set_count(n)

    def layer_norm_forward(self, x, gamma, beta, epsilon):
        # each thread normalises its rows in place of a few fresh arrays (x_hat, y)
        m, c = x.shape
        y, x_hat = np.empty_like(x), np.empty_like(x)
        inv_std = np.empty((m, 1), x.dtype)

        def part(sl):
            xh, r = x_hat[sl], inv_std[sl]
            np.subtract(x[sl], x[sl].mean(axis=-1, keepdims=True), out=xh)
            np.multiply(xh, xh, out=y[sl])
            np.mean(y[sl], axis=-1, keepdims=True, out=r)
            r += epsilon
            np.sqrt(r, out=r)
            np.divide(1.0, r, out=r)
            xh *= r
            out = y[sl]
            if gamma is None:
                out[...] = xh
            else:
                np.multiply(xh, gamma, out=out)
            if beta is not None:
                out += beta
        numpy_threads.for_slices(part, m, x.size * 8 * numpy_threads.NS_PER_ELEMENT)
        return y, x_hat, inv_std

    def layer_norm_backward(self, gy, x_hat, inv_std, gamma, need_x, need_gamma, need_beta):
        m, c = gy.shape
        gx = np.empty_like(gy) if need_x else None
        ggamma, gbeta = {}, {}          # per-thread partial sums, by the first row of the thread's share

        def part(sl):
            g, xh = gy[sl], x_hat[sl]
            if need_gamma:
                ggamma[sl.start] = np.einsum("ij,ij->j", g, xh)
            if need_beta:
                gbeta[sl.start] = g.sum(axis=0)
            if need_x:
                out = gx[sl]
                gg = g if gamma is None else np.multiply(g, gamma, out=out)
                a = gg.mean(axis=-1, keepdims=True)
                b = np.einsum("ij,ij->i", gg, xh)[:, None] / c
                np.subtract(gg, a, out=out)
                out -= xh * b
                out *= inv_std[sl]
        numpy_threads.for_slices(part, m, gy.size * 8 * numpy_threads.NS_PER_ELEMENT)
        return (gx, numpy_threads.add_up([ggamma[k] for k in sorted(ggamma)]) if need_gamma else None,
                numpy_threads.add_up([gbeta[k] for k in sorted(gbeta)]) if need_beta else None)

    def matmul_many(self, pairs):
        if all(a.ndim == 2 and b.ndim == 2 for a, b in pairs):
            return numpy_threads.matmul_many(pairs)
        return [self.matmul(a, b) for a, b in pairs]

    def matmul(self, a, b):
        if a.ndim == 2 and b.ndim == 2:
            return numpy_threads.matmul(a, b)
        if a.ndim > 2 and (b.ndim == 2 or b.shape[:-2] == a.shape[:-2]) and numpy_threads.splits_products():
            # stacked products: each thread takes a share of the leading axis
            out = np.empty(a.shape[:-1] + b.shape[-1:], np.result_type(a, b))
            numpy_threads.for_slices(lambda sl: np.matmul(a[sl], b if b.ndim == 2 else b[sl], out=out[sl]),
                                     a.shape[0], 2.0 * math.prod(a.shape) * b.shape[-1] * numpy_threads.NS_PER_FLOP)
            return out
        return a @ b

    def conv_keep(self, x, w, bias, strides, padding, dilation, groups, relu=False):
        from kusari.backend import numpy_conv
        if groups != 1:
            return super().conv_keep(x, w, bias, strides, padding, dilation, groups, relu)
        return numpy_conv.conv_bias_forward(x, w, bias, strides, padding, dilation, relu)

    def linear(self, x, kernel, bias, relu):
        # each thread: its rows' product, then bias and relu while those rows are in cache
        if not numpy_threads.splits_products() or x.dtype != kernel.dtype:
            return super().linear(x, kernel, bias, relu)
        y = np.empty((x.shape[0], kernel.shape[1]), kernel.dtype)

        def part(sl):
            rows = np.matmul(x[sl], kernel, out=y[sl])
            if bias is not None:
                rows += bias
            if relu:
                numpy_relu.relu_into(rows, rows)
        m, k = x.shape
        numpy_threads.for_slices(part, m, m * kernel.shape[1] * (2 * k * numpy_threads.NS_PER_FLOP
                                                                  + 2 * numpy_threads.NS_PER_ELEMENT))
        return y

    def conv_backward_filter_kept(self, kept, x, gy, w_shape, bias_grad, strides, padding, dilation, groups):
        from kusari.backend import numpy_conv
        if groups != 1:
            return super().conv_backward_filter_kept(kept, x, gy, w_shape, bias_grad, strides, padding, dilation,
                                                     groups)
        return numpy_conv.conv_bias_backward_filter(kept, x, gy, w_shape, bias_grad, strides, padding, dilation)

    def max_pool(self, x, pool, strides, padding):
        from kusari.backend import numpy_conv
        return numpy_conv.max_pool_forward(x, pool, strides, padding)

    def max_pool_backward(self, gy, argmax, x_shape, pool, strides, padding):
        from kusari.backend import numpy_conv
        return numpy_conv.max_pool_backward(gy, argmax, x_shape, pool, strides, padding)

    def max_pool_grad_gather(self, ggx, argmax, pool, strides, padding):
        from kusari.backend import numpy_conv
        return numpy_conv.max_pool_grad_gather(ggx, argmax, pool, strides, padding)

    def avg_pool(self, x, pool, strides, padding):
        from kusari.backend import numpy_conv
        return numpy_conv.avg_pool_forward(x, pool, strides, padding)

    def avg_pool_backward(self, gy, x_shape, pool, strides, padding):
        from kusari.backend import numpy_conv
        return numpy_conv.avg_pool_backward(gy, x_shape, pool, strides, padding)

    # -- optimizer kernels --------------------------------------------------------------------------
    # In-place versions of the Keras update rules (see Backend): the same operations in the same order as the
    # optimizers' generic assign-based path, so both give the same bits; only scratch arrays are allocated.
    # Python-float scalars stay weak (NEP 50), so float32 parameters are updated in float32.
    @_zero_d_safe
    @_split_flat(5)
    def sgd_update(self, param, grad, momentum_buf, lr, momentum, nesterov):
        step = np.multiply(grad, lr, out=np.empty_like(grad))
        if momentum_buf is None:
            np.subtract(param, step, out=param)
            return param, None
        m = momentum_buf
        np.multiply(m, momentum, out=m)
        np.subtract(m, step, out=m)
        if nesterov:
            t = np.multiply(m, momentum, out=np.empty_like(m))
            np.subtract(t, step, out=t)
            np.add(param, t, out=param)
        else:
            np.add(param, m, out=param)
        return param, m

    def relu_grad(self, g, y):
        if (g.size < numpy_relu.CHUNK or g.shape != y.shape or g.dtype.kind != "f"
                or not (g.flags.c_contiguous and y.flags.c_contiguous)):
            return g * (y > 0)
        out = np.empty_like(g)
        numpy_threads.for_slices(lambda sl: numpy_relu.relu_grad_into(g[sl], y[sl], out[sl]), len(out),
                                 out.size * 2 * numpy_threads.NS_PER_ELEMENT)
        return out

    def sgd_update_many(self, params, grads, momentum_bufs, lr, momentum, nesterov):
        bufs = [None] * len(params) if momentum_bufs is None else momentum_bufs
        kernel = NumpyBackend.sgd_update
        out = _update_many(self, kernel, kernel.raw, 5, list(zip(params, grads, bufs)), (lr, momentum, nesterov))
        return [o[0] for o in out], None if momentum_bufs is None else [o[1] for o in out]

    def adam_update_many(self, params, grads, ms, vs, v_hats, alpha, beta_1, beta_2, epsilon):
        hats = [None] * len(params) if v_hats is None else v_hats
        kernel = NumpyBackend.adam_update
        out = _update_many(self, kernel, kernel.raw, 12, list(zip(params, grads, ms, vs, hats)),
                           (alpha, beta_1, beta_2, epsilon))
        return ([o[0] for o in out], [o[1] for o in out], [o[2] for o in out],
                None if v_hats is None else [o[3] for o in out])

    def relu(self, x):
        if x.dtype.kind != "f" or not x.flags.c_contiguous:
            return np.maximum(x, 0)
        return self._relu(x, np.empty_like(x))

    def relu_(self, a):
        if not a.flags.c_contiguous:
            return np.maximum(a, 0, out=a)
        return self._relu(a, a)

    def _relu(self, x, out):
        xf, of = x.reshape(-1), out.reshape(-1)
        numpy_threads.for_slices(lambda sl: numpy_relu.relu_into(xf[sl], of[sl]), xf.size,
                                 xf.size * numpy_threads.NS_PER_ELEMENT)
        return out

    # -- fused LSTM (see Backend.lstm_sequence_forward) ---------------------------------------------------------
    # Works transposed, (4u, batch) per step, so that every gate is a contiguous block and all elementwise work is
    # in-place ufuncs on contiguous arrays; the largest scratch buffer (the gate gradients) is kept between calls
    # (it never leaves these functions), which avoids fresh pages every step.
    def _scratch(self, shape, dtype):
        pool = self.__dict__.setdefault("_lstm_scratch", {})
        buf = pool.pop((shape, dtype.str), None)
        return np.empty(shape, dtype=dtype) if buf is None else buf

    def _give_back(self, buf):
        pool = self.__dict__.setdefault("_lstm_scratch", {})
        while len(pool) >= 4:          # bounded: varying sequence lengths must not pile up buffers
            pool.pop(next(iter(pool)), None)
        pool[(buf.shape, buf.dtype.str)] = buf

    def lstm_sequence_forward(self, x, h0, c0, kernel, r, bias, go_backwards):
        # batch items are independent: each thread runs the whole time loop for its share of them
        bsz, n, nf = x.shape
        g4 = r.shape[1]
        work = n * bsz * g4 * (2 * (r.shape[0] + nf) * numpy_threads.NS_PER_FLOP + 8 * numpy_threads.NS_PER_ELEMENT)
        parts = numpy_threads.parts_for(work, bsz)
        if parts == 1:
            return self._lstm_forward(x, h0, c0, kernel, r, bias, go_backwards)
        slices = numpy_threads.split(bsz, parts)
        res = [None] * parts

        def part(i):
            sl = slices[i]
            res[i] = self._lstm_forward(x[sl], h0[sl], c0[sl], kernel, r, bias, go_backwards)
        numpy_threads.run(part, parts)
        hs = np.concatenate([o[0] for o in res], axis=0)
        h = np.concatenate([o[1] for o in res], axis=0)
        c = np.concatenate([o[2] for o in res], axis=0)
        return hs, h, c, (slices, [o[3] for o in res])

    def lstm_sequence_backward(self, saved, x, h0, c0, kernel, r, bias, ghs, gh, gc, need, go_backwards):
        if isinstance(saved[0], list):              # the forward ran split over the batch: so does the backward
            slices, parts_saved = saved
            res = [None] * len(slices)

            def part(i):
                sl = slices[i]
                res[i] = self._lstm_backward(parts_saved[i], x[sl], h0[sl], c0[sl], kernel, r, bias, ghs[sl],
                                             gh[sl], gc[sl], need, go_backwards)
            numpy_threads.run(part, len(slices))
            cat = [None if res[0][j] is None else np.concatenate([o[j] for o in res], axis=0) for j in range(3)]
            summed = [None if res[0][j] is None else numpy_threads.add_up([o[j] for o in res]) for j in range(3, 6)]
            return tuple(cat + summed)
        return self._lstm_backward(saved, x, h0, c0, kernel, r, bias, ghs, gh, gc, need, go_backwards)

    @staticmethod
    def _lstm_gate_order(u):
        """Rows of the 4u gate axis (Keras order i, f, c, o) in the order these kernels keep them: o, i, f, c.
        The sigmoid gates (o, i, f) are then one block forward and the gates scaled by the cell gradient (i, f, c)
        one block backward."""
        return np.r_[3 * u:4 * u, 0:3 * u]

    def _lstm_forward(self, x, h0, c0, kernel, r, bias, go_backwards):
        bsz, n, nf = x.shape
        g4 = r.shape[1]
        u = g4 // 4
        u3 = 3 * u
        dt = r.dtype
        order = self._lstm_gate_order(u)
        # One product per step gives every gate's pre-activation: w = [r^T | kernel^T | bias] (gates reordered)
        # times hx[k] = [h_{k-1}; x_k; 1] (h_{-1} = h0), transposed, in processing order. The backward then gets
        # the recurrent, kernel and bias gradients together as sum_k dz_k hx[k]^T, one product per step.
        # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5 for gates o, i, f and tanh for c: halving those rows of w first is
        # exact (a power of two), so one tanh over all 4u rows then ``* 0.5 + 0.5`` on the sigmoid block gives
        # every gate, as LSTMCellStep computes them.
        width = u + nf + (bias is not None)
        w = np.empty((g4, width), dtype=dt)
        w[:, :u] = r.T[order]
        w[:, u:u + nf] = kernel.T[order]
        if bias is not None:
            w[:, -1] = bias[order]
        w[:u3] *= 0.5
        hx = np.empty((n + 1, width, bsz), dtype=dt)
        xt = x.transpose(1, 2, 0)                                          # (time, features, batch)
        hx[:n, u:u + nf] = xt[::-1] if go_backwards else xt
        hx[:n, u + nf:] = 1                                                # (hx[n] holds only the last h)
        hx[0, :u] = h0.T
        acts = np.empty((n, g4, bsz), dtype=dt)
        cs = np.empty((n, u, bsz), dtype=dt)
        tcs = np.empty((n, u, bsz), dtype=dt)
        tmp = np.empty((u, bsz), dtype=dt)
        c = c0.T
        for k in range(n):
            a = acts[k]
            np.matmul(w, hx[k], out=a)
            np.tanh(a, out=a)
            s = a[:u3]
            s *= 0.5
            s += 0.5
            c_new = cs[k]
            np.multiply(a[2 * u:u3], c, out=c_new)          # f c
            np.multiply(a[u:2 * u], a[u3:], out=tmp)        # i g
            c_new += tmp
            tc = tcs[k]
            np.tanh(c_new, out=tc)
            np.multiply(a[:u], tc, out=hx[k + 1, :u])       # h = o tanh(c)
            c = c_new
        return (hx[1:, :u].transpose(2, 0, 1), np.ascontiguousarray(hx[n, :u].T), np.ascontiguousarray(cs[-1].T),
                (hx, acts, cs, tcs))

    def _lstm_backward(self, saved, x, h0, c0, kernel, r, bias, ghs, gh, gc, need, go_backwards):
        hx, acts, cs, tcs = saved                   # gates in _lstm_gate_order
        n, g4, bsz = acts.shape
        u = g4 // 4
        u2, u3 = 2 * u, 3 * u
        nf = kernel.shape[0]
        dt = acts.dtype
        order = self._lstm_gate_order(u)
        # dz is a product of forward values and this step's gct (gates i, f, c) or dh (gate o): the forward factors
        # are computed for every step at once here, so each step of the loop below is six calls, not two dozen
        dzs = self._scratch((n, g4, bsz), dt)
        o, i, f, g = acts[:, :u], acts[:, u:u2], acts[:, u2:u3], acts[:, u3:]
        po, pi, pf, pg = dzs[:, :u], dzs[:, u:u2], dzs[:, u2:u3], dzs[:, u3:]
        np.subtract(1, i, out=pi)                 # i (1 - i) g
        pi *= i
        pi *= g
        np.subtract(1, f, out=pf)                 # f (1 - f) c_prev
        pf *= f
        pf[1:] *= cs[:-1]
        pf[0] *= c0.T
        np.multiply(g, g, out=pg)                 # (1 - g^2) i
        np.subtract(1, pg, out=pg)
        pg *= i
        np.subtract(1, o, out=po)                 # o (1 - o) tanh(c)
        po *= o
        po *= tcs
        q = np.multiply(tcs, tcs)                 # (1 - tanh(c)^2) o: gct = dc + dh q
        np.subtract(1, q, out=q)
        q *= o
        ght = ghs.transpose(1, 2, 0) if ghs.any() else None                   # (time, u, batch)
        rt = np.ascontiguousarray(r[:, order])
        gct = np.empty((u, bsz), dtype=dt)
        dh = np.array(gh.T, dtype=dt, order="C")
        dc = np.array(gc.T, dtype=dt, order="C")
        for k in range(n - 1, -1, -1):
            if ght is not None:
                dh += ght[k]
            np.multiply(q[k], dh, out=gct)
            gct += dc
            dz = dzs[k]
            ifc = dz[u:].reshape(3, u, bsz)
            ifc *= gct
            dz[:u] *= dh
            if k or need[1]:
                np.matmul(rt, dz, out=dh)
            np.multiply(gct, f[k], out=dc)
        gx = gk = gr = gb = None
        if need[0]:
            gxt = np.matmul(kernel[:, order], dzs)                          # (time, features, batch)
            gx = np.ascontiguousarray((gxt[::-1] if go_backwards else gxt).transpose(2, 0, 1))
        need_b = bias is not None and need[5]
        if need[3] or need[4] or need_b:
            # [gr; gk; gb]^T = sum_k dz_k hx[k]^T, hx[k] = [h_{k-1}; x_k; 1]: one product per step, over the rows
            # of hx the wanted gradients need
            lo = 0 if need[4] else u if need[3] else u + nf
            hi = u + nf + 1 if need_b else u + nf if need[3] else u
            acc = dzs[0] @ hx[0, lo:hi].T
            tmp = np.empty_like(acc)
            for k in range(1, n):
                np.matmul(dzs[k], hx[k, lo:hi].T, out=tmp)
                acc += tmp
            back = np.empty_like(acc)
            back[order] = acc                                               # gate rows back in Keras order
            if need[4]:
                gr = np.ascontiguousarray(back[:, :u].T)
            if need[3]:
                gk = np.ascontiguousarray(back[:, u - lo:u + nf - lo].T)
            if need_b:
                gb = np.ascontiguousarray(back[:, -1])
        self._give_back(dzs)
        return (gx, np.ascontiguousarray(dh.T) if need[1] else None, np.ascontiguousarray(dc.T) if need[2] else None,
                gk, gr, gb)

    @_zero_d_safe
    @_split_flat(12)
    def adam_update(self, param, grad, m, v, v_hat, alpha, beta_1, beta_2, epsilon):
        t = np.subtract(grad, m, out=np.empty_like(grad))
        np.multiply(t, 1 - beta_1, out=t)
        np.add(m, t, out=m)
        np.square(grad, out=t)
        np.subtract(t, v, out=t)
        np.multiply(t, 1 - beta_2, out=t)
        np.add(v, t, out=v)
        vv = v
        if v_hat is not None:
            np.maximum(v_hat, v, out=v_hat)
            vv = v_hat
        np.sqrt(vv, out=t)
        np.add(t, epsilon, out=t)
        u = np.multiply(m, alpha, out=np.empty_like(m))
        np.divide(u, t, out=u)
        np.subtract(param, u, out=param)
        return param, m, v, v_hat

    @_zero_d_safe
    @_split_flat(12)
    def rmsprop_update(self, param, grad, velocity, momentum_buf, average_grad, lr, rho, momentum, epsilon):
        t = np.square(grad, out=np.empty_like(grad))
        np.multiply(t, 1 - rho, out=t)
        np.multiply(velocity, rho, out=velocity)
        np.add(velocity, t, out=velocity)
        if average_grad is not None:
            np.multiply(grad, 1 - rho, out=t)
            np.multiply(average_grad, rho, out=average_grad)
            np.add(average_grad, t, out=average_grad)
            np.square(average_grad, out=t)
            np.subtract(velocity, t, out=t)
            np.add(t, epsilon, out=t)
        else:
            np.add(velocity, epsilon, out=t)
        np.sqrt(t, out=t)
        inc = np.multiply(grad, lr, out=np.empty_like(grad))
        np.divide(inc, t, out=inc)
        if momentum_buf is not None:
            np.multiply(momentum_buf, momentum, out=momentum_buf)
            np.add(momentum_buf, inc, out=momentum_buf)
            np.subtract(param, momentum_buf, out=param)
        else:
            np.subtract(param, inc, out=param)
        return param, velocity, momentum_buf, average_grad

    @_zero_d_safe
    @_split_flat(7)
    def adagrad_update(self, param, grad, accumulator, lr, epsilon):
        t = np.square(grad, out=np.empty_like(grad))
        np.add(accumulator, t, out=accumulator)
        np.add(accumulator, epsilon, out=t)
        np.sqrt(t, out=t)
        inc = np.multiply(grad, lr, out=np.empty_like(grad))
        np.divide(inc, t, out=inc)
        np.subtract(param, inc, out=param)
        return param, accumulator

    @_zero_d_safe
    @_split_flat(16)
    def adadelta_update(self, param, grad, accumulated_grad, accumulated_delta, lr, rho, epsilon):
        t = np.square(grad, out=np.empty_like(grad))
        np.multiply(t, 1 - rho, out=t)
        np.multiply(accumulated_grad, rho, out=accumulated_grad)
        np.add(accumulated_grad, t, out=accumulated_grad)
        delta = np.add(accumulated_delta, epsilon, out=np.empty_like(accumulated_delta))
        np.sqrt(delta, out=delta)
        np.multiply(delta, grad, out=delta)
        np.add(accumulated_grad, epsilon, out=t)
        np.sqrt(t, out=t)
        np.divide(delta, t, out=delta)
        np.negative(delta, out=delta)
        np.square(delta, out=t)
        np.multiply(t, 1 - rho, out=t)
        np.multiply(accumulated_delta, rho, out=accumulated_delta)
        np.add(accumulated_delta, t, out=accumulated_delta)
        np.multiply(delta, lr, out=delta)
        np.add(param, delta, out=param)
        return param, accumulated_grad, accumulated_delta

    @_zero_d_safe
    @_split_flat(10)
    def adamax_update(self, param, grad, m, u, lr, beta_1, beta_2, epsilon, beta_1_power):
        t = np.subtract(grad, m, out=np.empty_like(grad))
        np.multiply(t, 1 - beta_1, out=t)
        np.add(m, t, out=m)
        np.abs(grad, out=t)
        np.multiply(u, beta_2, out=u)
        np.maximum(u, t, out=u)
        np.add(u, epsilon, out=t)
        np.multiply(t, 1 - beta_1_power, out=t)
        inc = np.multiply(m, lr, out=np.empty_like(m))
        np.divide(inc, t, out=inc)
        np.subtract(param, inc, out=param)
        return param, m, u

    @_zero_d_safe
    @_split_flat(18)
    def nadam_update(self, param, grad, m, v, lr, beta_1, beta_2, epsilon, u_t, u_t_1, u_product_t,
                     u_product_t_1, beta_2_power):
        t = np.subtract(grad, m, out=np.empty_like(grad))
        np.multiply(t, 1 - beta_1, out=t)
        np.add(m, t, out=m)
        np.square(grad, out=t)
        np.subtract(t, v, out=t)
        np.multiply(t, 1 - beta_2, out=t)
        np.add(v, t, out=v)
        m_hat = np.multiply(m, u_t_1, out=np.empty_like(m))
        np.divide(m_hat, 1 - u_product_t_1, out=m_hat)
        np.multiply(grad, 1 - u_t, out=t)
        np.divide(t, 1 - u_product_t, out=t)
        np.add(m_hat, t, out=m_hat)
        np.divide(v, 1 - beta_2_power, out=t)
        np.sqrt(t, out=t)
        np.add(t, epsilon, out=t)
        np.multiply(m_hat, lr, out=m_hat)
        np.divide(m_hat, t, out=m_hat)
        np.subtract(param, m_hat, out=param)
        return param, m, v

    @_zero_d_safe
    @_split_flat(10)
    def lion_update(self, param, grad, m, lr, beta_1, beta_2):
        t = np.multiply(m, beta_1, out=np.empty_like(m))
        g = np.multiply(grad, 1.0 - beta_1, out=np.empty_like(grad))
        np.add(t, g, out=t)
        np.sign(t, out=t)
        np.multiply(t, lr, out=t)
        np.subtract(param, t, out=param)
        np.multiply(m, beta_2, out=m)
        np.multiply(grad, 1.0 - beta_2, out=g)
        np.add(m, g, out=m)
        return param, m
