import numpy as np
import pytest

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test


@pytest.mark.parametrize("cls, kwargs", [
    (layers.ReLU, {}), (layers.ReLU, {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}),
    (layers.LeakyReLU, {}), (layers.ELU, {"alpha": 0.5}), (layers.Softmax, {}), (layers.Softmax, {"axis": [1, 2]}),
])
def test_activation_layers(cls, kwargs):
    run_layer_test(cls, kwargs, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0)


def test_prelu_layer_test_and_shared_axes():
    run_layer_test(layers.PReLU, {"alpha_initializer": "random_uniform"}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=1)
    layer = layers.PReLU(shared_axes=[1, 2])
    layer(kusari.ops.ones((2, 3, 4, 5)))
    assert layer.alpha.shape == (1, 1, 5)
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[0])(kusari.ops.ones((2, 3)))


def test_relu_values_follow_keras_definition():
    x = kusari.tensor([[-1.0, 0.1, 0.5, 2.0]])
    y = layers.ReLU(max_value=1.0, negative_slope=0.5, threshold=0.2)(x).numpy()
    np.testing.assert_allclose(y, [[-0.6, -0.05, 0.5, 1.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-1)


def test_leaky_relu_accepts_keras2_alpha_and_softmax_mask():
    assert layers.LeakyReLU(alpha=0.1).negative_slope == pytest.approx(0.1)
    y = layers.Softmax()(kusari.tensor([[1.0, 2.0, 3.0]]), mask=kusari.tensor([[True, True, False]])).numpy()
    np.testing.assert_allclose(y[0, 2], 0.0, atol=1e-7)
    np.testing.assert_allclose(y[0, :2].sum(), 1.0, rtol=1e-6)
