import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests



SPECS = [
    OpSpec("add", ops.add, np.add, shapes=[(3, 4), (3, 4)], torch_fn=lambda a, b: a + b),
    OpSpec("add_broadcast", ops.add, np.add, shapes=[(2, 3, 4), (3, 1)], torch_fn=lambda a, b: a + b),
    OpSpec("subtract", ops.subtract, np.subtract, shapes=[(4, 1), (1, 5)], torch_fn=lambda a, b: a - b),
    OpSpec("multiply", ops.multiply, np.multiply, shapes=[(3, 4), (4,)], torch_fn=lambda a, b: a * b),
    OpSpec("divide", ops.divide, np.divide, shapes=[(3, 4), (3, 4)], domain=(0.5, 2.0),
           torch_fn=lambda a, b: a / b),
    OpSpec("negative", ops.negative, np.negative, torch_fn=lambda a: -a),
    OpSpec("power", ops.power, np.power, shapes=[(3, 4), (3, 4)], domain=(0.5, 2.0),
           torch_fn=lambda a, b: a ** b),
    OpSpec("power_scalar", lambda x: x ** 3, lambda x: x ** 3, torch_fn=lambda a: a ** 3),
    OpSpec("square_scalar", lambda x: x ** 2, lambda x: x ** 2, torch_fn=lambda a: a ** 2),
    OpSpec("maximum", ops.maximum, np.maximum, shapes=[(3, 4), (3, 4)], torch_fn=
           (lambda a, b: __import__("torch").maximum(a, b))),
    OpSpec("minimum", ops.minimum, np.minimum, shapes=[(3, 4), (4,)],
           torch_fn=lambda a, b: __import__("torch").minimum(a, b)),
    OpSpec("where", lambda a, b: ops.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
           shapes=[(3, 4), (3, 4)], torch_fn=lambda a, b: __import__("torch").where(a > 0, a, b)),
    OpSpec("mod", lambda a: ops.mod(a, 0.7), lambda a: np.mod(a, 0.7), double_grad=False,
           torch_fn=lambda a: __import__("torch").remainder(a, 0.7)),
    OpSpec("cast_f32_f64", lambda a: ops.cast(a, "float64") * 2, lambda a: a * 2, keeps_dtype=False),
    OpSpec("scalar_ops", lambda a: 2.0 * a - 1.0 + a / 3.0 - 5 / a, lambda a: 2 * a - 1 + a / 3 - 5 / a,
           domain=(0.5, 2.0), torch_fn=lambda a: 2.0 * a - 1.0 + a / 3.0 - 5 / a),
]
globals().update(make_op_tests(SPECS))


def test_comparisons_give_bool_and_no_grad():
    a = kusari.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (a > 2, a >= 2, a < 2, a <= 2, a == 2, a != 2):
        assert r.dtype == "bool" and not r.requires_grad
    assert (a > 1.5).tolist() == [False, True, True]


def test_python_scalars_do_not_widen():
    a = kusari.tensor([1.0, 2.0])
    assert (a * 2).dtype == "float32"
    assert (a + 1.5).dtype == "float32"
    i = kusari.tensor([1, 2])
    assert (i * 2).dtype == "int32"
    assert (i * 0.5).dtype == "float32"
    assert (i / 2).dtype == "float32"


def test_numpy_array_on_the_left_defers_to_tensor():
    a = kusari.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * a
    assert isinstance(y, kusari.Tensor)
    y.sum().backward()
    assert a.grad.tolist() == [3.0, 4.0]


def test_promotion_int_and_float():
    r = ops.add(kusari.tensor(np.array([1, 2], dtype=np.int64)), kusari.tensor([0.5, 0.5]))
    assert r.dtype == "float32"


def test_floor_divide_and_mod_match_python():
    a = kusari.tensor([7.0, -7.0])
    assert (a // 2).tolist() == [3.0, -4.0]
    assert (a % 3).tolist() == [1.0, 2.0]
