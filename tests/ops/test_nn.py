import math

import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests


def F():
    import torch.nn.functional as F
    return F


_erf = np.vectorize(math.erf)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_elu(x, a=1.0):
    return np.where(x > 0, x, a * (np.exp(x) - 1))


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805


def _away_from(points):
    """Inputs in (-4, 4) kept 0.05 away from the kinks in ``points`` (for finite-difference checks)."""
    def make(rng, dtype):
        x = rng.uniform(-4, 4, size=(3, 5))
        for p in points:
            x = np.where(np.abs(x - p) < 0.05, p + 0.1, x)
        return [x.astype(dtype)]
    return make


SPECS = [
    OpSpec("relu", ops.relu, lambda x: np.maximum(x, 0), make=_away_from([0]), torch_fn=lambda x: F().relu(x)),
    OpSpec("relu6", ops.relu6, lambda x: np.clip(x, 0, 6), make=lambda r, d: [(r.uniform(-3, 9, (3, 5)))
           .astype(d)], torch_fn=lambda x: F().relu6(x)),
    OpSpec("leaky_relu", ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), make=_away_from([0]),
           torch_fn=lambda x: F().leaky_relu(x, 0.2)),
    OpSpec("leaky_relu_slope", lambda x: ops.leaky_relu(x, negative_slope=0.01),
           lambda x: np.where(x > 0, x, 0.01 * x), make=_away_from([0]), torch_fn=lambda x: F().leaky_relu(x)),
    OpSpec("elu", ops.elu, _np_elu, make=_away_from([0]), torch_fn=lambda x: F().elu(x)),
    OpSpec("elu_alpha", lambda x: ops.elu(x, alpha=0.5), lambda x: _np_elu(x, 0.5), make=_away_from([0]),
           torch_fn=lambda x: F().elu(x, 0.5)),
    OpSpec("selu", ops.selu, lambda x: SELU_S * _np_elu(x, SELU_A), make=_away_from([0]),
           torch_fn=lambda x: F().selu(x)),
    OpSpec("celu", ops.celu, lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x)), make=_away_from([0]),
           torch_fn=lambda x: F().celu(x)),
    OpSpec("gelu_tanh", ops.gelu,
           lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
           torch_fn=lambda x: F().gelu(x, approximate="tanh")),
    OpSpec("gelu_exact", lambda x: ops.gelu(x, approximate=False), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
           torch_fn=lambda x: F().gelu(x), tol={"float32": (3e-6, 1e-5)}),
    OpSpec("silu", ops.silu, lambda x: x * _np_sigmoid(x), domain=(-4, 4), torch_fn=lambda x: F().silu(x)),
    OpSpec("swish", ops.swish, lambda x: x * _np_sigmoid(x)),
    OpSpec("sigmoid", ops.sigmoid, _np_sigmoid, domain=(-6, 6), torch_fn=lambda x: x.sigmoid()),
    OpSpec("softplus", ops.softplus, lambda x: np.log1p(np.exp(x)), domain=(-6, 6),
           torch_fn=lambda x: F().softplus(x)),
    OpSpec("softsign", ops.softsign, lambda x: x / (1 + np.abs(x)), make=_away_from([0]),
           torch_fn=lambda x: F().softsign(x)),
    OpSpec("hard_sigmoid", ops.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, make=_away_from([-3, 3]),
           torch_fn=lambda x: F().hardsigmoid(x)),
    OpSpec("hard_silu", ops.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6, make=_away_from([-3, 3]),
           torch_fn=lambda x: F().hardswish(x)),
    OpSpec("hard_tanh", ops.hard_tanh, lambda x: np.clip(x, -1, 1), make=_away_from([-1, 1]),
           torch_fn=lambda x: F().hardtanh(x)),
    OpSpec("log_sigmoid", ops.log_sigmoid, lambda x: np.log(_np_sigmoid(x)), domain=(-6, 6),
           torch_fn=lambda x: F().logsigmoid(x)),
    OpSpec("tanh", ops.tanh, np.tanh, torch_fn=lambda x: x.tanh()),
    OpSpec("softmax", ops.softmax, _np_softmax, shapes=[(3, 5)], domain=(-3, 3),
           torch_fn=lambda x: F().softmax(x, -1)),
    OpSpec("softmax_axis0", lambda x: ops.softmax(x, axis=0), lambda x: _np_softmax(x, 0), shapes=[(4, 3)],
           torch_fn=lambda x: F().softmax(x, 0)),
    OpSpec("softmax_tuple_axis", lambda x: ops.softmax(x, axis=(1, 2)), lambda x: _np_softmax(x, (1, 2)),
           shapes=[(2, 3, 2)]),
    OpSpec("log_softmax", ops.log_softmax, lambda x: np.log(_np_softmax(x)), shapes=[(3, 5)], domain=(-3, 3),
           torch_fn=lambda x: F().log_softmax(x, -1)),
    OpSpec("log_softmax_axis1", lambda x: ops.log_softmax(x, axis=1), lambda x: np.log(_np_softmax(x, 1)),
           shapes=[(2, 4, 3)], torch_fn=lambda x: F().log_softmax(x, 1)),
    OpSpec("moments", lambda x: ops.moments(x, axes=(0, 2)),
           lambda x: (x.mean(axis=(0, 2)), x.var(axis=(0, 2))), shapes=[(3, 2, 4)],
           torch_fn=lambda x: __import__("torch").var_mean(x, dim=(0, 2), correction=0)[::-1]),
    OpSpec("moments_keepdims", lambda x: ops.moments(x, axes=[1], keepdims=True),
           lambda x: (x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)), shapes=[(3, 4)]),
]
globals().update(make_op_tests(SPECS))


def test_sigmoid_softplus_extremes_are_finite():
    x = kusari.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], requires_grad=True)
    for f in (ops.sigmoid, ops.softplus, ops.log_sigmoid, ops.silu, ops.elu, ops.selu, ops.gelu):
        y = f(x)
        g, = kusari.grad(y.sum(), [x])
        assert np.all(np.isfinite(y.numpy())), f
        assert np.all(np.isfinite(g.numpy())), f
    assert ops.softplus(x).numpy()[-1] == 1000.0
    assert ops.log_sigmoid(x).numpy()[0] == -1000.0


def test_softmax_of_large_inputs():
    x = kusari.tensor([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]], requires_grad=True)
    y = ops.softmax(x)
    np.testing.assert_allclose(y.numpy(), [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    ls = ops.log_softmax(x)
    assert np.all(np.isfinite(ls.numpy()))
    np.testing.assert_allclose(ls.numpy()[0, :2], [-math.log(2)] * 2, rtol=1e-6)
    g, = kusari.grad((ls * kusari.tensor([[1.0, 0, 0], [0, 0, 1.0]])).sum(), [x])
    assert np.all(np.isfinite(g.numpy()))


def test_softmax_rows_sum_to_one_and_method():
    x = kusari.tensor(np.random.default_rng(0).normal(size=(4, 6)).astype("float32"))
    np.testing.assert_allclose(x.softmax().numpy().sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(0).numpy(), ops.log_softmax(x, 0).numpy())


def test_softmax_errors():
    with pytest.raises(ValueError, match="softmax"):
        ops.softmax(kusari.tensor([1.0, 2.0]), axis=3)
    with pytest.raises(ValueError, match="scalar"):
        ops.log_softmax(kusari.tensor(1.0))


def test_one_hot():
    y = ops.one_hot(kusari.tensor([0, 2, -1, 5]), 3)
    assert y.dtype == "float32"
    assert y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
    y0 = ops.one_hot(kusari.tensor([[1, 0]]), 3, axis=0, dtype="int32")
    assert y0.shape == (3, 1, 2) and y0.dtype == "int32"
    np.testing.assert_array_equal(y0.numpy()[:, 0, :], [[0, 1], [1, 0], [0, 0]])
    with pytest.raises(ValueError, match="num_classes"):
        ops.one_hot(kusari.tensor([0]), 0)
    with pytest.raises(ValueError, match="axis"):
        ops.one_hot(kusari.tensor([0]), 3, axis=2)


def test_multi_hot():
    assert ops.multi_hot(kusari.tensor([[0, 2], [1, 1]]), 4).tolist() == [[1, 0, 1, 0], [0, 1, 0, 0]]
    assert ops.multi_hot(kusari.tensor([3, 0]), num_classes=4).tolist() == [1, 0, 0, 1]


def test_activation_defaults_match_keras():
    x = kusari.tensor([-1.0, 1.0])
    assert ops.leaky_relu(x).tolist() == pytest.approx([-0.2, 1.0])
    # gelu defaults to the tanh approximation (Keras approximate=True)
    np.testing.assert_allclose(ops.gelu(x).numpy(), ops.gelu(x, approximate=True).numpy())
    assert abs(ops.gelu(x).numpy()[1] - ops.gelu(x, approximate=False).numpy()[1]) > 1e-5
    assert ops.hard_sigmoid(kusari.tensor([-3.0, 0.0, 3.0])).tolist() == [0.0, 0.5, 1.0]


def test_float32_stays_float32_and_ints_become_floatx():
    x = kusari.tensor([1.0, -2.0])
    for f in (ops.relu, ops.sigmoid, ops.softmax, ops.gelu, ops.elu, ops.softplus, ops.hard_silu):
        assert f(x).dtype == "float32"
        assert f(kusari.tensor([1, -2])).dtype == "float32"
