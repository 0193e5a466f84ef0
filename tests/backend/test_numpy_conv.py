"""numpy_conv kernels against torch.nn.functional (channels-first, transposed)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kusari.backend import numpy_conv as nc

RNG = np.random.default_rng(0)
TOL = {np.float64: dict(rtol=1e-9, atol=1e-9), np.float32: dict(rtol=2e-4, atol=2e-4)}


def rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def tch(a):
    """(N, *sp, C) numpy -> (N, C, *sp) float64 torch tensor with grad."""
    t = torch.from_numpy(np.moveaxis(a.astype(np.float64), -1, 1).copy())
    return t.requires_grad_()


def tker(w):
    """(*k, A, B) numpy kernel -> (B, A, *k) float64 torch tensor with grad."""
    w = np.moveaxis(np.moveaxis(w.astype(np.float64), -1, 0), -1, 1)
    return torch.from_numpy(w.copy()).requires_grad_()


def unt(t):
    return np.moveaxis(t.detach().numpy(), 1, -1)


def tpad(t, pads, value=0.0):
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    return F.pad(t, flat, value=value) if any(flat) else t


def close(a, b, dtype):
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, **TOL[dtype])


# ---------------------------------------------------------------- conv

CONV = F.conv1d, F.conv2d, F.conv3d
CONVT = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d

conv_cases = [
    # nd, spatial, C_in, C_out, k, stride, padding, dilation, groups
    (1, (11,), 3, 4, 3, 1, "valid", 1, 1),
    (1, (10,), 4, 6, 4, 2, "same", 1, 2),
    (1, (13,), 3, 5, 3, 3, "same", 2, 1),
    (2, (7, 8), 3, 4, 3, 1, "same", 1, 1),
    (2, (9, 7), 3, 5, 3, 2, "valid", 1, 1),     # stride does not divide
    (2, (8, 8), 2, 4, (2, 3), 2, "same", 1, 1),  # asymmetric same pads
    (2, (9, 10), 4, 6, 3, 1, "valid", 2, 2),
    (2, (10, 9), 4, 6, 3, 2, "same", 2, 2),
    (2, (9, 9), 6, 6, 3, 1, "same", 1, 6),      # depthwise
    (2, (8, 9), 4, 8, 3, 2, "same", 1, 4),      # depthwise, multiplier 2
    (3, (5, 6, 7), 2, 3, 3, 1, "same", 1, 1),
    (3, (7, 6, 5), 4, 4, 2, 2, "valid", 1, 2),
    (3, (7, 7, 6), 2, 2, 3, 2, "same", 2, 1),
]


def torch_conv(x, w, nd, strides, pads, dilation, groups, gy):
    xt = tch(x)
    wt = tker(w)
    y = CONV[nd - 1](tpad(xt, pads), wt, stride=strides, dilation=dilation, groups=groups)
    y.backward(tch(gy).detach())
    gw = np.moveaxis(np.moveaxis(wt.grad.numpy(), 1, -1), 0, -1)
    return unt(y), unt(xt.grad), gw


@pytest.fixture(params=[None, "im2col", "shift", "depthwise", "bwd-col2im", "bwd-dilate"])
def conv_path(request, monkeypatch):
    """Run conv tests with the automatic choice and with each algorithm forced (forward: CONV_PATH; input
    gradient: BACKWARD_INPUT_PATH)."""
    if request.param and request.param.startswith("bwd-"):
        monkeypatch.setattr(nc, "BACKWARD_INPUT_PATH", request.param[4:])
    else:
        monkeypatch.setattr(nc, "CONV_PATH", request.param)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", conv_cases, ids=str)
def test_conv_forward_backward(case, dtype, conv_path):
    nd, sp, cin, cout, k, s, padding, d, g = case
    k = nc._tup(k, nd)
    x = rand(2, *sp, cin, dtype=dtype)
    w = rand(*k, cin // g, cout, dtype=dtype)
    pads = nc.padding_pairs(padding, sp, k, s, d)
    out = nc.conv_output_shape(sp, k, s, pads, d)
    if padding == "same":
        assert out == tuple(-(-n // s) for n in sp)
    gy = rand(2, *out, cout, dtype=dtype)
    ry, rgx, rgw = torch_conv(x, w, nd, s, pads, d, g, gy)

    y = nc.conv_forward(x, w, s, pads, d, g)
    gx = nc.conv_backward_input(gy, w, x.shape, s, pads, d, g)
    gw = nc.conv_backward_filter(x, gy, w.shape, s, pads, d, g)
    for a, b in ((y, ry), (gx, rgx), (gw, rgw)):
        assert a.dtype == dtype
        close(a, b, dtype)


def test_padding_pairs_tf_rule():
    assert nc.padding_pairs("valid", (7, 7), 3, 1, 1) == ((0, 0), (0, 0))
    assert nc.padding_pairs("same", (7,), 3, 1, 1) == ((1, 1),)
    assert nc.padding_pairs("same", (8,), 3, 2, 1) == ((0, 1),)   # TF puts the extra at the end
    assert nc.padding_pairs("same", (7,), 3, 2, 1) == ((1, 1),)
    assert nc.padding_pairs("same", (6,), 1, 2, 1) == ((0, 0),)
    assert nc.padding_pairs("same", (9,), 3, 1, 2) == ((2, 2),)
    assert nc.padding_pairs("same", (8, 5), (4, 2), (1, 3), (1, 1)) == ((1, 2), (0, 0))


def test_conv_string_padding_and_float16():
    x, w = rand(2, 9, 9, 3), rand(3, 3, 3, 4)
    pads = nc.padding_pairs("same", (9, 9), (3, 3), 2, 1)
    np.testing.assert_allclose(nc.conv_forward(x, w, 2, "same"), nc.conv_forward(x, w, 2, pads))
    y16 = nc.conv_forward(x.astype(np.float16), w.astype(np.float16), 2, pads)
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16, nc.conv_forward(x, w, 2, pads), rtol=2e-2, atol=5e-2)
    gy = rand(2, 5, 5, 4).astype(np.float16)
    assert nc.conv_backward_input(gy, w.astype(np.float16), x.shape, 2, pads).dtype == np.float16
    assert nc.conv_backward_filter(x.astype(np.float16), gy, w.shape, 2, pads).dtype == np.float16


# ---------------------------------------------------------------- conv transpose

def keras_transpose_out(n, k, s, padding, op, d):
    """Keras' _get_output_shape_given_tf_padding."""
    ke = (k - 1) * d + 1
    if padding == "valid":
        op = max(ke, s) - ke if op is None else op
        return (n - 1) * s + ke + op
    return n * s if op is None else (n - 1) * s + ke % 2 + op


convt_cases = [
    # nd, spatial, C_in, C_out, k, stride, padding, output_padding, dilation
    (1, (5,), 3, 2, 3, 2, "valid", None, 1),
    (1, (6,), 2, 3, 2, 3, "valid", None, 1),     # stride > kernel
    (1, (5,), 2, 3, 4, 2, "same", None, 1),
    (2, (4, 5), 3, 4, 3, 2, "same", None, 1),
    (2, (4, 5), 3, 4, 3, 2, "same", 1, 1),
    (2, (5, 4), 2, 3, (3, 2), 2, "valid", 1, 1),
    (2, (4, 4), 2, 3, 3, 1, "same", None, 2),
    (2, (4, 3), 2, 2, 3, 2, "valid", 0, 2),
    (3, (3, 4, 3), 2, 3, 3, 2, "same", None, 1),
    (3, (3, 3, 4), 2, 2, 2, 2, "valid", None, 1),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", convt_cases, ids=str)
def test_conv_transpose(case, dtype, conv_path):
    nd, sp, cin, cout, k, s, padding, op, d = case
    k = nc._tup(k, nd)
    x = rand(2, *sp, cin, dtype=dtype)
    w = rand(*k, cout, cin, dtype=dtype)
    y = nc.conv_transpose_forward(x, w, s, padding, op, d)
    want = tuple(keras_transpose_out(n, kk, s, padding, op, d) for n, kk in zip(sp, k))
    assert y.shape == (2,) + want + (cout,) and y.dtype == dtype

    # Keras' torch backend: full transposed conv, then crop (or zero-pad) asymmetrically.
    xt = tch(x)
    wt = tker(w)
    full = CONVT[nd - 1](xt, wt, stride=s, dilation=d)
    tp = nc.conv_transpose_padding(padding, k, s, op, d)
    crops = [((kk - 1) * d - lo, (kk - 1) * d - hi) for kk, (lo, hi) in zip(k, tp)]
    ry = tpad(full, [(-a, -b) for a, b in crops])
    gy = rand(*y.shape, dtype=dtype)
    ry.backward(tch(gy).detach())
    close(y, unt(ry), dtype)
    gx = nc.conv_transpose_backward_input(gy, w, x.shape, s, padding, op, d)
    gw = nc.conv_transpose_backward_filter(x, gy, w.shape, s, padding, op, d)
    close(gx, unt(xt.grad), dtype)
    close(gw, np.moveaxis(np.moveaxis(wt.grad.numpy(), 1, -1), 0, -1), dtype)


@pytest.mark.parametrize("k, s, padding, op, tp, top", [
    (3, 1, "same", None, 1, 0),
    (4, 2, "same", None, 1, 0),
    (3, 2, "valid", None, 0, 0),
    (3, 2, "valid", 1, 0, 1),
    (2, 3, "valid", None, 0, 1),
])
def test_conv_transpose_keras_torch_args(k, s, padding, op, tp, top):
    """Cases where Keras' torch backend passes symmetric padding + output_padding
    (those it does not warn about as inconsistent)."""
    x, w = rand(2, 5, 4, 3), rand(k, k, 4, 3)
    y = nc.conv_transpose_forward(x, w, s, padding, op)
    ry = F.conv_transpose2d(tch(x), tker(w), stride=s, padding=tp, output_padding=top)
    close(y, unt(ry), np.float64)


# ---------------------------------------------------------------- pooling

MAXP = F.max_pool1d, F.max_pool2d, F.max_pool3d
AVGP = F.avg_pool1d, F.avg_pool2d, F.avg_pool3d

pool_cases = [
    # nd, spatial, pool, stride, padding
    (1, (12,), 2, 2, "valid"),          # tiled fast path
    (1, (11,), 3, 2, "same"),
    (1, (10,), 3, 1, "valid"),
    (2, (8, 6), 2, 2, "valid"),         # tiled fast path
    (2, (9, 9), 3, 2, "valid"),         # overlapping
    (2, (9, 8), 3, 2, "same"),          # overlapping, padded
    (2, (7, 7), 2, 2, "valid"),         # stride == pool but not divisible
    (2, (7, 8), 2, 2, "same"),
    (2, (8, 8), (2, 3), (1, 2), "same"),
    (3, (4, 6, 4), 2, 2, "valid"),      # tiled fast path
    (3, (5, 6, 5), 3, 2, "same"),
]


def pool_args(case):
    nd, sp, pool, s, padding = case
    pool, s = nc._tup(pool, nd), nc._tup(s, nd)
    return nd, sp, pool, s, nc.padding_pairs(padding, sp, pool, s)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", pool_cases, ids=str)
def test_max_pool(case, dtype):
    nd, sp, pool, s, pads = pool_args(case)
    x = rand(2, *sp, 3, dtype=dtype)
    y, arg = nc.max_pool_forward(x, pool, s, pads)
    gy = rand(*y.shape, dtype=dtype)
    gx = nc.max_pool_backward(gy, arg, x.shape, pool, s, pads)
    xt = tch(x)
    ry = MAXP[nd - 1](tpad(xt, pads, -np.inf), pool, s)
    ry.backward(tch(gy).detach())
    assert y.dtype == gx.dtype == dtype
    close(y, unt(ry), dtype)
    close(gx, unt(xt.grad), dtype)


@pytest.mark.parametrize("case", pool_cases, ids=str)
def test_max_pool_ties_go_to_the_first_max(case):
    """Few distinct values, so most windows hold their max more than once: the gradient goes to the first one in
    row-major window order, as in torch."""
    nd, sp, pool, s, pads = pool_args(case)
    x = np.round(rand(2, *sp, 3) * 1.5)
    y, arg = nc.max_pool_forward(x, pool, s, pads)
    gy = rand(*y.shape)
    gx = nc.max_pool_backward(gy, arg, x.shape, pool, s, pads)
    xt = tch(x)
    MAXP[nd - 1](tpad(xt, pads, -np.inf), pool, s).backward(tch(gy).detach())
    np.testing.assert_allclose(gx, unt(xt.grad), rtol=0, atol=1e-12)     # overlapping windows add in any order


@pytest.mark.parametrize("case", pool_cases, ids=str)
def test_max_pool_grad_gather(case):
    """max_pool_backward is linear in gy, so <ggx, backward(gy)> = <gather(ggx), gy>,
    and the derivative of backward along gy is backward itself."""
    nd, sp, pool, s, pads = pool_args(case)
    x = rand(2, *sp, 3)
    y, arg = nc.max_pool_forward(x, pool, s, pads)
    gy, ggx = rand(*y.shape), rand(*x.shape)
    ggy = nc.max_pool_grad_gather(ggx, arg, pool, s, pads)
    assert ggy.shape == y.shape
    lhs = np.sum(ggx * nc.max_pool_backward(gy, arg, x.shape, pool, s, pads))
    np.testing.assert_allclose(lhs, np.sum(ggy * gy), rtol=1e-12)
    # finite difference of f(gy) = <ggx, backward(gy)> along a random direction
    v, eps = rand(*y.shape), 1e-3
    f = lambda g: np.sum(ggx * nc.max_pool_backward(g, arg, x.shape, pool, s, pads))
    np.testing.assert_allclose((f(gy + eps * v) - f(gy - eps * v)) / (2 * eps),
                               np.sum(ggy * v), rtol=1e-8)
    # gather at argmax of x itself gives back the max
    np.testing.assert_array_equal(nc.max_pool_grad_gather(x, arg, pool, s, pads), y)


def torch_avg_same(xt, nd, pool, s, pads):
    """count_include_pad=False with asymmetric pads: sum over windows / valid count."""
    ones = torch.ones_like(xt[:, :1])
    num = AVGP[nd - 1](tpad(xt, pads), pool, s)
    return num / AVGP[nd - 1](tpad(ones, pads), pool, s)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", pool_cases, ids=str)
def test_avg_pool(case, dtype):
    nd, sp, pool, s, pads = pool_args(case)
    x = rand(2, *sp, 3, dtype=dtype)
    y = nc.avg_pool_forward(x, pool, s, pads)
    gy = rand(*y.shape, dtype=dtype)
    gx = nc.avg_pool_backward(gy, x.shape, pool, s, pads)
    xt = tch(x)
    ry = torch_avg_same(xt, nd, pool, s, pads)
    ry.backward(tch(gy).detach())
    assert y.dtype == gx.dtype == dtype
    close(y, unt(ry), dtype)
    close(gx, unt(xt.grad), dtype)


def test_avg_pool_same_matches_count_include_pad_false():
    x = rand(2, 7, 9, 3)                 # symmetric same pads (1, 1) for pool 3 stride 1
    pads = nc.padding_pairs("same", (7, 9), (3, 3), (1, 1))
    assert pads == ((1, 1), (1, 1))
    ry = F.avg_pool2d(tch(x), 3, 1, padding=1, count_include_pad=False)
    close(nc.avg_pool_forward(x, 3, 1, pads), unt(ry), np.float64)
    close(nc.avg_pool_forward(x, 3, 1, "same"), unt(ry), np.float64)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_pool_dtype(dtype):
    x = rand(2, 6, 6, 3, dtype=dtype)
    for pads in ("valid", "same"):
        for pool, s in ((2, 2), (3, 2)):
            y, arg = nc.max_pool_forward(x, pool, s, pads)
            assert y.dtype == dtype
            assert nc.max_pool_backward(y, arg, x.shape, pool, s, pads).dtype == dtype
            assert nc.max_pool_grad_gather(x, arg, pool, s, pads).dtype == dtype
            a = nc.avg_pool_forward(x, pool, s, pads)
            assert a.dtype == dtype
            assert nc.avg_pool_backward(a, x.shape, pool, s, pads).dtype == dtype


@pytest.mark.parametrize("groups, cin, cout, s", [(4, 4, 8, 1), (4, 4, 4, 2), (1, 3, 4, 2), (2, 4, 6, 2)])
def test_depthwise_and_col2im_float16(groups, cin, cout, s):
    """The depthwise einsum / scatter and the col2im input gradient compute float16 in float32."""
    x, w = rand(2, 7, 6, cin), rand(3, 3, cin // groups, cout)
    pads = nc.padding_pairs("same", (7, 6), (3, 3), s)
    y = nc.conv_forward(x, w, s, pads, 1, groups)
    gy = rand(*y.shape)
    h = np.float16
    y16 = nc.conv_forward(x.astype(h), w.astype(h), s, pads, 1, groups)
    gx16 = nc.conv_backward_input(gy.astype(h), w.astype(h), x.shape, s, pads, 1, groups)
    gw16 = nc.conv_backward_filter(x.astype(h), gy.astype(h), w.shape, s, pads, 1, groups)
    assert y16.dtype == gx16.dtype == gw16.dtype == h
    np.testing.assert_allclose(y16, y, rtol=2e-2, atol=5e-2)
    np.testing.assert_allclose(gx16, nc.conv_backward_input(gy, w, x.shape, s, pads, 1, groups),
                               rtol=2e-2, atol=5e-2)
    np.testing.assert_allclose(gw16, nc.conv_backward_filter(x, gy, w.shape, s, pads, 1, groups),
                               rtol=2e-2, atol=1e-1)


@pytest.mark.parametrize("s, groups", [(1, 1), (2, 1), (2, 2)])
def test_batch_chunks_give_the_same_result(monkeypatch, s, groups):
    """The shift-add forward and the col2im input gradient work per batch chunk; one image per chunk agrees
    with the unchunked im2col / dilate paths."""
    x, w = rand(3, 7, 6, 4), rand(3, 3, 4 // groups, 2)
    pads = nc.padding_pairs("same", (7, 6), (3, 3), s)
    gy = rand(*nc.conv_forward(x, w, s, pads, 1, groups).shape)
    monkeypatch.setattr(nc, "CONV_PATH", "im2col")
    monkeypatch.setattr(nc, "BACKWARD_INPUT_PATH", "dilate")
    y0, gx0 = nc.conv_forward(x, w, s, pads, 1, groups), nc.conv_backward_input(gy, w, x.shape, s, pads, 1, groups)
    monkeypatch.setattr(nc, "CHUNK_BYTES", 1)
    monkeypatch.setattr(nc, "CONV_PATH", "shift")
    monkeypatch.setattr(nc, "BACKWARD_INPUT_PATH", "col2im")
    close(nc.conv_forward(x, w, s, pads, 1, groups), y0, np.float64)
    close(nc.conv_backward_input(gy, w, x.shape, s, pads, 1, groups), gx0, np.float64)
