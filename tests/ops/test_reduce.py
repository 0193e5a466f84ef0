import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.autograd.gradcheck import gradcheck, gradgradcheck
from kusari.testing.op_test import OpSpec, make_op_tests


def torch():
    return __import__("torch")


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis)


def _with_zero(rng, dtype):
    x = rng.uniform(0.5, 1.5, size=(3, 4)).astype(dtype)
    x[1, 2] = 0.0
    return [x]


SPECS = [
    OpSpec("sum_all", lambda x: ops.sum(x), np.sum, torch_fn=lambda t: t.sum()),
    OpSpec("sum_axis_keep", lambda x: ops.sum(x, axis=-1, keepdims=True), lambda x: np.sum(x, -1, keepdims=True),
           shapes=[(2, 3, 4)], torch_fn=lambda t: t.sum(-1, keepdim=True)),
    OpSpec("mean_tuple", lambda x: ops.mean(x, axis=(0, 2)), lambda x: np.mean(x, (0, 2)), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.mean((0, 2))),
    OpSpec("max_all", lambda x: ops.max(x), np.max, torch_fn=lambda t: t.amax()),
    OpSpec("max_axis", lambda x: ops.max(x, axis=1), lambda x: np.max(x, 1), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.amax(1)),
    OpSpec("max_neg_axis_keep", lambda x: ops.max(x, axis=-1, keepdims=True),
           lambda x: np.max(x, -1, keepdims=True), torch_fn=lambda t: t.amax(-1, keepdim=True)),
    OpSpec("max_initial", lambda x: ops.max(x, axis=0, initial=0.5), lambda x: np.max(x, 0, initial=0.5),
           torch_fn=lambda t: t.amax(0).clamp(min=0.5)),
    OpSpec("min_tuple", lambda x: ops.min(x, axis=(0, 2)), lambda x: np.min(x, (0, 2)), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.amin((0, 2))),
    OpSpec("prod_all", lambda x: ops.prod(x), np.prod, domain=(0.5, 1.5), torch_fn=lambda t: t.prod()),
    OpSpec("prod_axis", lambda x: ops.prod(x, axis=0, keepdims=True), lambda x: np.prod(x, 0, keepdims=True),
           domain=(-1.5, 1.5), torch_fn=lambda t: t.prod(0, keepdim=True)),
    OpSpec("prod_with_zero", lambda x: ops.prod(x, axis=1), lambda x: np.prod(x, 1), make=_with_zero,
           torch_fn=lambda t: t.prod(1)),
    OpSpec("var_all", lambda x: ops.var(x), np.var, torch_fn=lambda t: t.var(unbiased=False)),
    OpSpec("var_axis", lambda x: ops.var(x, axis=1, keepdims=True), lambda x: np.var(x, 1, keepdims=True),
           shapes=[(2, 3, 4)], torch_fn=lambda t: t.var(1, unbiased=False, keepdim=True)),
    OpSpec("std_axis", lambda x: ops.std(x, axis=0), lambda x: np.std(x, 0),
           torch_fn=lambda t: t.std(0, unbiased=False)),
    OpSpec("logsumexp_all", lambda x: ops.logsumexp(x), _lse, torch_fn=lambda t: torch().logsumexp(t, (0, 1))),
    OpSpec("logsumexp_axis", lambda x: ops.logsumexp(x, axis=-1, keepdims=True),
           lambda x: _lse(x, -1, True), shapes=[(2, 3, 4)],
           torch_fn=lambda t: torch().logsumexp(t, -1, keepdim=True)),
    OpSpec("cumsum_flat", lambda x: ops.cumsum(x), lambda x: np.cumsum(x), torch_fn=lambda t: t.flatten().cumsum(0)),
    OpSpec("cumsum_axis", lambda x: ops.cumsum(x, axis=-1), lambda x: np.cumsum(x, -1), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.cumsum(-1)),
    OpSpec("cumprod_axis", lambda x: ops.cumprod(x, axis=0), lambda x: np.cumprod(x, 0), domain=(0.5, 1.5),
           torch_fn=lambda t: t.cumprod(0)),
    OpSpec("cumprod_with_zero", lambda x: ops.cumprod(x, axis=1), lambda x: np.cumprod(x, 1), make=_with_zero,
           torch_fn=lambda t: t.cumprod(1)),
    OpSpec("argmax", lambda x: ops.argmax(x, axis=1), lambda x: np.argmax(x, 1), grad=False,
           torch_fn=lambda t: t.argmax(1)),
    OpSpec("argmin_flat_keep", lambda x: ops.argmin(x, keepdims=True),
           lambda x: np.argmin(x, keepdims=True), grad=False),
]
globals().update(make_op_tests(SPECS))


def test_max_ties_split_gradient_like_torch_amax():
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = kusari.tensor(data, requires_grad=True)
    ops.max(x, axis=1).sum().backward()
    t = torch().tensor(data, requires_grad=True)
    t.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_max_initial_above_all_gives_zero_grad():
    x = kusari.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = ops.max(x, initial=5.0)
    assert y.item() == 5.0
    y.backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_prod_gradients_with_zeros():
    one_zero = kusari.tensor([[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]], dtype="float64", requires_grad=True)
    assert gradcheck(lambda x: ops.prod(x, axis=1), [one_zero])
    assert gradgradcheck(lambda x: ops.prod(x, axis=1), [one_zero])
    two_zeros = kusari.tensor([0.0, 2.0, 0.0], dtype="float64", requires_grad=True)
    assert gradcheck(lambda x: ops.prod(x), [two_zeros])


def test_logsumexp_is_stable():
    x = kusari.tensor([1000.0, 1000.0, -1e30], dtype="float64", requires_grad=True)
    y = ops.logsumexp(x)
    assert np.isclose(y.item(), 1000.0 + np.log(2.0))
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0.0])
    neg = ops.logsumexp(kusari.tensor([-np.inf, -np.inf]))
    assert neg.item() == -np.inf


def test_arg_and_logical_reductions():
    x = kusari.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, -1.0]])
    assert ops.argmax(x).item() == 2 and ops.argmax(x).dtype == "int32"
    assert ops.argmin(x, axis=0).tolist() == [1, 0, 1]
    assert ops.argmax(x, axis=-1, keepdims=True).shape == (2, 1)
    assert ops.all(x, axis=1).tolist() == [False, False]
    assert ops.any(x, axis=0).tolist() == [True, False, True]
    assert ops.any(x).item() is True and ops.all(x > -2).item() is True
    assert ops.count_nonzero(x).item() == 3
    assert ops.count_nonzero(x, axis=1).tolist() == [2, 1]
    assert ops.all(x, axis=0, keepdims=True).shape == (1, 3)


def test_integer_inputs():
    i = kusari.tensor([[1, 2], [3, 4]])
    assert ops.max(i).item() == 4 and ops.max(i).dtype == "int32"
    assert ops.prod(i, axis=0).tolist() == [3, 8]
    assert ops.prod(i, dtype="float32").dtype == "float32"
    assert ops.var(i).dtype == "float32"
    assert ops.cumsum(i, axis=1).tolist() == [[1, 3], [3, 7]]
    assert ops.cumsum(i, dtype="float64").dtype == "float64"
    assert ops.cumprod(kusari.tensor([1, 2, 3])).tolist() == [1, 2, 6]


def test_tensor_methods():
    x = kusari.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.max().item() == 4.0 and x.min().item() == 1.0 and x.prod().item() == 24.0
    assert x.var().item() == 1.25 and np.isclose(x.std().item(), np.sqrt(1.25))
    assert x.argmax().item() == 3 and x.argmin(axis=1).tolist() == [0, 0]
    assert x.cumsum(axis=0).tolist() == [[1.0, 2.0], [4.0, 6.0]]
    assert x.all().item() and x.any().item()
    assert np.isclose(x.logsumexp().item(), _lse(x.numpy()))


def test_errors():
    x = kusari.tensor([[1.0, 2.0]])
    with pytest.raises(ValueError, match="max: axis 2 is out of range"):
        ops.max(x, axis=2)
    with pytest.raises(ValueError, match="needs `initial`"):
        ops.max(kusari.tensor(np.zeros((0, 2), np.float32)), axis=0)
    with pytest.raises(ValueError, match="argmax: attempt"):
        ops.argmax(kusari.tensor(np.zeros((0,), np.float32)))
    with pytest.raises(TypeError, match="argmax: axis must be an int"):
        ops.argmax(x, axis=(0, 1))
    with pytest.raises(TypeError, match="cumsum: axis must be an int"):
        ops.cumsum(x, axis=(0, 1))
    with pytest.raises(ValueError, match="logsumexp: reduction over an empty"):
        ops.logsumexp(kusari.tensor(np.zeros((0,), np.float32)))
    with pytest.raises(ValueError, match="var: axis -3"):
        ops.var(x, axis=-3)
