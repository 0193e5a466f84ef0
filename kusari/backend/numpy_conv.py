"""Convolution and pooling kernels in pure numpy, channels-last.

Inputs are (N, *spatial, C) with 1 to 3 spatial dims. Conv kernels use the
Keras layout (*kernel_size, C_in // groups, C_out); transposed-conv kernels
(*kernel_size, C_out, C_in). Padding is always explicit: one (lo, hi) pair per
spatial dim (see `padding_pairs`). Negative pads crop.

Convs go by im2col: a strided window view of the padded input, copied once to
a (rows, kernel * C_in) matrix, then one GEMM (batched over groups). When the
output has fewer channels than the input (typical for the input gradient) a
shift-add variant is cheaper: one GEMM of x with all kernel taps, then one
shifted add per tap. Depthwise convs (one input channel per group) skip the
GEMM: an einsum contracts the window view directly (forward, filter grad),
and the input grad adds gy * w[k] into strided windows per kernel tap.
Backward passes are convolutions too, except the input gradient of a strided
conv: one GEMM gy @ w^T, then col2im (a strided add per kernel tap) instead
of convolving a zero-dilated gy. Pooling loops over pool positions only.
float16 is computed in float32 and cast back; other dtypes are kept.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from kusari.backend import numpy_relu, numpy_threads

__all__ = [
    "padding_pairs", "conv_output_shape", "conv_forward", "conv_backward_input",
    "conv_backward_filter", "conv_bias_forward", "conv_bias_backward_filter", "conv_transpose_padding", "conv_transpose_output_shape",
    "conv_transpose_forward", "conv_transpose_backward_input",
    "conv_transpose_backward_filter", "max_pool_forward", "max_pool_backward",
    "max_pool_grad_gather", "avg_pool_forward", "avg_pool_backward",
]


# ---------------------------------------------------------------- helpers

def _tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _eff(k, d):
    return (k - 1) * d + 1


def _work(dtype):
    """Dtype to compute in: float16 goes up to float32, the rest stay."""
    return np.float32 if dtype == np.float16 else dtype


def _pad(x, pads, value=0):
    """Pad (or crop, for negative pads) the spatial dims of (N, *sp, C)."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    crop = (slice(None),) + tuple(slice(max(-lo, 0), x.shape[i + 1] - max(-hi, 0))
                                  for i, (lo, hi) in enumerate(pads))
    x = x[crop]
    pos = [(0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in pads] + [(0, 0)]
    if any(p != (0, 0) for p in pos):
        x = np.pad(x, pos, constant_values=value)
    return x


def _dilate(x, strides):
    """Put stride-1 zeros between the elements of the spatial dims."""
    if all(s == 1 for s in strides):
        return x
    sp = tuple((n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides))
    out = np.zeros((x.shape[0],) + sp + (x.shape[-1],), x.dtype)
    out[(slice(None),) + tuple(slice(None, None, s) for s in strides)] = x
    return out


def _windows(xp, kernel, strides, dilation, out, writeable=False):
    """Strided view (N, *out, *kernel, C) of the windows of padded input xp."""
    n = len(kernel)
    st = xp.strides
    sp_st = st[1:-1]
    shape = (xp.shape[0],) + tuple(out) + tuple(kernel) + (xp.shape[-1],)
    strides_ = ((st[0],) + tuple(a * s for a, s in zip(sp_st, strides))
                + tuple(a * d for a, d in zip(sp_st, dilation)) + (st[-1],))
    assert len(shape) == 2 * n + 2
    return as_strided(xp, shape, strides_, writeable=writeable)


def _window_at(win, pos, nd):
    """The (N, *out, C) slice of a window view at kernel position `pos`."""
    return win[(slice(None),) * (nd + 1) + tuple(pos)]


def _positions(kernel):
    return np.ndindex(*kernel)


# ---------------------------------------------------------------- shapes

def padding_pairs(padding, in_spatial, kernel, strides, dilation=1):
    """Explicit (lo, hi) pads for Keras' "valid" / "same" (TensorFlow rule)."""
    nd = len(in_spatial)
    kernel, strides, dilation = _tup(kernel, nd), _tup(strides, nd), _tup(dilation, nd)
    padding = padding.lower()
    if padding == "valid":
        return ((0, 0),) * nd
    if padding != "same":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    pads = []
    for n, k, s, d in zip(in_spatial, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + _eff(k, d) - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def conv_output_shape(in_spatial, kernel, strides, padding_pairs, dilation=1):
    """Spatial output shape of a conv (or pool) with explicit pads."""
    nd = len(in_spatial)
    kernel, strides, dilation = _tup(kernel, nd), _tup(strides, nd), _tup(dilation, nd)
    return tuple((n + lo + hi - _eff(k, d)) // s + 1
                 for n, k, s, d, (lo, hi) in zip(in_spatial, kernel, strides, dilation,
                                                 padding_pairs))


def _norm(x_ndim, strides, padding, dilation, kernel, in_spatial):
    nd = x_ndim - 2
    strides, dilation = _tup(strides, nd), _tup(dilation, nd)
    if isinstance(padding, str):
        padding = padding_pairs(padding, in_spatial, kernel, strides, dilation)
    return strides, tuple(tuple(p) for p in padding), dilation


# ---------------------------------------------------------------- conv

def _im2col(x, kernel, strides, pads, dilation, groups):
    """Window matrix (G, N * prod(out), prod(kernel) * C_in_g) and out shape."""
    out = conv_output_shape(x.shape[1:-1], kernel, strides, pads, dilation)
    win = _windows(_pad(x, pads), kernel, strides, dilation, out)
    rows, c = x.shape[0] * math.prod(out), x.shape[-1]
    if groups == 1:
        return win.reshape(1, rows, math.prod(kernel) * c), out
    win = win.reshape(win.shape[:-1] + (groups, c // groups))
    win = np.moveaxis(win, -2, 0)                       # (G, N, *out, *k, Cg)
    return win.reshape(groups, rows, math.prod(kernel) * (c // groups)), out


# Which conv_forward algorithm to use: None picks the cheaper, or force
# "im2col" / "shift" (for tests and benchmarks).
CONV_PATH = None


def _use_shift(rows_in, rows_out, cin, cout):
    """Shift-add moves ~cout * (rows_in + rows_out) per kernel position,
    im2col ~cin * rows_out: pick shift-add when the output side is thinner."""
    if CONV_PATH is not None:
        return CONV_PATH == "shift"
    return cout * (rows_in + rows_out) < cin * rows_out


def _conv_im2col(x, w, strides, pads, dilation, groups):
    kernel, cout = w.shape[:x.ndim - 2], w.shape[-1]
    cols, out = _im2col(x, kernel, strides, pads, dilation, groups)
    G, rows, K = cols.shape
    if groups == 1:
        y = cols[0] @ w.reshape(K, cout)
    else:
        wg = w.reshape(K, groups, cout // groups).transpose(1, 0, 2)
        y = np.matmul(cols, wg).transpose(1, 0, 2)      # (rows, G, Cout_g)
    return y.reshape((x.shape[0],) + out + (cout,))


def _shift_ranges(n, o, k, s, d, lo):
    """Per kernel offset: (output slice, input slice) of the taps inside x."""
    res = []
    for kk in range(k):
        a = max(0, -(-(lo - kk * d) // s))
        b = min(o, (n - 1 + lo - kk * d) // s + 1)
        if b <= a:
            res.append(None)
            continue
        p = a * s + kk * d - lo
        res.append((slice(a, b), slice(p, p + (b - a - 1) * s + 1, s)))
    return res


# Bytes of GEMM output per batch chunk in the shift-add and col2im paths: the per-tap adds then read it from
# cache instead of streaming a (rows, taps * C) matrix from memory once per tap. Smaller chunks were faster
# single-threaded (1 MB: -35%) but many small GEMMs are slow with multi-threaded BLAS on a busy machine; 2 MB
# against 4 MB, 32 -> 64 3x3 at 13x13, batch 128, input gradient: 12.7 -> 11.7 ms on one thread, 7.0 -> 6.2 ms on
# two (the pool's threads, OpenBLAS single-threaded in each). When OpenBLAS threads each product itself
# (KUSARI_NUMPY_THREADING=blas), 4 MB stays better (10.9 ms against 11.8 ms at two threads).
CHUNK_BYTES = 1 << 21
BLAS_THREADED_CHUNK_BYTES = 1 << 22


def _batch_chunks(n, bytes_per_item):
    blas_threaded = numpy_threads.mode() == "blas" and numpy_threads.count() > 1
    step = max(1, (BLAS_THREADED_CHUNK_BYTES if blas_threaded else CHUNK_BYTES) // max(bytes_per_item, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _conv_shift(x, w, strides, pads, dilation, groups):
    """GEMM of every input pixel with every kernel tap, then a shifted add per
    tap. Padding is never materialised: taps falling outside x are clipped.
    The taps are the GEMM's columns (one wide GEMM per group and batch chunk),
    not a batch of K thin GEMMs: multi-threaded BLAS handles thin batched
    products badly."""
    nd = x.ndim - 2
    kernel, cin_g, cout = w.shape[:nd], w.shape[nd], w.shape[-1]
    G, cout_g, K = groups, cout // groups, math.prod(kernel)
    sp = x.shape[1:-1]
    out = conv_output_shape(sp, kernel, strides, pads, dilation)
    wk = w.reshape(K, cin_g, G, cout_g).transpose(2, 1, 0, 3).reshape(G, cin_g, K * cout_g)
    y = np.zeros((G, x.shape[0]) + out + (cout_g,), np.result_type(x, w))
    ranges = [_shift_ranges(n, o, k, s, d, lo) for n, o, k, s, d, (lo, _)
              in zip(sp, out, kernel, strides, dilation, pads)]
    taps = []
    for p, pos in enumerate(_positions(kernel)):
        rs = [r[i] for r, i in zip(ranges, pos)]
        if all(r is not None for r in rs):
            taps.append((p, tuple(r[0] for r in rs), tuple(r[1] for r in rs)))
    lead = (slice(None), slice(None))
    for sl in _batch_chunks(x.shape[0], math.prod(sp) * K * cout * y.itemsize):
        xc = x[sl]
        xg = xc.reshape(-1, G, cin_g).transpose(1, 0, 2)     # (G, rows_in, Cin_g)
        z = np.matmul(xg, wk).reshape((G, xc.shape[0]) + sp + (K, cout_g))
        yc = y[:, sl]
        for p, o_sl, i_sl in taps:
            yc[lead + o_sl] += z[lead + i_sl + (p,)]
    return np.moveaxis(y, 0, -2).reshape((x.shape[0],) + out + (cout,))


def _use_depthwise(cin_g, groups):
    """One input channel per group (depthwise, any multiplier): GEMMs would be (rows, k) x (k, M) slivers, so
    contract the window view directly instead."""
    if CONV_PATH is not None:
        return CONV_PATH == "depthwise" and groups > 1 and cin_g == 1
    return groups > 1 and cin_g == 1


_EIN = "abc", "ijk"


def _conv_depthwise(x, w, strides, pads, dilation, groups):
    """Depthwise conv by one einsum over the strided window view (no im2col copy):
    y[n, o, c, m] = sum_k win[n, o, k, c] * w[k, c, m]."""
    nd = x.ndim - 2
    kernel, c = w.shape[:nd], x.shape[-1]
    m = w.shape[-1] // c
    out = conv_output_shape(x.shape[1:-1], kernel, strides, pads, dilation)
    win = _windows(_pad(x, pads), kernel, strides, dilation, out)
    o, k = _EIN[0][:nd], _EIN[1][:nd]
    if m == 1:
        y = np.einsum(f"n{o}{k}c,{k}c->n{o}c", win, w.reshape(kernel + (c,)))
    else:
        y = np.einsum(f"n{o}{k}c,{k}cm->n{o}cm", win, w.reshape(kernel + (c, m)))
    return y.reshape((x.shape[0],) + out + (c * m,))


def _depthwise_backward_filter(x, gy, w_shape, strides, pads, dilation):
    nd = x.ndim - 2
    kernel, c = tuple(w_shape[:nd]), x.shape[-1]
    m = w_shape[-1] // c
    out = gy.shape[1:-1]
    win = _windows(_pad(x, pads), kernel, strides, dilation, out)
    o, k = _EIN[0][:nd], _EIN[1][:nd]
    if m == 1:
        gw = np.einsum(f"n{o}{k}c,n{o}c->{k}c", win, gy)
    else:
        gw = np.einsum(f"n{o}{k}c,n{o}cm->{k}cm", win, gy.reshape(gy.shape[:-1] + (c, m)))
    return gw.reshape(w_shape)


def _scatter_windows(x_shape, dtype, kernel, strides, pads, dilation, out, parts):
    """Sum per-kernel-position (N, *out, C) slices into the strided windows of a zero padded gradient, then
    crop the padding (col2im). Within one kernel position the windows never overlap, so ``+=`` is exact."""
    nd = len(kernel)
    gp = np.zeros((x_shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads))
                  + (x_shape[-1],), dtype)
    win = _windows(gp, kernel, strides, dilation, out, writeable=True)
    for pos, g in parts:
        _window_at(win, pos, nd)[...] += g
    return _pad(gp, [(-lo, -hi) for lo, hi in pads])


def _depthwise_backward_input(gy, w, x_shape, strides, pads, dilation):
    """gx[window k] += gy * w[k] per kernel position: no zero-dilated gy for strides, no GEMM slivers."""
    nd = gy.ndim - 2
    kernel, c = w.shape[:nd], x_shape[-1]
    m = w.shape[-1] // c
    wk = w.reshape(kernel + (c, m))
    if m == 1:
        parts = ((pos, gy * wk[pos][:, 0]) for pos in _positions(kernel))
    else:
        g4 = gy.reshape(gy.shape[:-1] + (c, m))
        parts = ((pos, np.einsum("...cm,cm->...c", g4, wk[pos])) for pos in _positions(kernel))
    return _scatter_windows(x_shape, gy.dtype, kernel, strides, pads, dilation, gy.shape[1:-1], parts)


def _col2im_backward_input(gy, w, x_shape, strides, pads, dilation, groups):
    """Input gradient for strided convs: one GEMM gy @ w^T gives every (output pixel, kernel tap) row, then
    one strided add per kernel position (col2im), per batch chunk. The zero-dilation path would spend
    ~prod(strides) times the work multiplying zeros."""
    nd = gy.ndim - 2
    kernel, cin_g, cout = w.shape[:nd], w.shape[-2], w.shape[-1]
    K, G, c = math.prod(kernel), groups, x_shape[-1]
    out = tuple(gy.shape[1:-1])
    if G == 1:
        # tap-major (K, Cout, C): the GEMM then writes each tap's rows contiguously and the adds below stream them
        # (32 -> 64 3x3 at 13x13, batch 128: 9.9 ms -> 8.5 ms, 1 thread)
        wk = np.ascontiguousarray(w.reshape(K, cin_g, cout).transpose(0, 2, 1))
    else:
        wg = w.reshape(K * cin_g, G, cout // G).transpose(1, 2, 0)          # (G, Cout_g, K * Cin_g)
    gp = np.zeros((x_shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads))
                  + (c,), gy.dtype)
    def chunk(sl):
        g = gy[sl]
        n, rows = g.shape[0], g.shape[0] * math.prod(out)
        win = _windows(gp[sl], kernel, strides, dilation, out, writeable=True)
        if G == 1:
            cols = np.matmul(g.reshape(rows, cout), wk)                     # (K, rows, C)
            for p, pos in enumerate(_positions(kernel)):
                _window_at(win, pos, nd)[...] += cols[p].reshape((n,) + out + (c,))
            return
        gg = g.reshape(rows, G, cout // G).transpose(1, 0, 2)               # (G, rows, Cout_g)
        cols = np.matmul(gg, wg).reshape(G, rows, K, cin_g).transpose(1, 2, 0, 3)
        cols = cols.reshape((n,) + out + (K, c))
        for p, pos in enumerate(_positions(kernel)):
            _window_at(win, pos, nd)[...] += cols[..., p, :]

    def part(sl):           # one thread's batch items (they write disjoint items of gp), chunk by chunk
        for sub in _batch_chunks(sl.stop - sl.start, math.prod(out) * K * c * gy.itemsize):
            chunk(slice(sl.start + sub.start, sl.start + sub.stop))
    rows = gy.shape[0] * math.prod(out)
    numpy_threads.for_slices(part, gy.shape[0], rows * K * c * (2 * cout // G * numpy_threads.NS_PER_FLOP
                                                                + 2 * numpy_threads.NS_PER_ELEMENT))
    return _pad(gp, [(-lo, -hi) for lo, hi in pads])


# Which conv_backward_input algorithm: None picks, or force "dilate" / "col2im" (tests and benchmarks).
BACKWARD_INPUT_PATH = None


def conv_forward(x, w, strides=1, padding=None, dilation=1, groups=1):
    """N-d convolution (cross-correlation), channels-last, Keras kernel layout.

    x: (N, *sp, C_in); w: (*k, C_in // groups, C_out); padding: (lo, hi) pairs
    (or "valid"/"same"). Returns (N, *out, C_out) in x's dtype.
    """
    dtype, nd = x.dtype, x.ndim - 2
    kernel, cout = w.shape[:nd], w.shape[-1]
    strides, pads, dilation = _norm(x.ndim, strides, padding or "valid", dilation,
                                    kernel, x.shape[1:-1])
    wt = _work(dtype)
    x, w = x.astype(wt, copy=False), w.astype(wt, copy=False)
    out = conv_output_shape(x.shape[1:-1], kernel, strides, pads, dilation)
    rows_in, rows_out = math.prod(x.shape[1:-1]), math.prod(out)
    if _use_depthwise(w.shape[-2], groups):
        conv = _conv_depthwise
    elif _use_shift(rows_in, rows_out, x.shape[-1], cout):
        conv = _conv_shift
    else:
        conv = _conv_im2col
    return conv(x, w, strides, pads, dilation, groups).astype(dtype, copy=False)


def _backward_kernel(w, groups):
    """Flip spatially and swap in/out channels per group: (*k, Cout_g, C_in)."""
    nd = w.ndim - 2
    kernel, cin_g, cout = w.shape[:nd], w.shape[-2], w.shape[-1]
    wg = w.reshape(kernel + (cin_g, groups, cout // groups))
    wg = np.moveaxis(wg, nd, -1)                        # (*k, G, Cout_g, Cin_g)
    wg = np.moveaxis(wg, nd, -2)                        # (*k, Cout_g, G, Cin_g)
    wg = wg[(slice(None, None, -1),) * nd]
    # contiguous: a negative-stride kernel makes numpy's matmul skip BLAS (64 -> 64 3x3 at 5x5: 8 ms -> 1 ms)
    return np.ascontiguousarray(wg).reshape(kernel + (cout // groups, groups * cin_g))


def conv_backward_input(gy, w, x_shape, strides=1, padding=None, dilation=1, groups=1):
    """Gradient of conv_forward w.r.t. x, computed as a convolution.

    gy is dilated by the stride, padded by (k_eff - 1 - lo, k_eff - 1 - hi +
    leftover) and convolved (stride 1) with the flipped, channel-swapped
    kernel. Input rows/cols that no window reached (when the stride does not
    divide) get zero gradient.
    """
    nd = gy.ndim - 2
    kernel = w.shape[:nd]
    x_shape = tuple(x_shape)
    strides, pads, dilation = _norm(gy.ndim, strides, padding or "valid", dilation,
                                    kernel, tuple(x_shape[1:-1]))
    dtype, wt = gy.dtype, _work(gy.dtype)
    strided = any(s > 1 for s in strides)
    path = BACKWARD_INPUT_PATH
    if path is None:
        # col2im: one GEMM gy @ w^T over the output rows, then a shifted add per tap; "dilate" convolves a padded
        # gy, whose windows overlap the zero border (64 -> 64 3x3 at 5x5, batch 128: 4.1 ms -> 1.4 ms)
        path = "col2im"
    depthwise = _use_depthwise(w.shape[-2], groups)
    if path == "col2im" or (depthwise and (strided or w.shape[-1] != groups)):
        gy, w = gy.astype(wt, copy=False), w.astype(wt, copy=False)
        if depthwise:
            gx = _depthwise_backward_input(gy, w, x_shape, strides, pads, dilation)
        else:
            gx = _col2im_backward_input(gy, w, x_shape, strides, pads, dilation, groups)
        return gx.astype(dtype, copy=False)
    new_pads = []
    for n, o, k, s, d, (lo, hi) in zip(x_shape[1:-1], gy.shape[1:-1], kernel, strides,
                                       dilation, pads):
        ke = _eff(k, d)
        extra = n + lo + hi - ((o - 1) * s + ke)        # padded input past last window
        new_pads.append((ke - 1 - lo, ke - 1 - hi + extra))
    wb = _backward_kernel(w, groups).astype(gy.dtype, copy=False)
    gx = conv_forward(_dilate(gy, strides), wb, 1, new_pads, dilation, groups)
    assert gx.shape == tuple(x_shape), (gx.shape, x_shape)
    return gx


def conv_backward_filter(x, gy, w_shape, strides=1, padding=None, dilation=1, groups=1):
    """Gradient of conv_forward w.r.t. w: one GEMM (batched over groups)."""
    dtype, nd = x.dtype, x.ndim - 2
    kernel = tuple(w_shape[:nd])
    strides, pads, dilation = _norm(x.ndim, strides, padding or "valid", dilation,
                                    kernel, x.shape[1:-1])
    wt = _work(dtype)
    x, gy = x.astype(wt, copy=False), gy.astype(wt, copy=False)
    if _use_depthwise(w_shape[-2], groups):
        return _depthwise_backward_filter(x, gy, w_shape, strides, pads, dilation).astype(dtype, copy=False)
    cols, _ = _im2col(x, kernel, strides, pads, dilation, groups)
    G, rows, K = cols.shape
    cout = w_shape[-1]
    if groups == 1:
        # cols[0].T is F-contiguous: BLAS takes it as is (transposed flag); an ascontiguousarray copy of the
        # (K * C_in, rows) matrix measured 2x slower here (15488 x 288 float32: 20 ms -> 40 ms, 1 thread)
        gw = cols[0].T @ gy.reshape(rows, cout)
    else:
        g = gy.reshape(rows, G, cout // G).transpose(1, 0, 2)
        gw = np.matmul(cols.transpose(0, 2, 1), g)       # (G, K, Cout_g)
        gw = gw.transpose(1, 0, 2)                       # (K, G, Cout_g)
    return gw.reshape(w_shape).astype(dtype, copy=False)


# ---------------------------------------------------------------- conv + bias (the layers' fused node)

# Inputs with at most this many channels get a tap-major window matrix: the copy then moves whole output rows
# (1 -> 32 3x3 at 28x28, batch 128: 1.5 ms -> 0.3 ms) instead of C floats at a time.
THIN_CHANNELS = 4


def _fill_cols(cols, win, sl, rows_per_item, thin, ones):
    """Copy the windows of batch items ``sl`` into their rows of the im2col matrix ``cols`` ((K [+ 1], rows)
    tap-major when ``thin``, else (rows, K [+ 1])), with the trailing ones when ``ones``."""
    nd = (win.ndim - 2) // 2
    n, out, kernel, c = sl.stop - sl.start, win.shape[1:nd + 1], win.shape[nd + 1:2 * nd + 1], win.shape[-1]
    K = math.prod(kernel) * c
    r = slice(sl.start * rows_per_item, sl.stop * rows_per_item)
    if thin:
        order = tuple(range(nd + 1, 2 * nd + 2)) + tuple(range(nd + 1))      # (*k, C, N, *out)
        dst = cols[:K, r].reshape(tuple(kernel) + (c, n) + tuple(out))
        np.copyto(dst, win[sl].transpose(order))
        if ones:
            cols[K, r] = 1
        return
    np.copyto(cols[r, :K].reshape((n,) + tuple(out) + tuple(kernel) + (c,)), win[sl])
    if ones:
        cols[r, K] = 1


# Bytes of window matrix and output per GEMM inside a forward part: the relu then finds its rows in cache, and
# OpenBLAS streams less (32 -> 64 3x3 at 13x13, batch 128: 8.1 -> 7.2 ms on one thread, 4.3 -> 4.0 ms on two)
FORWARD_CHUNK_BYTES = 1 << 21


def conv_bias_forward(x, w, bias, strides=1, padding=None, dilation=1, relu=False):
    """``conv_forward(x, w) + bias`` (groups 1), then relu when ``relu``, and what ``conv_bias_backward_filter``
    can reuse: ``(y, kept)``.
    ``bias`` may be None. The im2col path folds the bias into the GEMM as a column of ones (no separate add pass
    forward, no reduction backward) and keeps the window matrix (kept is None on the other paths). Thin inputs
    (<= THIN_CHANNELS) get a tap-major window matrix, kept transposed (an F-ordered view: BLAS takes either).
    Batch items are split over the NumPy backend's threads, window copy and GEMM rows together."""
    dtype, nd = x.dtype, x.ndim - 2
    kernel, cout = w.shape[:nd], w.shape[-1]
    strides, pads, dilation = _norm(x.ndim, strides, padding or "valid", dilation, kernel, x.shape[1:-1])
    wt = _work(dtype)
    out = conv_output_shape(x.shape[1:-1], kernel, strides, pads, dilation)
    if dtype != wt or _use_shift(math.prod(x.shape[1:-1]), math.prod(out), x.shape[-1], cout):
        y = conv_forward(x, w, strides, pads, dilation)
        if bias is not None:
            y += bias
        if relu:
            numpy_relu.relu_into(y, y)
        return y, None
    win = _windows(_pad(x, pads), kernel, strides, dilation, out)          # (N, *out, *k, C)
    n, c, per = x.shape[0], x.shape[-1], math.prod(out)
    K = math.prod(kernel) * c
    width, thin = K + (bias is not None), c <= THIN_CHANNELS
    cols = np.empty((width, n * per) if thin else (n * per, width), dtype)
    rows = cols.T if thin else cols
    wk = w.reshape(K, cout)
    if bias is not None:
        wk = np.concatenate([wk, bias.reshape(1, cout)])
    y = np.empty((n * per, cout), dtype)
    step = max(1, FORWARD_CHUNK_BYTES // (per * (width + cout) * y.itemsize))     # batch items per GEMM

    def part(sl):
        for lo in range(sl.start, sl.stop, step):
            sub = slice(lo, min(lo + step, sl.stop))
            _fill_cols(cols, win, sub, per, thin, bias is not None)
            r = slice(sub.start * per, sub.stop * per)
            np.matmul(rows[r], wk, out=y[r])
            if relu:                # while these rows are still in cache
                numpy_relu.relu_into(y[r], y[r])
    numpy_threads.for_slices(part, n, n * per * width * (2 * cout * numpy_threads.NS_PER_FLOP
                                                          + numpy_threads.NS_PER_ELEMENT))
    return y.reshape((n,) + tuple(out) + (cout,)), rows


def conv_bias_backward_filter(kept, x, gy, w_shape, bias_grad, strides=1, padding=None, dilation=1):
    """``(gw, gb)`` of ``conv_bias_forward`` from its kept window matrix (gb is None unless ``bias_grad``)."""
    cout = w_shape[-1]
    g2 = gy.reshape(-1, cout)
    if kept is None or kept.dtype != gy.dtype:
        gw = conv_backward_filter(x, gy, w_shape, strides, padding, dilation)
        return gw, (g2.sum(axis=0) if bias_grad else None)
    K = math.prod(w_shape[:-1])
    if kept.shape[1] > K and not bias_grad:
        kept = kept[:, :K]
    if kept.T.flags.c_contiguous and cout <= THIN_GRAD_MAX_COUT:
        gwb = _thin_product(kept.T, g2)
    else:
        gwb = numpy_threads.matmul(kept.T, g2)             # (K [+ 1], C_out): the bias gradient is the last row
    return gwb[:K].reshape(w_shape), (gwb[K] if bias_grad else None)


# A thin window matrix's product with the output gradient ((K + 1, rows) @ (rows, C_out), rows in the 100 000s) runs
# in pieces of this many rows, summed: OpenBLAS otherwise packs the whole (rows, C_out) operand, out of cache
# (1 -> 32 3x3 at 26x26, batch 128: 1.56 ms -> 0.63 ms on one thread). Wider outputs gain nothing.
THIN_GRAD_ROWS = 2048
THIN_GRAD_MAX_COUT = 64


def _thin_product(a, b):
    """``a @ b`` for a short, wide ``a`` (C-ordered) and a tall ``b``: the inner axis in THIN_GRAD_ROWS pieces, each
    thread taking a run of them as one stacked product (one NumPy call, the GIL released throughout: a Python loop
    over the pieces gained nothing from a second thread, 0.77 against 0.80 ms, as both threads' calls queued for
    the GIL; stacked, 0.56 -> 0.41 ms), its pieces' products summed; then the threads' sums and the remainder
    rows added in order."""
    m, k = a.shape
    whole = k // THIN_GRAD_ROWS
    parts = numpy_threads.parts_for(2.0 * m * k * b.shape[1] * numpy_threads.NS_PER_FLOP
                                    + k * b.shape[1] * numpy_threads.NS_PER_ELEMENT, max(whole, 1))
    runs = numpy_threads.split(whole, parts)
    partial = [None] * parts

    def part(i):
        lo, hi = runs[i].start * THIN_GRAD_ROWS, runs[i].stop * THIN_GRAD_ROWS
        if hi > lo:
            n = runs[i].stop - runs[i].start
            pieces = np.matmul(a[:, lo:hi].reshape(m, n, THIN_GRAD_ROWS).transpose(1, 0, 2),
                               b[lo:hi].reshape(n, THIN_GRAD_ROWS, b.shape[1]))
            partial[i] = pieces.sum(axis=0)
    numpy_threads.run(part, parts)
    partial = [p for p in partial if p is not None]
    rest = whole * THIN_GRAD_ROWS
    if rest < k:
        partial.append(np.matmul(a[:, rest:], b[rest:]))
    return numpy_threads.add_up(partial)


# ---------------------------------------------------------------- conv transpose

def conv_transpose_padding(padding, kernel, strides, output_padding=None, dilation=1):
    """Keras' conv-transpose pads (JAX convention): (lo, hi) pads of the
    stride-dilated input before a stride-1 conv with the flipped kernel."""
    nd = len(_tup(kernel, 1))
    kernel, strides, dilation = _tup(kernel, nd), _tup(strides, nd), _tup(dilation, nd)
    op = _tup(output_padding, nd)
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    pads = []
    for k, s, d, p in zip(kernel, strides, dilation, op):
        ke = _eff(k, d)
        if padding == "valid":
            p = max(ke, s) - ke if p is None else p
            pads.append((ke - 1, ke - 1 + p))
        else:
            total = s + ke - 2 if p is None else ke + ke % 2 - 2 + p
            lo = min(total // 2 + total % 2, ke - 1)
            pads.append((lo, total - lo))
    return tuple(pads)


def conv_transpose_output_shape(in_spatial, kernel, strides, tpads, dilation=1):
    """Spatial output shape of a transposed conv given `conv_transpose_padding`."""
    nd = len(in_spatial)
    kernel, strides, dilation = _tup(kernel, nd), _tup(strides, nd), _tup(dilation, nd)
    return tuple((n - 1) * s + lo + hi + 2 - _eff(k, d)
                 for n, k, s, d, (lo, hi) in zip(in_spatial, kernel, strides, dilation, tpads))


def _transpose_args(x_ndim, in_spatial, w, strides, padding, output_padding, dilation):
    nd = x_ndim - 2
    kernel = w[:nd] if isinstance(w, tuple) else w.shape[:nd]
    strides, dilation = _tup(strides, nd), _tup(dilation, nd)
    tpads = (conv_transpose_padding(padding, kernel, strides, output_padding, dilation)
             if isinstance(padding, str) else tuple(tuple(p) for p in padding))
    fwd = tuple((_eff(k, d) - 1 - lo, _eff(k, d) - 1 - hi)
                for k, d, (lo, hi) in zip(kernel, dilation, tpads))
    out = conv_transpose_output_shape(in_spatial, kernel, strides, tpads, dilation)
    return strides, dilation, fwd, out


def conv_transpose_forward(x, w, strides=1, padding="valid", output_padding=None, dilation=1):
    """Keras Conv{1,2,3}DTranspose. x: (N, *sp, C_in); w: (*k, C_out, C_in).

    padding is "valid"/"same" (with Keras' output_padding rule) or explicit
    conv_transpose_padding pairs. It is the input-gradient of the conv
    whose kernel is w.
    """
    strides, dilation, fwd, out = _transpose_args(x.ndim, x.shape[1:-1], w, strides,
                                                  padding, output_padding, dilation)
    return conv_backward_input(x, w, (x.shape[0],) + out + (w.shape[-2],),
                               strides, fwd, dilation)


def conv_transpose_backward_input(gy, w, x_shape, strides=1, padding="valid",
                                  output_padding=None, dilation=1):
    """Gradient of conv_transpose_forward w.r.t. x: a plain conv of gy."""
    strides, dilation, fwd, _ = _transpose_args(len(x_shape), tuple(x_shape[1:-1]), w,
                                                strides, padding, output_padding, dilation)
    return conv_forward(gy, w, strides, fwd, dilation)


def conv_transpose_backward_filter(x, gy, w_shape, strides=1, padding="valid",
                                   output_padding=None, dilation=1):
    """Gradient of conv_transpose_forward w.r.t. w (layout (*k, C_out, C_in))."""
    strides, dilation, fwd, _ = _transpose_args(x.ndim, x.shape[1:-1], tuple(w_shape),
                                                strides, padding, output_padding, dilation)
    return conv_backward_filter(gy, x, tuple(w_shape), strides, fwd, dilation)


# ---------------------------------------------------------------- pooling

def _pool_args(x_ndim, in_spatial, pool, strides, padding):
    nd = x_ndim - 2
    pool = _tup(pool, nd)
    strides = pool if strides is None else _tup(strides, nd)
    if padding is None or isinstance(padding, str):
        padding = padding_pairs(padding or "valid", in_spatial, pool, strides)
    pads = tuple(tuple(p) for p in padding)
    out = conv_output_shape(in_spatial, pool, strides, pads)
    return pool, strides, pads, out


def _tiled(pool, strides, pads, in_spatial):
    """True when windows tile the input exactly (reshape fast path)."""
    return (pool == strides and all(p == (0, 0) for p in pads)
            and all(n % k == 0 for n, k in zip(in_spatial, pool)))


def _block_shape(x_shape, pool):
    shape = [x_shape[0]]
    for n, k in zip(x_shape[1:-1], pool):
        shape += [n // k, k]
    return tuple(shape) + (x_shape[-1],)


def _blocks(x, pool):
    """(N, o1, p1, o2, p2, ..., C) reshape view of x for tiled pooling."""
    return x.reshape(_block_shape(x.shape, pool))


def _disjoint(pool, strides, pads):
    """True when the windows neither overlap nor leave gaps (pool == strides, no padding): they tile the input
    but for a remainder at the high end of each spatial axis, which no window reads."""
    return pool == strides and all(p == (0, 0) for p in pads)


def _covered(x, pool, out):
    """The part of x the windows of a disjoint pool cover (a view)."""
    return x[(slice(None),) + tuple(slice(0, o * k) for o, k in zip(out, pool))]


def _block_at(b, pos):
    return b[(slice(None),) + tuple(i for p in pos for i in (slice(None), p))]


def _index_dtype(pool):
    return np.int8 if math.prod(pool) <= 127 else np.int32


def max_pool_forward(x, pool, strides=None, padding=None):
    """Max pool. Returns (y, argmax); argmax holds each window's flat
    (row-major over pool dims) index of its first max, shape of y."""
    nd = x.ndim - 2
    pool, strides, pads, out = _pool_args(x.ndim, x.shape[1:-1], pool, strides, padding)
    tiled = _disjoint(pool, strides, pads)
    src = (_blocks(_covered(x, pool, out), pool) if tiled
           else _windows(_pad(x, pads, -np.inf), pool, strides, (1,) * nd, out))
    at = _block_at if tiled else (lambda win, pos: _window_at(win, pos, nd))
    it = _index_dtype(pool)
    y = np.empty((x.shape[0],) + tuple(out) + (x.shape[-1],), x.dtype)
    arg = np.zeros(y.shape, it)

    def part(sl):
        views = [at(src[sl], pos) for pos in _positions(pool)]
        ys, args = y[sl], arg[sl]
        np.copyto(ys, views[0])
        m, t = np.empty(ys.shape, np.bool_), np.empty(ys.shape, it)
        # the mask as int8 (bool's own 0/1 bytes): an int8 * bool product casts in buffered pieces (-34% without)
        mask = m.view(np.int8) if it is np.int8 else m
        for p, v in enumerate(views[1:], 1):
            np.greater(v, ys, out=m)
            np.maximum(ys, v, out=ys)
            np.subtract(it(p), args, out=t)             # arg = where(m, p, arg),
            np.multiply(t, mask, out=t)                 # branch-free: random masks
            np.add(args, t, out=args)                   # make np.where slow
    numpy_threads.for_slices(part, x.shape[0], y.size * math.prod(pool) * 5 * numpy_threads.NS_PER_ELEMENT)
    return y, arg


def _scatter_pool(gx_shape, dtype, pool, strides, pads, out, parts):
    """Sum per-position (N, *out, C) gradients into a padded gx, then crop."""
    nd = len(pool)
    gp = np.zeros((gx_shape[0],) + tuple(n + lo + hi for n, (lo, hi)
                                         in zip(gx_shape[1:-1], pads)) + gx_shape[-1:], dtype)
    win = _windows(gp, pool, strides, (1,) * nd, out, writeable=True)
    for pos, g in parts:
        _window_at(win, pos, nd)[...] += g
    return _pad(gp, [(-lo, -hi) for lo, hi in pads])


def max_pool_backward(gy, argmax, x_shape, pool, strides=None, padding=None):
    """Gradient of max_pool_forward: gy routed to each window's argmax,
    summed where windows overlap."""
    x_shape = tuple(x_shape)
    pool, strides, pads, out = _pool_args(len(x_shape), x_shape[1:-1], pool, strides, padding)
    if _disjoint(pool, strides, pads):
        gx = np.empty(x_shape, gy.dtype)
        covered = _covered(gx, pool, out)
        b = _blocks(covered, pool)
        rest = [(slice(None),) * (i + 1) + (slice(o * k, None),)
                for i, (o, k, n) in enumerate(zip(out, pool, x_shape[1:-1])) if o * k < n]

        def part(sl):
            for p, pos in enumerate(_positions(pool)):
                np.multiply(gy[sl], argmax[sl] == p, out=_block_at(b[sl], pos))
            for r in rest:                          # the remainder no window read gets no gradient
                gx[sl][r] = 0
        numpy_threads.for_slices(part, gy.shape[0], gx.size * 2 * numpy_threads.NS_PER_ELEMENT)
        return gx
    parts = ((pos, gy * (argmax == p)) for p, pos in enumerate(_positions(pool)))
    return _scatter_pool(x_shape, gy.dtype, pool, strides, pads, out, parts)


def max_pool_grad_gather(ggx, argmax, pool, strides=None, padding=None):
    """Gradient of max_pool_backward w.r.t. gy: ggx picked at each argmax.
    ggx has the shape of max_pool_forward's input."""
    nd = ggx.ndim - 2
    pool, strides, pads, out = _pool_args(ggx.ndim, ggx.shape[1:-1], pool, strides, padding)
    win = _windows(_pad(ggx, pads), pool, strides, (1,) * nd, out)
    ggy = np.zeros(argmax.shape, ggx.dtype)
    for p, pos in enumerate(_positions(pool)):
        ggy += _window_at(win, pos, nd) * (argmax == p)
    return ggy


def _pool_counts(in_spatial, pool, strides, pads, out):
    """Number of non-padded elements per window, shaped (1, *out, 1)."""
    nd = len(pool)
    cnt = np.ones((1,) * (nd + 2))
    for i, (n, k, s, (lo, _), o) in enumerate(zip(in_spatial, pool, strides, pads, out)):
        start = np.arange(o) * s - lo
        c = np.minimum(start + k, n) - np.maximum(start, 0)
        cnt = cnt * c.reshape((1,) * (i + 1) + (o,) + (1,) * (nd - i))
    return cnt


def avg_pool_forward(x, pool, strides=None, padding=None):
    """Average pool; padded elements are not counted (TensorFlow "same")."""
    dtype, nd = x.dtype, x.ndim - 2
    pool, strides, pads, out = _pool_args(x.ndim, x.shape[1:-1], pool, strides, padding)
    wt = _work(dtype)
    if _tiled(pool, strides, pads, x.shape[1:-1]):
        y = _blocks(x, pool).mean(axis=tuple(range(2, 2 * nd + 1, 2)), dtype=wt)
        return y.astype(dtype, copy=False)
    win = _windows(_pad(x, pads), pool, strides, (1,) * nd, out)
    y = np.zeros(win.shape[:nd + 1] + win.shape[-1:], wt)
    for pos in _positions(pool):
        y += _window_at(win, pos, nd)
    y /= _pool_counts(x.shape[1:-1], pool, strides, pads, out).astype(wt)
    return y.astype(dtype, copy=False)


def avg_pool_backward(gy, x_shape, pool, strides=None, padding=None):
    """Gradient of avg_pool_forward."""
    x_shape = tuple(x_shape)
    nd, dtype = len(x_shape) - 2, gy.dtype
    pool, strides, pads, out = _pool_args(len(x_shape), x_shape[1:-1], pool, strides, padding)
    if _tiled(pool, strides, pads, x_shape[1:-1]):
        g = gy / np.asarray(math.prod(pool), dtype)
        b = np.broadcast_to(np.expand_dims(g, tuple(range(2, 2 * nd + 1, 2))),
                            _block_shape(x_shape, pool))
        return b.reshape(x_shape)
    g = gy / _pool_counts(x_shape[1:-1], pool, strides, pads, out).astype(dtype)
    return _scatter_pool(x_shape, dtype, pool, strides, pads, out,
                         ((pos, g) for pos in _positions(pool)))
