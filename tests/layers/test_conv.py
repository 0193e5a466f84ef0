"""Convolution layers: the standard layer test for every class, then PyTorch on the same weights (outputs and
input/weight gradients, float64), errors, and the MNIST CNN shapes and parameter counts."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test

# -- the standard layer test, for every class --------------------------------------------------------------------

LAYER_CASES = [
    (layers.Conv1D, {"filters": 3, "kernel_size": 2}, (2, 5, 2), (2, 4, 3)),
    (layers.Conv1D, {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 5, 2), (2, 5, 2)),
    (layers.Conv1D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                     "data_format": "channels_first"}, (2, 3, 5), (2, 2, 3)),
    (layers.Conv2D, {"filters": 3, "kernel_size": 2, "activation": "tanh"}, (2, 4, 4, 2), (2, 3, 3, 3)),
    (layers.Conv2D, {"filters": 4, "kernel_size": (2, 3), "padding": "same", "groups": 2}, (1, 3, 4, 2),
     (1, 3, 4, 4)),
    (layers.Conv2D, {"filters": 2, "kernel_size": 2, "strides": 2, "data_format": "channels_first",
                     "use_bias": False}, (1, 2, 4, 4), (1, 2, 2, 2)),
    (layers.Conv3D, {"filters": 2, "kernel_size": 2}, (1, 3, 3, 3, 1), (1, 2, 2, 2, 2)),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 3, 2), (2, 7, 2)),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 3, 3, 2),
     (1, 6, 6, 2)),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 2, "output_padding": 1, "strides": 2,
                              "data_format": "channels_first"}, (1, 2, 2, 3), (1, 2, 5, 7)),
    (layers.Conv3DTranspose, {"filters": 1, "kernel_size": 2, "strides": 2}, (1, 2, 2, 2, 1), (1, 4, 4, 4, 1)),
    (layers.DepthwiseConv1D, {"kernel_size": 2, "depth_multiplier": 2}, (2, 4, 2), (2, 3, 4)),
    (layers.DepthwiseConv2D, {"kernel_size": 2, "depth_multiplier": 2, "padding": "same"}, (1, 3, 3, 2),
     (1, 3, 3, 4)),
    (layers.DepthwiseConv2D, {"kernel_size": 2, "data_format": "channels_first"}, (1, 2, 3, 3), (1, 2, 2, 2)),
    (layers.SeparableConv1D, {"filters": 3, "kernel_size": 2}, (2, 4, 2), (2, 3, 3)),
    (layers.SeparableConv2D, {"filters": 3, "kernel_size": 2, "depth_multiplier": 2}, (1, 3, 3, 2),
     (1, 2, 2, 3)),
    (layers.SeparableConv2D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                              "data_format": "channels_first"}, (1, 2, 3, 3), (1, 2, 2, 2)),
]


@pytest.mark.parametrize("cls,kwargs,in_shape,out_shape", LAYER_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_layer_standard(cls, kwargs, in_shape, out_shape):
    n_weights = {"SeparableConv1D": 3, "SeparableConv2D": 3}.get(cls.__name__, 2)
    if kwargs.get("use_bias") is False:
        n_weights -= 1
    run_layer_test(cls, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=n_weights, expected_num_non_trainable_weights=0)


# -- PyTorch references ------------------------------------------------------------------------------------------

def _cf(a):        # channels-last -> channels-first (torch)
    return a.permute(0, a.ndim - 1, *range(1, a.ndim - 1))


def _cl(a):        # channels-first -> channels-last
    return a.permute(0, *range(2, a.ndim), 1)


def _k2t(k):       # Keras conv kernel (*k, in, out) -> torch (out, in, *k)
    n = k.ndim
    return k.permute(n - 1, n - 2, *range(n - 2))


def _same_pads(spatial, kernel, strides, dilation):
    """TensorFlow's "same": (lo, hi) per dim, extra on the end."""
    pads = []
    for n, k, s, d in zip(spatial, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _torch_pad(x_cf, pads, value=0.0):
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return F.pad(x_cf, flat, value=value)


def _compare(layer, x, torch_fn, data_format="channels_last", rtol=1e-10, atol=1e-10):
    """Layer (float64) vs ``torch_fn(x_t, *weights_t)`` on the same weights: outputs, d/dx and d/dweights of
    sum(y * g) for a random g."""
    rng = np.random.default_rng(1)
    x = np.asarray(x, np.float64)
    xk = kusari.tensor(x, requires_grad=True)
    y = layer(xk)
    weights = layer.weights
    g = rng.standard_normal(y.shape)
    loss = (y * kusari.tensor(g)).sum()
    grads = kusari.grad(loss, [xk] + list(weights))

    xt = torch.tensor(x, requires_grad=True)
    wt = [torch.tensor(w.numpy(), requires_grad=True) for w in weights]
    yt = torch_fn(xt, *wt)
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol, err_msg="outputs")
    np.testing.assert_allclose(grads[0].numpy(), xt.grad.numpy(), rtol=rtol, atol=atol, err_msg="input grad")
    for gk, t, w in zip(grads[1:], wt, weights):
        np.testing.assert_allclose(gk.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"grad of {w.path}")


def _bias_cl(y_cl, b):
    return y_cl + b


CONV_CASES = [
    # rank, kernel, strides, padding, dilation, groups, spatial, data_format
    (1, (3,), (1,), "valid", (1,), 1, (7,), "channels_last"),
    (1, (4,), (2,), "same", (1,), 1, (7,), "channels_last"),
    (1, (3,), (1,), "same", (2,), 2, (6,), "channels_first"),
    (1, (3,), (1,), "causal", (2,), 1, (6,), "channels_last"),
    (2, (3, 3), (1, 1), "valid", (1, 1), 1, (5, 6), "channels_last"),
    (2, (3, 2), (2, 2), "same", (1, 1), 1, (5, 6), "channels_last"),
    (2, (2, 2), (2, 1), "same", (1, 1), 2, (6, 5), "channels_last"),
    (2, (3, 3), (1, 1), "same", (2, 1), 1, (6, 6), "channels_first"),
    (2, (2, 3), (3, 2), "valid", (1, 1), 2, (7, 7), "channels_first"),
    (3, (2, 2, 2), (1, 1, 1), "valid", (1, 1, 1), 1, (3, 4, 3), "channels_last"),
    (3, (3, 2, 3), (2, 2, 1), "same", (1, 1, 1), 2, (4, 3, 5), "channels_first"),
]


@pytest.mark.parametrize("rank,kernel,strides,padding,dilation,groups,spatial,fmt", CONV_CASES)
def test_conv_matches_torch(rank, kernel, strides, padding, dilation, groups, spatial, fmt):
    cls = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}[rank]
    torch_conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    cin, filters = 4, 6
    layer = cls(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation, groups=groups,
                data_format=fmt, bias_initializer="random_normal", dtype="float64")
    shape = (2,) + spatial + (cin,) if fmt == "channels_last" else (2, cin) + spatial
    x = np.random.default_rng(0).standard_normal(shape)

    def ref(xt, k, b):
        xc = _cf(xt) if fmt == "channels_last" else xt
        if padding == "same":
            xc = _torch_pad(xc, _same_pads(spatial, kernel, strides, dilation))
        elif padding == "causal":
            xc = _torch_pad(xc, [((kernel[0] - 1) * dilation[0], 0)])
        y = torch_conv(xc, _k2t(k), b, stride=strides, dilation=dilation, groups=groups)
        return _cl(y) if fmt == "channels_last" else y

    _compare(layer, x, ref)
    assert layer.kernel.shape == kernel + (cin // groups, filters)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]


def _transpose_ref(xt, k, b, rank, kernel, strides, padding, output_padding, fmt, dilation):
    """Keras' conv_transpose from torch: the full transposed conv ((n - 1) * s + k_eff), then cropped (or padded
    with zeros + bias at the end) to Keras' length. Keras' length: "valid" (n - 1) * s + max(k_eff, s), "same"
    n * s; with output_padding p: "valid" (n - 1) * s + k_eff + p, "same" (n - 1) * s + k_eff % 2 + p. The crop
    at the start is TensorFlow's: the "same" pad of the forward conv from that length, lo = total // 2 (this is
    also what Keras' JAX and torch backends compute)."""
    torch_fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    xc = _cf(xt) if fmt == "channels_last" else xt
    n = rank
    w = k.permute(n + 1, n, *range(n))                       # (*k, out, in) -> (in, out, *k)
    spatial = xc.shape[2:]
    y = torch_fn(xc, w, b, stride=strides, dilation=dilation)
    opad = output_padding or (None,) * n
    for ax, (sz, kk, s, d, p) in enumerate(zip(spatial, kernel, strides, dilation, opad)):
        ke = (kk - 1) * d + 1
        if padding == "valid":
            out = (sz - 1) * s + (max(ke, s) if p is None else ke + p)
            lo = 0
        else:
            out = sz * s if p is None else (sz - 1) * s + ke % 2 + p
            lo = max((sz - 1) * s + ke - out, 0) // 2
        full = y.shape[2 + ax]
        y = y.narrow(2 + ax, lo, min(out, full - lo))
        if y.shape[2 + ax] < out:                             # zeros (+ bias) at the end
            pad_shape = list(y.shape)
            pad_shape[2 + ax] = out - y.shape[2 + ax]
            filler = torch.zeros(pad_shape, dtype=y.dtype) + b.reshape((1, -1) + (1,) * n)
            y = torch.cat([y, filler], dim=2 + ax)
    return _cl(y) if fmt == "channels_last" else y


TRANSPOSE_CASES = [
    # rank, kernel, strides, padding, output_padding, spatial, fmt, dilation
    (2, (3, 3), (1, 1), "valid", None, (4, 5), "channels_last", (1, 1)),
    (2, (3, 3), (1, 1), "same", None, (4, 5), "channels_last", (1, 1)),
    (2, (3, 3), (2, 2), "valid", None, (3, 4), "channels_last", (1, 1)),
    (2, (3, 3), (2, 2), "same", None, (3, 4), "channels_last", (1, 1)),
    (2, (4, 2), (2, 2), "same", None, (3, 3), "channels_first", (1, 1)),
    (2, (1, 2), (2, 3), "valid", None, (3, 3), "channels_last", (1, 1)),
    (2, (3, 3), (2, 2), "same", (1, 0), (3, 3), "channels_last", (1, 1)),
    (2, (3, 2), (2, 2), "valid", (1, 1), (2, 3), "channels_first", (1, 1)),
    (2, (3, 3), (1, 1), "same", None, (4, 4), "channels_last", (2, 2)),
    (2, (4, 3), (2, 2), "same", (1, 1), (3, 3), "channels_last", (1, 1)),
    (2, (2, 3), (3, 2), "same", (2, 0), (2, 3), "channels_last", (1, 1)),
    (1, (3,), (2,), "same", None, (5,), "channels_last", (1,)),
    (3, (2, 3, 2), (2, 1, 2), "valid", None, (2, 3, 2), "channels_last", (1, 1, 1)),
]


@pytest.mark.parametrize("rank,kernel,strides,padding,output_padding,spatial,fmt,dilation", TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(rank, kernel, strides, padding, output_padding, spatial, fmt, dilation):
    cls = {1: layers.Conv1DTranspose, 2: layers.Conv2DTranspose, 3: layers.Conv3DTranspose}[rank]
    cin, filters = 3, 2
    layer = cls(filters, kernel, strides=strides, padding=padding, output_padding=output_padding,
                data_format=fmt, dilation_rate=dilation, bias_initializer="random_normal", dtype="float64")
    shape = (2,) + spatial + (cin,) if fmt == "channels_last" else (2, cin) + spatial
    x = np.random.default_rng(0).standard_normal(shape)
    _compare(layer, x, lambda xt, k, b: _transpose_ref(xt, k, b, rank, kernel, strides, padding, output_padding,
                                                       fmt, dilation))
    assert layer.kernel.shape == kernel + (filters, cin)
    out = layer.compute_output_shape((None,) + shape[1:])
    assert out[1:] == tuple(layer(kusari.tensor(x)).shape[1:])


def _depthwise_torch_weight(k):
    """Keras (*k, C, M) -> torch (C * M, 1, *k), output channel c * M + m."""
    n = k.ndim - 2
    c, m = k.shape[-2], k.shape[-1]
    return k.reshape(tuple(k.shape[:-2]) + (c * m,)).permute(n, *range(n)).unsqueeze(1)


DEPTHWISE_CASES = [
    # rank, kernel, strides, padding, multiplier, dilation, spatial, fmt
    (2, (3, 3), (1, 1), "valid", 1, (1, 1), (5, 5), "channels_last"),
    (2, (3, 2), (2, 2), "same", 2, (1, 1), (5, 6), "channels_last"),
    (2, (2, 2), (1, 1), "same", 3, (2, 2), (5, 5), "channels_first"),
    (1, (3,), (2,), "same", 2, (1,), (7,), "channels_last"),
]


@pytest.mark.parametrize("rank,kernel,strides,padding,mult,dilation,spatial,fmt", DEPTHWISE_CASES)
def test_depthwise_matches_torch(rank, kernel, strides, padding, mult, dilation, spatial, fmt):
    cls = {1: layers.DepthwiseConv1D, 2: layers.DepthwiseConv2D}[rank]
    torch_conv = {1: F.conv1d, 2: F.conv2d}[rank]
    cin = 3
    layer = cls(kernel, strides=strides, padding=padding, depth_multiplier=mult, dilation_rate=dilation,
                data_format=fmt, bias_initializer="random_normal", dtype="float64")
    shape = (2,) + spatial + (cin,) if fmt == "channels_last" else (2, cin) + spatial
    x = np.random.default_rng(0).standard_normal(shape)

    def ref(xt, k, b):
        xc = _cf(xt) if fmt == "channels_last" else xt
        if padding == "same":
            xc = _torch_pad(xc, _same_pads(spatial, kernel, strides, dilation))
        y = torch_conv(xc, _depthwise_torch_weight(k), b, stride=strides, dilation=dilation, groups=cin)
        return _cl(y) if fmt == "channels_last" else y

    _compare(layer, x, ref)
    assert layer.kernel.shape == kernel + (cin, mult) and layer.depthwise_kernel is layer.kernel
    assert [w.name for w in layer.weights] == ["kernel", "bias"]


SEPARABLE_CASES = [
    (2, (3, 3), (1, 1), "valid", 1, (5, 5), "channels_last"),
    (2, (3, 2), (2, 2), "same", 2, (5, 6), "channels_first"),
    (1, (3,), (1,), "same", 2, (6,), "channels_last"),
]


@pytest.mark.parametrize("rank,kernel,strides,padding,mult,spatial,fmt", SEPARABLE_CASES)
def test_separable_matches_torch(rank, kernel, strides, padding, mult, spatial, fmt):
    cls = {1: layers.SeparableConv1D, 2: layers.SeparableConv2D}[rank]
    torch_conv = {1: F.conv1d, 2: F.conv2d}[rank]
    cin, filters = 3, 4
    layer = cls(filters, kernel, strides=strides, padding=padding, depth_multiplier=mult, data_format=fmt,
                bias_initializer="random_normal", dtype="float64")
    shape = (2,) + spatial + (cin,) if fmt == "channels_last" else (2, cin) + spatial
    x = np.random.default_rng(0).standard_normal(shape)

    def ref(xt, dk, pk, b):
        xc = _cf(xt) if fmt == "channels_last" else xt
        if padding == "same":
            xc = _torch_pad(xc, _same_pads(spatial, kernel, strides, (1,) * rank))
        h = torch_conv(xc, _depthwise_torch_weight(dk), None, stride=strides, groups=cin)
        y = torch_conv(h, _k2t(pk), b)
        return _cl(y) if fmt == "channels_last" else y

    _compare(layer, x, ref)
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("depthwise_kernel", kernel + (cin, mult)), ("pointwise_kernel", (1,) * rank + (cin * mult, filters)),
        ("bias", (filters,))]


# -- Keras defaults, config, errors --------------------------------------------------------------------------------

def test_conv2d_defaults_and_config_match_keras():
    layer = layers.Conv2D(8, 3)
    cfg = layer.get_config()
    assert cfg["kernel_size"] == (3, 3) and cfg["strides"] == (1, 1) and cfg["dilation_rate"] == (1, 1)
    assert cfg["padding"] == "valid" and cfg["data_format"] == "channels_last" and cfg["groups"] == 1
    assert cfg["activation"] == "linear" and cfg["use_bias"] is True
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["bias_initializer"]["class_name"] == "Zeros"
    assert layers.Conv2D.from_config(cfg).get_config()["filters"] == 8
    layer(np.zeros((1, 4, 4, 2), np.float32))
    assert np.all(layer.bias.numpy() == 0)
    assert layers.Convolution2D is layers.Conv2D and layers.SeparableConvolution2D is layers.SeparableConv2D


def test_conv_transpose_keeps_output_padding_in_config():
    layer = layers.Conv2DTranspose(2, 3, strides=2, output_padding=1)
    clone = layers.Conv2DTranspose.from_config(layer.get_config())
    assert clone.output_padding == (1, 1)


def test_conv_wrong_rank_names_layer_and_shape():
    layer = layers.Conv2D(2, 3, name="c2")
    with pytest.raises(ValueError, match=r"c2 \(Conv2D\).*rank 4.*\(2, 5, 3\)"):
        layer(np.zeros((2, 5, 3), np.float32))
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"c2 \(Conv2D\).*rank 4.*\(1, 5, 5, 5, 3\)"):
        layer(np.zeros((1, 5, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"c2 \(Conv2D\).*3 input channels.*\(1, 5, 5, 4\)"):
        layer(np.zeros((1, 5, 5, 4), np.float32))
    for cls in (layers.Conv1DTranspose, layers.DepthwiseConv2D, layers.SeparableConv2D):
        with pytest.raises(ValueError, match=cls.__name__ + r".*\(2, 5\)"):
            (cls(2, 3) if cls is not layers.DepthwiseConv2D else cls(3))(np.zeros((2, 5), np.float32))


def test_conv_groups_errors():
    with pytest.raises(ValueError, match=r"input channels \(3\).*groups=2.*\(1, 4, 4, 3\)"):
        layers.Conv2D(4, 2, groups=2)(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"filters must be divisible.*filters=3, groups=2"):
        layers.Conv2D(3, 2, groups=2)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="Conv2D: padding"):
        layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="Conv2D: kernel_size"):
        layers.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="Conv2D: filters"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="strides > 1 is not supported together with dilation_rate"):
        layers.Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="output_padding must be smaller than strides"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="data_format"):
        layers.Conv2D(2, 3, data_format="NHWC")
    with pytest.raises(ValueError, match="DepthwiseConv2D: depth_multiplier"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match=r"larger than the input"):
        layers.Conv2D(2, 5)(np.zeros((1, 3, 3, 1), np.float32))


def test_compute_output_shape_matches_eager():
    cases = [layers.Conv2D(3, 3, strides=2, padding="same"), layers.Conv1D(2, 3, padding="causal", dilation_rate=2),
             layers.Conv2D(3, (2, 3), data_format="channels_first"), layers.DepthwiseConv2D(3, depth_multiplier=2),
             layers.SeparableConv2D(4, 2, strides=2)]
    for layer in cases:
        x = np.zeros((2, 4, 7, 5) if layer.rank == 2 else (2, 9, 4), np.float32)
        assert layer.compute_output_shape(x.shape) == layer(x).shape
        assert layer.compute_output_shape((None,) + x.shape[1:])[1:] == layer(x).shape[1:]


def test_activity_and_kernel_regularizers_add_losses():
    layer = layers.Conv2D(2, 2, kernel_regularizer="l2", activity_regularizer="l1")
    layer(np.ones((2, 3, 3, 1), np.float32))
    assert len(layer.losses) == 2


def test_set_weights_from_keras_layout_gives_known_output():
    layer = layers.Conv2D(1, 2, use_bias=False)
    layer(np.zeros((1, 3, 3, 1), np.float32))
    layer.set_weights([np.array([1.0, 0.0, 0.0, -1.0], np.float32).reshape(2, 2, 1, 1)])
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    assert layer(x).numpy().ravel().tolist() == [-4.0] * 4


# -- the MNIST CNN --------------------------------------------------------------------------------------------------

def test_mnist_cnn_shapes_and_param_counts_match_keras():
    if not hasattr(layers, "Flatten"):
        pytest.skip("Flatten not available yet")
    model = kusari.Sequential([
        kusari.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    assert [l.output_shape for l in model.layers] == [
        (None, 26, 26, 32), (None, 13, 13, 32), (None, 11, 11, 64), (None, 5, 5, 64), (None, 3, 3, 64),
        (None, 576), (None, 64), (None, 10)]
    assert [l.count_params() for l in model.layers] == [320, 0, 18496, 0, 36928, 0, 36928, 650]
    assert model.count_params() == 93322
    y = model(np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32))
    assert y.shape == (2, 10)
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1.0, rtol=1e-5)


def test_default_names_match_keras():
    kusari.utils.clear_session()
    assert layers.Conv2D(2, 3).name == "conv2d"
    assert layers.DepthwiseConv2D(3).name == "depthwise_conv2d"


def test_symbolic_call_with_unknown_spatial_dims_and_large_kernel():
    y = layers.Conv2D(4, 5)(kusari.Input((None, None, 3)))
    assert y.shape == (None, None, None, 4)
