import math

import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests


def _t(name):
    return lambda *a: getattr(__import__("torch"), name)(*a)


_erf = np.vectorize(math.erf)

SPECS = [
    OpSpec("exp", ops.exp, np.exp, torch_fn=_t("exp")),
    OpSpec("log", ops.log, np.log, domain=(0.5, 3.0), torch_fn=_t("log")),
    OpSpec("log1p", ops.log1p, np.log1p, domain=(-0.5, 2.0), torch_fn=_t("log1p")),
    OpSpec("expm1", ops.expm1, np.expm1, torch_fn=_t("expm1")),
    OpSpec("log2", ops.log2, np.log2, domain=(0.5, 3.0), torch_fn=_t("log2")),
    OpSpec("log10", ops.log10, np.log10, domain=(0.5, 3.0), torch_fn=_t("log10")),
    OpSpec("sqrt", ops.sqrt, np.sqrt, domain=(0.5, 3.0), torch_fn=_t("sqrt")),
    OpSpec("rsqrt", ops.rsqrt, lambda x: 1 / np.sqrt(x), domain=(0.5, 3.0), torch_fn=_t("rsqrt")),
    OpSpec("square", ops.square, np.square, torch_fn=_t("square")),
    OpSpec("abs", ops.abs, np.abs, torch_fn=_t("abs")),
    OpSpec("sin", ops.sin, np.sin, torch_fn=_t("sin")),
    OpSpec("cos", ops.cos, np.cos, torch_fn=_t("cos")),
    OpSpec("tan", ops.tan, np.tan, domain=(-1.2, 1.2), torch_fn=_t("tan")),
    OpSpec("tanh", ops.tanh, np.tanh, torch_fn=_t("tanh")),
    OpSpec("sinh", ops.sinh, np.sinh, torch_fn=_t("sinh")),
    OpSpec("cosh", ops.cosh, np.cosh, torch_fn=_t("cosh")),
    OpSpec("arcsin", ops.arcsin, np.arcsin, domain=(-0.9, 0.9), torch_fn=_t("asin")),
    OpSpec("arccos", ops.arccos, np.arccos, domain=(-0.9, 0.9), torch_fn=_t("acos")),
    OpSpec("arctan", ops.arctan, np.arctan, torch_fn=_t("atan")),
    OpSpec("arcsinh", ops.arcsinh, np.arcsinh, torch_fn=_t("asinh")),
    OpSpec("arctanh", ops.arctanh, np.arctanh, domain=(-0.9, 0.9), torch_fn=_t("atanh")),
    OpSpec("erf", ops.erf, _erf, domain=(-3.0, 3.0), torch_fn=_t("erf"), tol={"float32": (2e-6, 1e-5)}),
    OpSpec("reciprocal", ops.reciprocal, np.reciprocal, domain=(0.5, 2.0), torch_fn=_t("reciprocal")),
    OpSpec("power_tensor", ops.power, np.power, shapes=[(3, 4), (3, 4)], domain=(0.5, 2.0),
           torch_fn=_t("pow")),
    OpSpec("nan_to_num_finite", ops.nan_to_num, np.nan_to_num, torch_fn=_t("nan_to_num")),
    OpSpec("method_chain", lambda x: x.sin().exp() + x.cos().log1p().rsqrt(),
           lambda x: np.exp(np.sin(x)) + 1 / np.sqrt(np.log1p(np.cos(x))), domain=(-1.0, 1.0)),
]
globals().update(make_op_tests(SPECS))


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_has_no_grad(name):
    x = kusari.tensor([-1.5, -0.2, 0.5, 2.7], requires_grad=True)
    y = getattr(ops, name)(x)
    assert not y.requires_grad and y.dtype == "float32"
    np.testing.assert_array_equal(y.numpy(), getattr(np, name)(x.numpy()))


def test_round_decimals_and_ints():
    assert ops.round(kusari.tensor([1.26, 2.5]), 1).numpy().tolist() == pytest.approx([1.3, 2.5])
    assert ops.round(kusari.tensor([2.5, 3.5])).tolist() == [2.0, 4.0]   # half to even, like numpy
    assert ops.floor(kusari.tensor([1, 2])).dtype == "int32"


def test_isnan_isinf_isfinite():
    x = kusari.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
    assert ops.isnan(x).tolist() == [True, False, False, False]
    assert ops.isinf(x).tolist() == [False, True, True, False]
    assert ops.isfinite(x).tolist() == [False, False, False, True]
    assert x.isnan().dtype == "bool"


def test_nan_to_num_values_and_grad():
    x = kusari.tensor([float("nan"), float("inf"), -float("inf"), 2.0], requires_grad=True)
    y = ops.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0)
    assert y.tolist() == [1.0, 5.0, -5.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
    big = ops.nan_to_num(kusari.tensor([float("inf")]))
    assert big.item() == np.finfo(np.float32).max


def test_integer_inputs_become_floatx():
    i = kusari.tensor([1, 4])
    for f in (ops.sqrt, ops.exp, ops.log1p, ops.sin, ops.erf, ops.rsqrt, ops.reciprocal):
        assert f(i).dtype == "float32", f
    assert ops.abs(kusari.tensor([-1, 2])).tolist() == [1, 2]


def test_erf_float32_accuracy():
    x = np.linspace(-5, 5, 201).astype(np.float32)
    np.testing.assert_allclose(ops.erf(kusari.tensor(x)).numpy(), _erf(x.astype(np.float64)), atol=3e-7)


def test_sign_has_no_grad():
    x = kusari.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    s = ops.sign(x)
    assert s.tolist() == [-1.0, 0.0, 1.0] and not s.requires_grad
