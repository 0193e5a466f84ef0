import numpy as np
import pytest
import torch

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return (RNG.standard_normal(shape) * 2 + 0.5).astype("float32")


def _vs_torch(layer, x, tmod, to_t=lambda t: t, from_t=lambda t: t, training=None, atol=1e-4):
    """Output, input gradient and gamma/beta gradients against a torch module (same weights already set)."""
    xk = kusari.tensor(x, requires_grad=True)
    kw = {} if training is None else {"training": training}
    y = layer(xk, **kw)
    r = np.random.default_rng(1).standard_normal(y.shape).astype("float32")
    params = [p for p in (getattr(layer, "gamma", None), getattr(layer, "beta", None)) if p is not None]
    grads = kusari.grad((y * kusari.tensor(r)).sum(), [xk] + params)
    xt = torch.tensor(x, requires_grad=True)
    yt = from_t(tmod(to_t(xt)))
    (yt * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), atol=atol, rtol=1e-4)
    np.testing.assert_allclose(grads[0].numpy(), xt.grad.numpy(), atol=atol, rtol=1e-4)
    tparams = [p for p in (tmod.weight, tmod.bias) if p is not None]
    for g, tp in zip(grads[1:], tparams):
        np.testing.assert_allclose(g.numpy(), tp.grad.numpy(), atol=atol, rtol=1e-4)


# ---------------------------------------------------------------- BatchNormalization

@pytest.mark.parametrize("kwargs,shape", [
    ({}, (4, 3)),
    ({"axis": 1}, (2, 3, 4, 4)),
    ({"center": False}, (4, 2, 3)),
    ({"scale": False, "momentum": 0.9}, (4, 3)),
])
def test_batchnorm_layer_test(kwargs, shape):
    n_train = int(kwargs.get("center", True)) + int(kwargs.get("scale", True))
    run_layer_test(layers.BatchNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_num_trainable_weights=n_train, expected_num_non_trainable_weights=2)


def test_batchnorm_training_step_in_training_mode():
    # (run_layer_test cannot take call_kwargs={"training": True}: it passes training=False beside them)
    bn = layers.BatchNormalization()
    x = kusari.tensor(_x(4, 3))
    y = bn(x, training=True)
    loss = (y * kusari.tensor(_x(4, 3))).sum()
    grads = kusari.grad(loss, bn.trainable_weights)
    before = [w.numpy().copy() for w in bn.trainable_weights]
    kusari.optimizers.SGD(learning_rate=0.1).apply(grads, bn.trainable_weights)
    assert all(not np.allclose(b, w.numpy()) for b, w in zip(before, bn.trainable_weights))
    assert not np.allclose(bn.moving_mean.numpy(), 0)


def test_batchnorm_defaults_and_weight_order():
    bn = layers.BatchNormalization()
    bn(kusari.ops.ones((2, 3)))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert (bn.momentum, bn.epsilon, bn.axis) == (0.99, 1e-3, -1)
    np.testing.assert_array_equal(bn.get_weights()[0], np.ones(3))
    np.testing.assert_array_equal(bn.get_weights()[1], np.zeros(3))
    np.testing.assert_array_equal(bn.get_weights()[2], np.zeros(3))
    np.testing.assert_array_equal(bn.get_weights()[3], np.ones(3))
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]


def _set_bn(bn, shape, c):
    bn(kusari.tensor(np.zeros(shape, "float32")))
    w = [RNG.uniform(0.5, 1.5, c), RNG.uniform(-0.5, 0.5, c), RNG.uniform(-0.5, 0.5, c), RNG.uniform(0.5, 2, c)]
    bn.set_weights([a.astype("float32") for a in w])
    return w


@pytest.mark.parametrize("shape,torch_cls,channels_last", [
    ((6, 3), torch.nn.BatchNorm1d, False),
    ((4, 5, 3), torch.nn.BatchNorm1d, True),
    ((2, 3, 3, 4), torch.nn.BatchNorm2d, True),
])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_vs_torch(shape, torch_cls, channels_last, training):
    c = shape[-1]
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    w = _set_bn(bn, shape, c)
    tbn = torch_cls(c, eps=1e-3, momentum=1 - 0.9)
    with torch.no_grad():
        for p, v in zip((tbn.weight, tbn.bias, tbn.running_mean, tbn.running_var), w):
            p.copy_(torch.tensor(v, dtype=torch.float32))
    tbn.train(training)
    nd = len(shape)
    to_t = (lambda t: t.permute(0, nd - 1, *range(1, nd - 1))) if channels_last else (lambda t: t)
    from_t = (lambda t: t.permute(0, *range(2, nd), 1)) if channels_last else (lambda t: t)
    x = _x(*shape)
    _vs_torch(bn, x, tbn, to_t, from_t, training=training)
    mm, mv = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    if not training:
        np.testing.assert_allclose(mm, w[2], rtol=1e-6)
        np.testing.assert_allclose(mv, w[3], rtol=1e-6)
        return
    np.testing.assert_allclose(mm, tbn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    # Keras updates with the biased batch variance; torch with the unbiased one
    axes = tuple(range(nd - 1))
    biased = x.astype(np.float64).var(axis=axes)
    np.testing.assert_allclose(mv, 0.9 * w[3] + 0.1 * biased, rtol=1e-5)
    n = x.size // c
    torch_equiv = 0.9 * w[3] + 0.1 * biased * n / (n - 1)
    np.testing.assert_allclose(tbn.running_var.numpy(), torch_equiv, rtol=1e-5)


def test_batchnorm_inference_uses_moving_stats():
    bn = layers.BatchNormalization()
    w = _set_bn(bn, (4, 3), 3)
    x = _x(4, 3)
    expected = (x - w[2]) / np.sqrt(w[3] + 1e-3) * w[0] + w[1]
    for kw in ({}, {"training": False}):
        np.testing.assert_allclose(bn(kusari.tensor(x), **kw).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), w[2])


def test_batchnorm_frozen_runs_in_inference_mode():
    bn = layers.BatchNormalization()
    w = _set_bn(bn, (4, 3), 3)
    bn.trainable = False
    x = _x(4, 3)
    y = bn(kusari.tensor(x), training=True)
    np.testing.assert_allclose(y.numpy(), (x - w[2]) / np.sqrt(w[3] + 1e-3) * w[0] + w[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), w[2])
    np.testing.assert_allclose(bn.moving_variance.numpy(), w[3])
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_batchnorm_training_flag_passed_down_from_model():
    model = kusari.Sequential([layers.Dense(3), layers.BatchNormalization()])
    x = kusari.tensor(_x(8, 4))
    model(x, training=True)
    assert not np.allclose(model.layers[-1].moving_mean.numpy(), 0)


def test_batchnorm_masked_statistics():
    bn = layers.BatchNormalization(momentum=0.0)
    x = _x(2, 4, 3)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    bn(kusari.tensor(x), training=True, mask=kusari.tensor(mask))
    sel = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), sel.mean(0), rtol=1e-4, atol=1e-5)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="axis must be an int"):
        layers.BatchNormalization(axis=[1, 2])
    bn = layers.BatchNormalization(name="bn_x")
    bn(kusari.ops.ones((2, 3)))
    with pytest.raises(ValueError, match=r"bn_x.*expected 3 features.*\(2, 4\)"):
        bn(kusari.ops.ones((2, 4)))
    with pytest.raises(ValueError, match="out of range"):
        layers.BatchNormalization(axis=3)(kusari.ops.ones((2, 3)))


# ---------------------------------------------------------------- LayerNormalization

@pytest.mark.parametrize("kwargs,shape,n_train", [
    ({}, (2, 3, 4), 2),
    ({"axis": [1, 2]}, (2, 3, 4), 2),
    ({"axis": 1, "center": False}, (2, 3, 4), 1),
    ({"rms_scaling": True}, (2, 5), 1),
])
def test_layernorm_layer_test(kwargs, shape, n_train):
    run_layer_test(layers.LayerNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_num_trainable_weights=n_train)


@pytest.mark.parametrize("axis,normalized", [(-1, (4,)), ([1, 2], (3, 4))])
def test_layernorm_vs_torch(axis, normalized):
    ln = layers.LayerNormalization(axis=axis, epsilon=1e-3)
    x = _x(2, 3, 4)
    ln(kusari.tensor(x))
    g = RNG.uniform(0.5, 1.5, normalized).astype("float32")
    b = RNG.uniform(-0.5, 0.5, normalized).astype("float32")
    ln.set_weights([g, b])
    tln = torch.nn.LayerNorm(normalized, eps=1e-3)
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(g))
        tln.bias.copy_(torch.tensor(b))
    _vs_torch(ln, x, tln)


def test_layernorm_defaults_and_rms():
    ln = layers.LayerNormalization()
    assert ln.epsilon == 1e-3
    ln(kusari.ops.ones((2, 3)))
    assert [w.name for w in ln.weights] == ["gamma", "beta"]
    rms = layers.LayerNormalization(rms_scaling=True)
    x = _x(2, 5)
    y = rms(kusari.tensor(x))
    assert [w.name for w in rms.weights] == ["gamma"]
    np.testing.assert_allclose(y.numpy(), x / np.sqrt(x.var(-1, keepdims=True) + 1e-3), rtol=1e-5)


def test_layernorm_errors():
    ln = layers.LayerNormalization(name="ln_x")
    ln(kusari.ops.ones((2, 3)))
    with pytest.raises(ValueError, match=r"ln_x.*\(2, 4\)"):
        ln(kusari.ops.ones((2, 4)))
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="x")


# ---------------------------------------------------------------- GroupNormalization

@pytest.mark.parametrize("kwargs,shape", [
    ({"groups": 2}, (2, 3, 4)),
    ({"groups": -1}, (2, 3, 4)),
    ({"groups": 3, "axis": 1}, (2, 6, 2, 2)),
])
def test_groupnorm_layer_test(kwargs, shape):
    run_layer_test(layers.GroupNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_num_trainable_weights=2)


@pytest.mark.parametrize("groups,channels_first", [(2, False), (4, False), (1, False), (2, True)])
def test_groupnorm_vs_torch(groups, channels_first):
    c = 4
    x = _x(2, c, 3, 3) if channels_first else _x(2, 3, 3, c)
    gn = layers.GroupNormalization(groups=groups, axis=1 if channels_first else -1)
    gn(kusari.tensor(x))
    g = RNG.uniform(0.5, 1.5, c).astype("float32")
    b = RNG.uniform(-0.5, 0.5, c).astype("float32")
    gn.set_weights([g, b])
    tgn = torch.nn.GroupNorm(groups, c, eps=1e-3)
    with torch.no_grad():
        tgn.weight.copy_(torch.tensor(g))
        tgn.bias.copy_(torch.tensor(b))
    if channels_first:
        _vs_torch(gn, x, tgn)
    else:
        _vs_torch(gn, x, tgn, lambda t: t.permute(0, 3, 1, 2), lambda t: t.permute(0, 2, 3, 1))


def test_groupnorm_errors():
    with pytest.raises(ValueError, match=r"gn_x.*groups \(8\).*channels \(4\)"):
        layers.GroupNormalization(groups=8, name="gn_x")(kusari.ops.ones((2, 4)))
    with pytest.raises(ValueError, match=r"channels \(4\) must be a multiple.*groups \(3\)"):
        layers.GroupNormalization(groups=3)(kusari.ops.ones((2, 4)))
    with pytest.raises(ValueError, match="groups must be"):
        layers.GroupNormalization(groups=0)


# ---------------------------------------------------------------- UnitNormalization

def test_unit_normalization():
    run_layer_test(layers.UnitNormalization, {}, input_shape=(2, 3), expected_output_shape=(2, 3))
    run_layer_test(layers.UnitNormalization, {"axis": [1, 2]}, input_shape=(2, 3, 2), expected_output_shape=(2, 3, 2))
    x = _x(3, 4)
    xk = kusari.tensor(x, requires_grad=True)
    y = layers.UnitNormalization()(xk)
    (gk,) = kusari.grad((y * kusari.tensor(x)).sum(), [xk])
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.normalize(xt, dim=-1)
    (yt * torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gk.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert np.all(np.isfinite(layers.UnitNormalization()(kusari.ops.zeros((1, 3))).numpy()))
