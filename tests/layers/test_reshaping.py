import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test


def _grad_vs_torch(layer, x, torch_fn, atol=1e-5):
    """Output and input gradient (of sum(y * r)) of ``layer`` against ``torch_fn`` on the same input."""
    xk = kusari.tensor(x, requires_grad=True)
    y = layer(xk)
    r = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    (gk,) = kusari.grad((y * kusari.tensor(r)).sum(), [xk])
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    (yt * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), atol=atol, rtol=1e-5)
    np.testing.assert_allclose(gk.numpy(), xt.grad.numpy(), atol=atol, rtol=1e-5)


X4 = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype("float32")


@pytest.mark.parametrize("kwargs,shape,out", [
    ({}, (2, 3, 4), (2, 12)),
    ({"data_format": "channels_first"}, (2, 3, 2, 2), (2, 12)),
    ({}, (3, 4), (3, 4)),
])
def test_flatten_layer_test(kwargs, shape, out):
    run_layer_test(layers.Flatten, kwargs, input_shape=shape, expected_output_shape=out)


def test_flatten_channels_first_matches_channels_last_order():
    y_cf = layers.Flatten(data_format="channels_first")(kusari.tensor(np.transpose(X4, (0, 3, 1, 2))))
    y_cl = layers.Flatten(data_format="channels_last")(kusari.tensor(X4))
    np.testing.assert_array_equal(y_cf.numpy(), y_cl.numpy())
    _grad_vs_torch(layers.Flatten(), X4, lambda t: torch.flatten(t, 1))


def test_reshape():
    run_layer_test(layers.Reshape, {"target_shape": (2, -1)}, input_shape=(2, 3, 4), expected_output_shape=(2, 2, 6))
    run_layer_test(layers.Reshape, {"target_shape": (12,)}, input_shape=(2, 3, 4), expected_output_shape=(2, 12))
    _grad_vs_torch(layers.Reshape((4, 15)), X4, lambda t: t.reshape(2, 4, 15))


def test_reshape_errors_name_layer_and_shapes():
    layer = layers.Reshape((5, 5), name="my_reshape")
    with pytest.raises(ValueError, match=r"my_reshape.*\(3, 4\).*\(5, 5\)"):
        layer(kusari.ops.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(5, -1\)"):
        layers.Reshape((5, -1))(kusari.ops.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="tuple of ints"):
        layers.Reshape("ab")


def test_reshape_symbolic():
    inp = kusari.Input(shape=(3, 4))
    assert layers.Reshape((-1,))(inp).shape == (None, 12)


def test_permute():
    run_layer_test(layers.Permute, {"dims": (2, 1)}, input_shape=(2, 3, 4), expected_output_shape=(2, 4, 3))
    run_layer_test(layers.Permute, {"dims": (3, 1, 2)}, input_shape=(2, 3, 4, 5), expected_output_shape=(2, 5, 3, 4))
    _grad_vs_torch(layers.Permute((3, 1, 2)), X4, lambda t: t.permute(0, 3, 1, 2))
    with pytest.raises(ValueError, match="permutation of 1..2"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"permute_x.*\(2, 3, 4, 5\)"):
        layers.Permute((2, 1), name="permute_x")(kusari.tensor(X4))


def test_repeat_vector():
    run_layer_test(layers.RepeatVector, {"n": 3}, input_shape=(2, 4), expected_output_shape=(2, 3, 4))
    x = X4[:, :, 0, 0].copy()
    _grad_vs_torch(layers.RepeatVector(4), x, lambda t: t.unsqueeze(1).expand(2, 4, 3))
    with pytest.raises(ValueError, match="positive int"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r"repeat_vector_x.*2-D.*\(2, 3, 4, 5\)"):
        layers.RepeatVector(2, name="repeat_vector_x")(kusari.tensor(X4))


def test_upsampling1d():
    run_layer_test(layers.UpSampling1D, {"size": 3}, input_shape=(2, 3, 4), expected_output_shape=(2, 9, 4))
    x = X4[:, :, :, 0].copy()
    _grad_vs_torch(layers.UpSampling1D(2), x,
                   lambda t: TF.interpolate(t.transpose(1, 2), scale_factor=2, mode="nearest").transpose(1, 2))


@pytest.mark.parametrize("kwargs,out", [
    ({}, (2, 6, 8, 5)),
    ({"size": (1, 3)}, (2, 3, 12, 5)),
    ({"size": 2, "data_format": "channels_first"}, (2, 3, 8, 10)),
    ({"interpolation": "bilinear"}, (2, 6, 8, 5)),
])
def test_upsampling2d_layer_test(kwargs, out):
    run_layer_test(layers.UpSampling2D, kwargs, input_shape=(2, 3, 4, 5), expected_output_shape=out)


@pytest.mark.parametrize("size", [(2, 2), (3, 2)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsampling2d_vs_torch(size, mode):
    extra = {"align_corners": False} if mode == "bilinear" else {}
    _grad_vs_torch(layers.UpSampling2D(size, interpolation=mode), X4,
                   lambda t: TF.interpolate(t.permute(0, 3, 1, 2), scale_factor=size, mode=mode, **extra)
                   .permute(0, 2, 3, 1))
    _grad_vs_torch(layers.UpSampling2D(size, data_format="channels_first", interpolation=mode), X4,
                   lambda t: TF.interpolate(t, scale_factor=size, mode=mode, **extra))


def test_upsampling2d_errors():
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="size"):
        layers.UpSampling2D(size=(2, 0))
    with pytest.raises(ValueError, match="data_format"):
        layers.UpSampling2D(data_format="nhwc")
    with pytest.raises(ValueError, match=r"4-D.*\(2, 3\)"):
        layers.UpSampling2D()(kusari.ops.ones((2, 3)))


@pytest.mark.parametrize("padding,torch_pad", [
    (1, (1, 1)), ((2, 3), (2, 3)),
])
def test_zero_padding1d(padding, torch_pad):
    run_layer_test(layers.ZeroPadding1D, {"padding": padding}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3 + sum(torch_pad), 4))
    x = X4[:, :, :, 0].copy()
    _grad_vs_torch(layers.ZeroPadding1D(padding), x, lambda t: TF.pad(t, (0, 0) + torch_pad))
    _grad_vs_torch(layers.ZeroPadding1D(padding, data_format="channels_first"), x, lambda t: TF.pad(t, torch_pad))


@pytest.mark.parametrize("padding,pairs", [
    ((1, 1), ((1, 1), (1, 1))), (2, ((2, 2), (2, 2))), ((1, 2), ((1, 1), (2, 2))), (((0, 1), (2, 3)), ((0, 1), (2, 3))),
])
def test_zero_padding2d(padding, pairs):
    (t, b), (l, r) = pairs
    run_layer_test(layers.ZeroPadding2D, {"padding": padding}, input_shape=(2, 3, 4, 2),
                   expected_output_shape=(2, 3 + t + b, 4 + l + r, 2))
    assert layers.ZeroPadding2D(padding).get_config()["padding"] == pairs
    _grad_vs_torch(layers.ZeroPadding2D(padding), X4, lambda x: TF.pad(x, (0, 0, l, r, t, b)))
    _grad_vs_torch(layers.ZeroPadding2D(padding, data_format="channels_first"), X4,
                   lambda x: TF.pad(x, (l, r, t, b)))


def test_zero_padding_errors():
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D(-1)
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding1D((1, 2, 3))


def test_cropping1d():
    run_layer_test(layers.Cropping1D, {"cropping": (1, 2)}, input_shape=(2, 5, 3), expected_output_shape=(2, 2, 3))
    x = X4[:, :, :, 0].copy()
    _grad_vs_torch(layers.Cropping1D((1, 0)), x, lambda t: t[:, 1:, :])
    with pytest.raises(ValueError, match=r"cropping_x.*\(2, 3, 4\)"):
        layers.Cropping1D((2, 1), name="cropping_x")(kusari.tensor(x))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cropping2d(data_format):
    shape = (2, 5, 6, 3) if data_format == "channels_last" else (2, 3, 5, 6)
    out = (2, 2, 3, 3) if data_format == "channels_last" else (2, 3, 2, 3)
    run_layer_test(layers.Cropping2D, {"cropping": ((1, 2), (3, 0)), "data_format": data_format},
                   input_shape=shape, expected_output_shape=out)
    run_layer_test(layers.Cropping2D, {}, input_shape=shape, expected_output_shape=shape)
    fn = (lambda t: t[:, 1:3, 3:, :]) if data_format == "channels_last" else (lambda t: t[:, :, 1:3, 3:])
    x = np.random.default_rng(2).standard_normal(shape).astype("float32")
    _grad_vs_torch(layers.Cropping2D(((1, 2), (3, 0)), data_format=data_format), x, fn)


def test_cropping2d_too_much_names_layer_and_shape():
    with pytest.raises(ValueError, match=r"crop2.*\(2, 3, 4, 5\)"):
        layers.Cropping2D(((2, 1), (0, 0)), name="crop2")(kusari.tensor(X4))


def test_compute_output_shape_matches_call():
    for layer in [layers.Flatten(), layers.Reshape((-1, 5)), layers.Permute((2, 3, 1)), layers.UpSampling2D((2, 3)),
                  layers.ZeroPadding2D(((1, 2), (0, 1))), layers.Cropping2D(((1, 1), (0, 2)))]:
        assert layer.compute_output_shape(X4.shape) == layer(kusari.tensor(X4)).shape, type(layer).__name__
