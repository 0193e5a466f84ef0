"""conv, conv_transpose, depthwise_conv, separable_conv: forward and gradients vs torch (channels-first inside the
torch functions), gradcheck and double-grad in float64, errors."""
import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests

torch = pytest.importorskip("torch")
F = torch.nn.functional

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def same_pads(sp, k, s, d):
    """TensorFlow's "same": total pad max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0), the odd one at the end."""
    pads = []
    for n, kk, ss, dd in zip(sp, k, s, d):
        total = max((-(-n // ss) - 1) * ss + (kk - 1) * dd + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def cf(t):
    """channels-last torch tensor -> channels-first."""
    return t.movedim(-1, 1)


def cl(t):
    return t.movedim(1, -1)


def tkernel(w):
    """Keras (*k, A, B) -> torch (B, A, *k)."""
    nd = w.ndim - 2
    return w.permute(nd + 1, nd, *range(nd))


def torch_conv(x, w, strides=1, padding="valid", dilation=1, groups=1):
    """Channels-last torch tensors in and out."""
    nd = x.ndim - 2
    s, d = tup(strides, nd), tup(dilation, nd)
    xc = cf(x)
    if padding == "same":
        pads = same_pads(x.shape[1:-1], w.shape[:nd], s, d)
        xc = F.pad(xc, [p for lo_hi in reversed(pads) for p in lo_hi])
    return cl(CONV[nd](xc, tkernel(w), stride=s, dilation=d, groups=groups))


def torch_depthwise(x, w, strides=1, padding="valid", dilation=1):
    nd = x.ndim - 2
    c, m = w.shape[-2:]
    w2 = w.reshape(*w.shape[:nd], 1, c * m)
    return torch_conv(x, w2, strides, padding, dilation, groups=c)


def to_np(torch_fn):
    """A NumPy reference (float64) from a torch function."""
    def ref(*arrays):
        return torch_fn(*[torch.from_numpy(np.asarray(a, np.float64)) for a in arrays]).numpy()
    return ref


def conv_row(name, x_shape, w_shape, tfn=None, **kw):
    tfn = tfn or (lambda x, w: torch_conv(x, w, kw.get("strides", 1), kw.get("padding", "valid"),
                                          kw.get("dilation_rate", 1), x.shape[-1] // w.shape[-2]))
    return OpSpec(name, lambda x, w: ops.conv(x, w, **kw), to_np(tfn), shapes=[x_shape, w_shape], torch_fn=tfn)


def keras_transpose_out(n, k, s, padding, op, d):
    """Keras' conv-transpose output length (_get_output_shape_given_tf_padding)."""
    ke = (k - 1) * d + 1
    if padding == "valid":
        return (n - 1) * s + ke + (max(ke, s) - ke if op is None else op)
    return n * s if op is None else (n - 1) * s + ke % 2 + op


def torch_conv_transpose(x, w, strides, padding, output_padding=None, dilation=1):
    """TensorFlow's definition: the input-gradient of a conv (same strides/padding) whose input has the
    transposed conv's output shape. Built with create_graph so that it is differentiable in x and w."""
    nd = x.ndim - 2
    s, d, op = tup(strides, nd), tup(dilation, nd), tup(output_padding, nd)
    out = tuple(keras_transpose_out(n, k, ss, padding, o, dd)
                for n, k, ss, o, dd in zip(x.shape[1:-1], w.shape[:nd], s, op, d))
    z = torch.zeros((x.shape[0],) + out + (w.shape[-2],), dtype=x.dtype, requires_grad=True)
    y = torch_conv(z, w, s, padding, d)
    assert y.shape == x.shape, (y.shape, x.shape)
    (g,) = torch.autograd.grad(y, [z], grad_outputs=x, create_graph=True)
    return g


def convt_row(name, x_shape, w_shape, strides, padding, output_padding=None, dilation=1):
    tfn = lambda x, w: torch_conv_transpose(x, w, strides, padding, output_padding, dilation)
    fn = lambda x, w: ops.conv_transpose(x, w, strides, padding, output_padding, dilation_rate=dilation)
    return OpSpec(name, fn, to_np(lambda x, w: tfn(x, w).detach()), shapes=[x_shape, w_shape], torch_fn=tfn)


def convt_native_row(name, x_shape, w_shape, strides, padding, t_padding, t_output_padding):
    """Cases where torch's native symmetric padding/output_padding agree with Keras (no warning in its torch
    backend)."""
    def tfn(x, w):
        nd = x.ndim - 2
        return cl(CONVT[nd](cf(x), w.permute(nd + 1, nd, *range(nd)), stride=strides, padding=t_padding,
                            output_padding=t_output_padding))
    fn = lambda x, w: ops.conv_transpose(x, w, strides, padding)
    return OpSpec(name, fn, to_np(tfn), shapes=[x_shape, w_shape], torch_fn=tfn)


def dw_row(name, x_shape, w_shape, **kw):
    tfn = lambda x, w: torch_depthwise(x, w, kw.get("strides", 1), kw.get("padding", "valid"),
                                       kw.get("dilation_rate", 1))
    return OpSpec(name, lambda x, w: ops.depthwise_conv(x, w, **kw), to_np(tfn), shapes=[x_shape, w_shape],
                  torch_fn=tfn)


def sep_torch(x, dw, pw, strides=1, padding="valid"):
    return torch_conv(torch_depthwise(x, dw, strides, padding), pw)


def cf_torch(x, w):
    """channels_first data: x (N, C, H, W) torch-native; kernel still Keras layout."""
    return F.conv2d(x, tkernel(w), stride=2, padding=0)


SPECS = [
    conv_row("conv2d_valid", (1, 5, 5, 2), (3, 3, 2, 3)),
    conv_row("conv2d_same", (1, 5, 5, 2), (3, 3, 2, 3), padding="same"),
    conv_row("conv2d_same_stride2", (1, 6, 5, 2), (3, 3, 2, 3), strides=2, padding="same"),
    conv_row("conv2d_stride_tuple_valid", (1, 6, 7, 2), (3, 2, 2, 2), strides=(2, 3)),
    conv_row("conv2d_dilation_same", (1, 6, 6, 2), (2, 3, 2, 2), padding="same", dilation_rate=2),
    conv_row("conv2d_groups", (1, 5, 5, 4), (3, 3, 2, 4), strides=(1, 2), padding="same"),
    conv_row("conv1d_same_stride2", (2, 7, 2), (3, 2, 3), strides=2, padding="same"),
    conv_row("conv1d_dilation", (1, 9, 2), (3, 2, 2), dilation_rate=3),
    conv_row("conv3d_same", (1, 4, 4, 3, 2), (2, 2, 2, 2, 2), padding="same"),
    conv_row("conv3d_stride2", (1, 5, 4, 4, 2), (3, 2, 2, 2, 2), strides=2),
    OpSpec("conv2d_channels_first", lambda x, w: ops.conv(x, w, 2, data_format="channels_first"),
           to_np(cf_torch), shapes=[(1, 2, 5, 5), (3, 3, 2, 3)], torch_fn=cf_torch),
    convt_row("conv_transpose2d_same", (1, 3, 3, 2), (3, 3, 3, 2), 2, "same"),
    convt_row("conv_transpose2d_valid", (1, 3, 2, 2), (3, 3, 2, 2), 2, "valid"),
    convt_row("conv_transpose2d_valid_outpad", (1, 2, 3, 2), (3, 2, 2, 2), 2, "valid", 1),
    convt_row("conv_transpose2d_same_outpad0", (1, 3, 3, 2), (3, 3, 2, 2), (2, 3), "same", 0),
    convt_row("conv_transpose2d_dilation", (1, 3, 3, 2), (2, 2, 2, 2), 1, "same", None, 2),
    convt_row("conv_transpose1d_k2_s3", (2, 3, 2), (2, 3, 2), 3, "valid"),
    convt_row("conv_transpose3d_same", (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), 2, "same"),
    convt_native_row("conv_transpose2d_k4_s2_torch", (1, 3, 3, 2), (4, 4, 3, 2), 2, "same", 1, 0),
    convt_native_row("conv_transpose1d_k3_s1_torch", (2, 5, 2), (3, 3, 2), 1, "same", 1, 0),
    dw_row("depthwise2d_same", (1, 5, 5, 3), (3, 3, 3, 1), padding="same"),
    dw_row("depthwise2d_mult2_stride2", (1, 6, 5, 2), (3, 3, 2, 2), strides=2, padding="same"),
    dw_row("depthwise2d_dilation", (1, 7, 7, 2), (3, 3, 2, 1), dilation_rate=2),
    dw_row("depthwise1d", (2, 8, 3), (3, 3, 2), strides=2),
    OpSpec("separable2d", lambda x, d, p: ops.separable_conv(x, d, p, padding="same"), to_np(
        lambda x, d, p: sep_torch(x, d, p, 1, "same")), shapes=[(1, 5, 5, 2), (3, 3, 2, 2), (1, 1, 4, 3)],
        torch_fn=lambda x, d, p: sep_torch(x, d, p, 1, "same")),
    OpSpec("separable1d_stride2", lambda x, d, p: ops.separable_conv(x, d, p, strides=2), to_np(
        lambda x, d, p: sep_torch(x, d, p, 2)), shapes=[(2, 7, 2), (3, 2, 1), (1, 2, 3)],
        torch_fn=lambda x, d, p: sep_torch(x, d, p, 2)),
]
globals().update(make_op_tests(SPECS))


# -- plain tests ------------------------------------------------------------------------------------------------

def rand(*shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_float32_preserved_and_ints_become_floatx():
    x, w = kusari.tensor(rand(2, 5, 5, 3)), kusari.tensor(rand(3, 3, 3, 4))
    assert ops.conv(x, w).dtype == "float32"
    assert ops.depthwise_conv(x, kusari.tensor(rand(3, 3, 3, 2))).dtype == "float32"
    assert ops.conv_transpose(x, kusari.tensor(rand(3, 3, 2, 3)), 2).dtype == "float32"
    xi = kusari.tensor(np.ones((1, 4, 4, 1), np.int32))
    assert ops.conv(xi, kusari.tensor(np.ones((2, 2, 1, 1), np.int32))).dtype == "float32"


def test_conv_transpose_output_shapes_follow_keras():
    x = kusari.tensor(rand(1, 5, 4, 3))
    assert ops.conv_transpose(x, kusari.tensor(rand(3, 3, 2, 3)), 2, "same").shape == (1, 10, 8, 2)
    assert ops.conv_transpose(x, kusari.tensor(rand(3, 3, 2, 3)), 2, "valid").shape == (1, 11, 9, 2)
    assert ops.conv_transpose(x, kusari.tensor(rand(2, 2, 2, 3)), 3, "valid").shape == (1, 15, 12, 2)
    assert ops.conv_transpose(x, kusari.tensor(rand(3, 3, 2, 3)), 2, "same", 0).shape == (1, 9, 7, 2)


def test_channels_first_default_from_config():
    x, w = rand(1, 2, 6, 6), rand(3, 3, 2, 4)
    kusari.config.set_image_data_format("channels_first")
    try:
        y = ops.conv(x, w, padding="same").numpy()
        p = ops.max_pool(x, 2).numpy()
    finally:
        kusari.config.set_image_data_format("channels_last")
    want = ops.conv(np.moveaxis(x, 1, -1), w, padding="same").numpy()
    np.testing.assert_allclose(y, np.moveaxis(want, -1, 1), rtol=1e-5, atol=1e-5)
    assert p.shape == (1, 2, 3, 3)


def test_wgan_gp_double_backward_vs_torch():
    """Gradient penalty of a conv -> tanh -> conv critic: d/dw of ||d critic / d x||^2 matches torch."""
    x, w1, w2 = rand(2, 6, 6, 2, dtype="float64"), rand(3, 3, 2, 4, dtype="float64", seed=1), \
        rand(3, 3, 4, 1, dtype="float64", seed=2)
    xk = kusari.tensor(x, requires_grad=True)
    wk = [kusari.tensor(w1, requires_grad=True), kusari.tensor(w2, requires_grad=True)]
    out = ops.conv(ops.tanh(ops.conv(xk, wk[0], 2, "same")), wk[1], padding="same")
    (g,) = kusari.grad(ops.sum(out), [xk], create_graph=True)
    penalty = ops.sum((g * g))
    penalty.backward()

    xt = torch.tensor(x, requires_grad=True)
    wt = [torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)]
    out_t = torch_conv(torch.tanh(torch_conv(xt, wt[0], 2, "same")), wt[1], 1, "same")
    (gt,) = torch.autograd.grad(out_t.sum(), [xt], create_graph=True)
    (gt * gt).sum().backward()
    np.testing.assert_allclose(penalty.item(), (gt * gt).sum().item(), rtol=1e-10)
    for a, b in zip(wk, wt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_third_order_conv():
    """The triad closes: third derivatives of sum(conv(x, w)^2) w.r.t. w exist and match torch."""
    x, w = rand(1, 4, 4, 2, dtype="float64"), rand(2, 2, 2, 2, dtype="float64", seed=3)
    wk = kusari.tensor(w, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    y = ops.conv(kusari.tensor(x), wk, 2)
    yt = torch_conv(torch.tensor(x), wt, 2)
    (g,) = kusari.grad(ops.sum(y * y * y), [wk], create_graph=True)
    (gg,) = kusari.grad(ops.sum(g * g), [wk], create_graph=True)
    ops.sum(gg * gg).backward()
    (g_t,) = torch.autograd.grad((yt ** 3).sum(), [wt], create_graph=True)
    (gg_t,) = torch.autograd.grad((g_t * g_t).sum(), [wt], create_graph=True)
    (gg_t * gg_t).sum().backward()
    np.testing.assert_allclose(wk.grad.numpy(), wt.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("call, match", [
    (lambda: ops.conv(np.ones((1, 5, 5)), np.ones((3, 3, 5, 2))), r"\(1, 5, 5\).*\(3, 3, 5, 2\)"),
    (lambda: ops.conv(np.ones((5, 5)), np.ones((3, 5, 2))), r"rank 3, 4 or 5.*\(5, 5\)"),
    (lambda: ops.conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 4))), "3 channels.*expects 2"),
    (lambda: ops.conv(np.ones((1, 5, 5, 4)), np.ones((3, 3, 2, 3))), "groups.*3 output channels"),
    (lambda: ops.conv(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding="full"), "padding must be"),
    (lambda: ops.conv(np.ones((1, 2, 5, 1)), np.ones((3, 3, 1, 1))), "larger than the input"),
    (lambda: ops.conv(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=(1, 1, 1)), "strides"),
    (lambda: ops.conv(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=0), "positive"),
    (lambda: ops.conv(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), data_format="NHWC"), "data_format"),
    (lambda: ops.conv_transpose(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 4)), 2), "3 channels.*expects 4"),
    (lambda: ops.conv_transpose(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 3)), 2, output_padding=2),
     "output_padding"),
    (lambda: ops.conv_transpose(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 3)), 2, "causal"), "padding must be"),
    (lambda: ops.depthwise_conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 1))), "3 channels.*expects 2"),
    (lambda: ops.separable_conv(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 2)), np.ones((1, 1, 3, 4))),
     "gives 4 channels.*expects 3"),
    (lambda: ops.separable_conv(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 1)), np.ones((1, 2, 2))),
     "pointwise_kernel of rank 4"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_int_arguments_and_tuple_args():
    x, w = kusari.tensor(rand(1, 7, 7, 2)), kusari.tensor(rand(3, 3, 2, 2))
    a = ops.conv(x, w, strides=np.int64(2), padding="SAME", dilation_rate=[1, np.int32(1)])
    b = ops.conv(x, w, strides=(2, 2), padding="same")
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(TypeError, match="strides must be an int or a tuple"):
        ops.conv(x, w, strides=1.5)


def test_graph_names():
    x = kusari.tensor(rand(1, 4, 4, 2), requires_grad=True)
    assert ops.conv(x, rand(3, 3, 2, 2)).grad_fn.name == "Conv"
    assert ops.conv_transpose(x, rand(3, 3, 2, 2), 2).grad_fn.name == "ConvTranspose"
