"""Pooling layers: the standard layer test for every class, PyTorch references (outputs and input gradients,
float64; "same" average pooling excludes the padding like Keras), config and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test

LAYER_CASES = [
    (layers.MaxPooling1D, {}, (2, 5, 3), (2, 2, 3)),
    (layers.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 2), (2, 3, 2)),
    (layers.MaxPooling2D, {}, (2, 4, 5, 2), (2, 2, 2, 2)),
    (layers.MaxPooling2D, {"pool_size": (2, 3), "padding": "same", "data_format": "channels_first"}, (1, 2, 5, 4),
     (1, 2, 3, 2)),
    (layers.MaxPooling3D, {}, (1, 2, 4, 3, 2), (1, 1, 2, 1, 2)),
    (layers.AveragePooling1D, {"padding": "same"}, (2, 5, 3), (2, 3, 3)),
    (layers.AveragePooling2D, {"pool_size": 3, "strides": 1}, (1, 4, 4, 2), (1, 2, 2, 2)),
    (layers.AveragePooling2D, {"padding": "same", "data_format": "channels_first"}, (1, 2, 3, 5), (1, 2, 2, 3)),
    (layers.AveragePooling3D, {"padding": "same"}, (1, 3, 2, 3, 1), (1, 2, 1, 2, 1)),
    (layers.GlobalAveragePooling1D, {}, (2, 4, 3), (2, 3)),
    (layers.GlobalAveragePooling1D, {"keepdims": True, "data_format": "channels_first"}, (2, 4, 3), (2, 4, 1)),
    (layers.GlobalAveragePooling2D, {}, (2, 3, 4, 2), (2, 2)),
    (layers.GlobalAveragePooling2D, {"keepdims": True}, (2, 3, 4, 2), (2, 1, 1, 2)),
    (layers.GlobalAveragePooling3D, {"data_format": "channels_first"}, (1, 2, 2, 3, 2), (1, 2)),
    (layers.GlobalMaxPooling1D, {}, (2, 4, 3), (2, 3)),
    (layers.GlobalMaxPooling2D, {"keepdims": True, "data_format": "channels_first"}, (2, 3, 4, 2),
     (2, 3, 1, 1)),
    (layers.GlobalMaxPooling3D, {}, (1, 2, 2, 3, 2), (1, 2)),
]


@pytest.mark.parametrize("cls,kwargs,in_shape,out_shape", LAYER_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_layer_standard(cls, kwargs, in_shape, out_shape):
    layer = run_layer_test(cls, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                           expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)
    assert tuple(layer.compute_output_shape(in_shape)) == out_shape
    assert tuple(layer.compute_output_shape((None,) + in_shape[1:])) == (None,) + out_shape[1:]


def _cf(a):
    return a.permute(0, a.ndim - 1, *range(1, a.ndim - 1))


def _cl(a):
    return a.permute(0, *range(2, a.ndim), 1)


def _same_pads(spatial, pool, strides):
    pads = []
    for n, k, s in zip(spatial, pool, strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _pad(x, pads, value):
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return F.pad(x, flat, value=value)


def _torch_pool(xt, mode, pool, strides, padding, fmt):
    n = len(pool)
    maxp = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    avgp = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    xc = _cf(xt) if fmt == "channels_last" else xt
    pads = _same_pads(xc.shape[2:], pool, strides) if padding == "same" else [(0, 0)] * n
    if mode == "max":
        y = maxp(_pad(xc, pads, float("-inf")), pool, strides)
    else:   # padded zeros summed, divided by the count of real elements in each window
        total = avgp(_pad(xc, pads, 0.0), pool, strides)
        count = avgp(_pad(torch.ones_like(xc), pads, 0.0), pool, strides)
        y = total / count
    return _cl(y) if fmt == "channels_last" else y


POOL_CASES = [
    # mode, pool, strides, padding, spatial, fmt
    ("max", (2,), None, "valid", (7,), "channels_last"),
    ("max", (3,), (2,), "same", (8,), "channels_first"),
    ("max", (2, 2), None, "valid", (5, 6), "channels_last"),
    ("max", (3, 3), (2, 2), "same", (5, 6), "channels_last"),
    ("max", (3, 2), (1, 2), "same", (4, 5), "channels_first"),
    ("max", (2, 2, 2), (1, 2, 1), "valid", (3, 4, 3), "channels_last"),
    ("max", (2, 3, 2), None, "same", (3, 4, 3), "channels_first"),
    ("average", (2,), None, "same", (7,), "channels_last"),
    ("average", (3,), (1,), "valid", (6,), "channels_first"),
    ("average", (2, 2), None, "valid", (5, 6), "channels_last"),
    ("average", (3, 3), (2, 2), "same", (5, 6), "channels_last"),
    ("average", (3, 3), (1, 1), "same", (4, 4), "channels_first"),
    ("average", (2, 2, 2), None, "same", (3, 3, 5), "channels_last"),
]


@pytest.mark.parametrize("mode,pool,strides,padding,spatial,fmt", POOL_CASES)
def test_pool_matches_torch(mode, pool, strides, padding, spatial, fmt):
    n = len(pool)
    cls = getattr(layers, ("MaxPooling" if mode == "max" else "AveragePooling") + f"{n}D")
    layer = cls(pool, strides=strides, padding=padding, data_format=fmt, dtype="float64")
    shape = (2,) + spatial + (3,) if fmt == "channels_last" else (2, 3) + spatial
    x = np.random.default_rng(0).standard_normal(shape)
    xk = kusari.tensor(x, requires_grad=True)
    y = layer(xk)
    g = np.random.default_rng(1).standard_normal(y.shape)
    (gx,) = kusari.grad((y * kusari.tensor(g)).sum(), [xk])

    xt = torch.tensor(x, requires_grad=True)
    yt = _torch_pool(xt, mode, pool, strides or pool, padding, fmt)
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_matches_torch(n, fmt, keepdims):
    shape = (2,) + (3, 4, 2)[:n] + (3,) if fmt == "channels_last" else (2, 3) + (3, 4, 2)[:n]
    x = np.random.default_rng(0).standard_normal(shape)
    axes = tuple(range(1, n + 1)) if fmt == "channels_last" else tuple(range(2, n + 2))
    for kind, ref in (("Average", lambda t: t.mean(dim=axes, keepdim=keepdims)),
                      ("Max", lambda t: t.amax(dim=axes, keepdim=keepdims))):
        layer = getattr(layers, f"Global{kind}Pooling{n}D")(data_format=fmt, keepdims=keepdims, dtype="float64")
        xk = kusari.tensor(x, requires_grad=True)
        y = layer(xk)
        (gx,) = kusari.grad(y.sum(), [xk])
        xt = torch.tensor(x, requires_grad=True)
        yt = ref(xt)
        yt.sum().backward()
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_global_average_pooling_1d_mask(fmt):
    x = np.random.default_rng(0).standard_normal((2, 4, 3))          # channels_last: (batch, steps, features)
    mask = np.array([[True, True, False, True], [False, True, False, False]])
    expected = np.stack([x[i][mask[i]].mean(axis=0) for i in range(2)])
    if fmt == "channels_first":
        x = x.transpose(0, 2, 1)
    layer = layers.GlobalAveragePooling1D(data_format=fmt, dtype="float64")
    y = layer(kusari.tensor(x), mask=kusari.tensor(mask))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    assert getattr(y, "_keras_mask", None) is None


def test_pooling_defaults_and_config_match_keras():
    cfg = layers.MaxPooling2D().get_config()
    assert cfg["pool_size"] == (2, 2) and cfg["strides"] == (2, 2) and cfg["padding"] == "valid"
    assert cfg["data_format"] == "channels_last"
    assert layers.MaxPooling1D().pool_size == (2,) and layers.AveragePooling3D().pool_size == (2, 2, 2)
    assert layers.AveragePooling2D(3, strides=1).get_config()["strides"] == (1, 1)
    g = layers.GlobalAveragePooling2D().get_config()
    assert g["keepdims"] is False and g["data_format"] == "channels_last"
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D and layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D


def test_pooling_errors():
    with pytest.raises(ValueError, match=r"mp \(MaxPooling2D\).*rank 4.*\(2, 5, 3\)"):
        layers.MaxPooling2D(name="mp")(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling2D.*rank 4.*\(2, 3\)"):
        layers.GlobalAveragePooling2D()(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="MaxPooling2D: padding"):
        layers.MaxPooling2D(padding="full")
    with pytest.raises(ValueError, match="AveragePooling2D: pool_size"):
        layers.AveragePooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.MaxPooling2D(4)(np.zeros((1, 3, 3, 1), np.float32))


def test_pooling_in_functional_model_with_unknown_spatial_dims():
    x = kusari.Input((None, None, 3))
    y = layers.GlobalMaxPooling2D()(layers.MaxPooling2D()(x))
    assert y.shape == (None, 3)
    model = kusari.Model(x, y)
    assert model(np.ones((2, 6, 8, 3), np.float32)).shape == (2, 3)
