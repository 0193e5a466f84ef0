import numpy as np
import pytest

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test


def test_rescaling():
    run_layer_test(layers.Rescaling, {"scale": 0.5, "offset": 1.0}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0)
    y = layers.Rescaling(1 / 255)(np.array([[0, 255]], "uint8"))
    assert y.dtype == "float32" and y.tolist() == [[0.0, 1.0]]


def test_center_crop():
    run_layer_test(layers.CenterCrop, {"height": 2, "width": 3}, input_shape=(2, 4, 5, 3),
                   expected_output_shape=(2, 2, 3, 3), run_gradient_check=False, run_training_check=False)
    x = np.arange(20, dtype="float32").reshape(4, 5, 1)
    y = layers.CenterCrop(2, 3)(x).numpy()
    np.testing.assert_array_equal(y[..., 0], x[1:3, 1:4, 0])
    with pytest.raises(NotImplementedError, match="smaller"):
        layers.CenterCrop(9, 9)(x)


def test_normalization_given_and_adapted():
    run_layer_test(layers.Normalization, {"mean": 1.0, "variance": 4.0}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0)
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 4)).astype("float32")
    norm = layers.Normalization()
    norm.adapt(data)
    assert [w.name for w in norm.weights] == ["mean", "variance", "count"]
    y = norm(data).numpy()
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1.0, rtol=1e-4)
    inv = layers.Normalization(mean=norm.adapt_mean.numpy(), variance=norm.adapt_variance.numpy(), invert=True)
    np.testing.assert_allclose(inv(y).numpy(), data, rtol=1e-4, atol=1e-4)
    batched = layers.Normalization()
    batched.adapt([(data[:25], None), (data[25:], None)])
    np.testing.assert_allclose(batched.adapt_mean.numpy(), norm.adapt_mean.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
