import numpy as np
import pytest

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test


def test_dense_layer_test_and_keras_defaults():
    run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=2)
    run_layer_test(layers.Dense, {"units": 2, "activation": "tanh", "use_bias": False}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 2), expected_num_trainable_weights=1)
    cfg = layers.Dense(5).get_config()
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["bias_initializer"]["class_name"] == "Zeros"


def test_dense_matches_torch_linear():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(4, 5))
    layer = layers.Dense(3, activation="relu", dtype="float64")
    xt = kusari.tensor(x, requires_grad=True)
    y = layer(xt)
    lin = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(layer.kernel.numpy().T))
        lin.bias.copy_(torch.tensor(layer.bias.numpy()))
    xtt = torch.tensor(x, requires_grad=True)
    yt = torch.relu(lin(xtt))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(1).normal(size=(4, 3))
    (y * kusari.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), xtt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.kernel.grad.numpy(), lin.weight.grad.numpy().T, rtol=1e-10)
    np.testing.assert_allclose(layer.bias.grad.numpy(), lin.bias.grad.numpy(), rtol=1e-10)


def test_activation_and_identity_layers():
    run_layer_test(layers.Activation, {"activation": "gelu"}, input_shape=(2, 3), expected_output_shape=(2, 3))
    run_layer_test(layers.Identity, {}, input_shape=(2, 3), expected_output_shape=(2, 3))
    y = layers.Activation("relu")(np.array([[-1.0, 2.0]], "float32"))
    assert y.tolist() == [[0.0, 2.0]]
    with pytest.raises(ValueError, match="valid names"):
        layers.Activation("nope")


def test_lambda_layer_eager_and_symbolic():
    layer = layers.Lambda(lambda x: x * 2.0)
    assert layer(np.ones((1, 2), "float32")).tolist() == [[2.0, 2.0]]
    inp = kusari.Input((3,))
    out = layers.Lambda(lambda x: kusari.ops.sum(x, axis=-1, keepdims=True))(inp)
    assert out.shape == (None, 1)
    with pytest.raises(TypeError, match="callable"):
        layers.Lambda(3)


def test_regularizers_add_losses_and_constraints_apply_after_the_step():
    layer = layers.Dense(2, kernel_regularizer=kusari.regularizers.L2(0.1), bias_regularizer="l1",
                         kernel_constraint=kusari.constraints.NonNeg())
    layer(np.ones((1, 3), "float32"))
    k, b = layer.kernel.numpy(), layer.bias.numpy()
    (l2, l1) = [float(v) for v in layer.losses]
    assert l2 == pytest.approx(0.1 * (k ** 2).sum(), rel=1e-6) and l1 == pytest.approx(0.01 * np.abs(b).sum())
    opt = kusari.optimizers.SGD(1.0)
    grads = kusari.grad(layer(np.ones((1, 3), "float32")).sum() * 100.0, layer.trainable_weights)
    opt.apply(grads, layer.trainable_weights)
    assert (layer.kernel.numpy() >= 0).all()


def test_activity_regularizer_adds_the_plain_value_like_keras3():
    layer = layers.Dense(2, activity_regularizer=kusari.regularizers.L1(0.5), kernel_initializer="ones")
    y = layer(np.ones((3, 2), "float32"))
    assert float(layer.losses[0]) == pytest.approx(0.5 * np.abs(y.numpy()).sum())


def test_max_norm_and_unit_norm_constraints():
    w = kusari.tensor(np.array([[3.0, 0.1], [4.0, 0.1]], "float32"))
    mn = kusari.constraints.MaxNorm(2.0)(w).numpy()
    assert np.linalg.norm(mn[:, 0]) == pytest.approx(2.0, rel=1e-5)
    assert np.allclose(mn[:, 1], [0.1, 0.1], rtol=1e-5)
    un = kusari.constraints.UnitNorm()(w).numpy()
    assert np.allclose(np.linalg.norm(un, axis=0), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name,shape", [("glorot_uniform", (40, 60)), ("he_normal", (3, 3, 8, 16)),
                                        ("lecun_normal", (100, 50)), ("orthogonal", (20, 20)),
                                        ("random_normal", (50, 50))])
def test_initializers_have_keras_statistics(name, shape):
    kusari.utils.set_random_seed(0)
    w = kusari.initializers.get(name)(shape, "float32")
    w = np.asarray(w)
    fan_in, fan_out = kusari.initializers.compute_fans(shape)
    if name == "glorot_uniform":
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w).max() <= limit and w.std() == pytest.approx(limit / np.sqrt(3), rel=0.1)
    elif name == "he_normal":
        assert w.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.1)
    elif name == "lecun_normal":
        assert w.std() == pytest.approx(np.sqrt(1 / fan_in), rel=0.1)
    elif name == "orthogonal":
        np.testing.assert_allclose(w @ w.T, np.eye(20), atol=1e-5)
    else:
        assert w.std() == pytest.approx(0.05, rel=0.1)
    assert w.dtype == np.float32


def test_seeded_initializer_repeats_and_unknown_name_lists_valid_ones():
    a = np.asarray(kusari.initializers.HeUniform(seed=3)((4, 4)))
    b = np.asarray(kusari.initializers.HeUniform(seed=3)((4, 4)))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="glorot_uniform"):
        kusari.initializers.get("glorot_uniformish")


def test_layer_unknown_kwarg_is_refused():
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(3, bogus=1)
