import numpy as np
import pytest

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test

X = np.random.default_rng(0).uniform(0.5, 1.5, (40, 50)).astype("float32")


@pytest.mark.parametrize("cls,kwargs,shape", [
    (layers.Dropout, {"rate": 0.5}, (2, 3)),
    (layers.Dropout, {"rate": 0.3, "noise_shape": (None, 1, 4), "seed": 3}, (2, 3, 4)),
    (layers.SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
    (layers.SpatialDropout2D, {"rate": 0.5}, (2, 3, 3, 4)),
    (layers.SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 3, 4)),
    (layers.SpatialDropout3D, {"rate": 0.5}, (1, 2, 2, 2, 3)),
    (layers.GaussianNoise, {"stddev": 0.1, "seed": 1}, (2, 3)),
    (layers.GaussianDropout, {"rate": 0.1}, (2, 3)),
    (layers.ActivityRegularization, {"l1": 0.01, "l2": 0.02}, (2, 3)),
])
def test_layer_test(cls, kwargs, shape):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=shape, expected_num_trainable_weights=0)


@pytest.mark.parametrize("layer", [layers.Dropout(0.5), layers.SpatialDropout1D(0.5), layers.GaussianNoise(0.5),
                                   layers.GaussianDropout(0.5)], ids=lambda l: type(l).__name__)
def test_identity_at_inference(layer):
    x = X[:4, :6].reshape(2, 2, 6)
    for kw in ({}, {"training": False}):
        np.testing.assert_array_equal(layer(kusari.tensor(x), **kw).numpy(), x)


def test_dropout_rate_and_scaling():
    y = layers.Dropout(0.3, seed=0)(kusari.tensor(X), training=True).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - 0.3) < 0.03
    kept = y != 0
    np.testing.assert_allclose(y[kept], X[kept] / 0.7, rtol=1e-6)


def test_dropout_gradient_is_the_mask():
    x = kusari.tensor(X, requires_grad=True)
    y = layers.Dropout(0.5, seed=1)(x, training=True)
    (g,) = kusari.grad(y.sum(), [x])
    np.testing.assert_allclose(g.numpy(), (y.numpy() != 0) * 2.0)


def test_dropout_seed_reproducible_and_advancing():
    a = layers.Dropout(0.5, seed=7)
    b = layers.Dropout(0.5, seed=7)
    x = kusari.tensor(X)
    ya1, yb1 = a(x, training=True).numpy(), b(x, training=True).numpy()
    np.testing.assert_array_equal(ya1, yb1)
    ya2 = a(x, training=True).numpy()
    assert not np.array_equal(ya1, ya2)        # the layer's generator advances: a new mask each step
    np.testing.assert_array_equal(ya2, b(x, training=True).numpy())


def test_dropout_noise_shape_shares_mask():
    y = layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=0)(kusari.tensor(X[:, :50].reshape(4, 10, 50)[:, :, :5]),
                                                               training=True).numpy()
    zero = y == 0
    assert np.all(zero == zero[:, :1, :])


def test_dropout_rate_edges():
    x = kusari.tensor(X[:2, :3])
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True).numpy(), X[:2, :3])
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True).numpy(), np.zeros((2, 3)))


def test_training_flag_from_model():
    model = kusari.Sequential([layers.Dropout(0.5, seed=0)])
    x = kusari.tensor(X)
    assert (model(x, training=True).numpy() == 0).any()
    np.testing.assert_array_equal(model(x).numpy(), X)


@pytest.mark.parametrize("cls,shape,fmt,channel_axis", [
    (layers.SpatialDropout1D, (20, 6, 8), None, -1),
    (layers.SpatialDropout2D, (20, 4, 4, 8), "channels_last", -1),
    (layers.SpatialDropout2D, (20, 8, 4, 4), "channels_first", 1),
    (layers.SpatialDropout3D, (10, 2, 3, 2, 8), "channels_last", -1),
    (layers.SpatialDropout3D, (10, 8, 2, 3, 2), "channels_first", 1),
])
def test_spatial_dropout_drops_whole_channels(cls, shape, fmt, channel_axis):
    kw = {} if fmt is None else {"data_format": fmt}
    x = np.ones(shape, "float32")
    y = cls(0.5, seed=0, **kw)(kusari.tensor(x), training=True).numpy()
    y = np.moveaxis(y, channel_axis, -1).reshape(shape[0], -1, 8)
    assert np.all((y == y[:, :1, :]))                   # one value per sample and channel
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == 0).any() and (y == 2).any()


def test_spatial_dropout_rank_error():
    with pytest.raises(ValueError, match=r"sd_x.*4-D.*\(2, 3\)"):
        layers.SpatialDropout2D(0.5, name="sd_x")(kusari.ops.ones((2, 3)))
    with pytest.raises(ValueError, match="data_format"):
        layers.SpatialDropout2D(0.5, data_format="nchw")


def test_gaussian_noise_statistics_and_seed():
    y = layers.GaussianNoise(0.2, seed=0)(kusari.tensor(X), training=True).numpy()
    noise = y - X
    assert abs(noise.mean()) < 0.02 and abs(noise.std() - 0.2) < 0.02
    y2 = layers.GaussianNoise(0.2, seed=0)(kusari.tensor(X), training=True).numpy()
    np.testing.assert_array_equal(y, y2)


def test_gaussian_dropout_statistics():
    y = layers.GaussianDropout(0.2, seed=0)(kusari.tensor(X), training=True).numpy()
    noise = y / X
    assert abs(noise.mean() - 1) < 0.02 and abs(noise.std() - np.sqrt(0.2 / 0.8)) < 0.02


def test_activity_regularization_loss():
    x = np.array([[1.0, -2.0, 3.0]], "float32")      # batch of one: no dependence on batch-size scaling
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    y = layer(kusari.tensor(x))
    np.testing.assert_array_equal(y.numpy(), x)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 0.1 * 6 + 0.01 * 14, rtol=1e-6)
    assert layer.get_config()["l1"] == 0.1 and layer.get_config()["l2"] == 0.01


@pytest.mark.parametrize("make", [lambda: layers.Dropout(1.5), lambda: layers.Dropout(-0.1),
                                  lambda: layers.SpatialDropout1D(2), lambda: layers.GaussianDropout(1.1),
                                  lambda: layers.GaussianNoise(-1.0)])
def test_invalid_rates(make):
    with pytest.raises(ValueError, match="between 0 and 1"):
        make()


def test_noise_shape_rank_error():
    with pytest.raises(ValueError, match=r"drop_x.*noise_shape \(None, 1\).*\(2, 3, 4\)"):
        layers.Dropout(0.5, noise_shape=(None, 1), name="drop_x")(kusari.ops.ones((2, 3, 4)), training=True)


def test_masks_pass_through():
    x = kusari.ops.ones((2, 3, 4))
    x._keras_mask = kusari.tensor([[True, False, True], [True, True, False]])
    for layer in (layers.Dropout(0.5), layers.GaussianNoise(0.1)):
        assert layer(x, training=True)._keras_mask.tolist() == x._keras_mask.tolist()
    ar = layers.ActivityRegularization(l1=0.1)
    assert ar(x)._keras_mask.tolist() == x._keras_mask.tolist()
