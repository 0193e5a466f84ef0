import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests

SPECS = [
    OpSpec("tril", ops.tril, np.tril, shapes=[(4, 3)], torch_fn=lambda x: x.tril()),
    OpSpec("triu_k1", lambda x: ops.triu(x, k=1), lambda x: np.triu(x, 1), shapes=[(2, 3, 3)],
           torch_fn=lambda x: x.triu(1)),
    OpSpec("tril_k_neg", lambda x: ops.tril(x, -1) * x, lambda x: np.tril(x, -1) * x, shapes=[(3, 3)]),
    OpSpec("stop_gradient", lambda x: ops.stop_gradient(x) * x, lambda x: x * x,
           grad=False, torch_fn=lambda x: x.detach() * x),   # finite differences see 2x; autograd x
]
globals().update(make_op_tests(SPECS))


def test_filled_tensors_and_default_dtypes():
    assert ops.zeros((2, 3)).dtype == "float32" and ops.zeros(3).shape == (3,)
    assert ops.ones((2,), dtype="int32").tolist() == [1, 1]
    assert ops.full((2,), 7).dtype == "float32" and ops.full((2,), 7, "int32").tolist() == [7, 7]
    x = kusari.tensor([[1, 2]])
    assert ops.zeros_like(x).dtype == "int32" and ops.ones_like(x, dtype="float64").dtype == "float64"
    assert ops.full_like(kusari.tensor([1.0, 2.0]), 3.5).tolist() == [3.5, 3.5]


def test_arange_linspace():
    assert ops.arange(4).tolist() == [0, 1, 2, 3] and ops.arange(4).dtype == "int32"
    assert ops.arange(1, 7, 2).tolist() == [1, 3, 5]
    a = ops.arange(0.0, 1.0, 0.25)
    assert a.dtype == "float32" and a.tolist() == [0.0, 0.25, 0.5, 0.75]
    np.testing.assert_allclose(ops.linspace(-1, 2, 7).numpy(), np.linspace(-1, 2, 7), rtol=1e-6)
    np.testing.assert_allclose(ops.linspace(0, 1, 4, endpoint=False).numpy(), [0, 0.25, 0.5, 0.75])
    assert ops.linspace(0, 3, 50).numpy()[-1] == 3.0
    v, step = ops.linspace(0, 1, 5, retstep=True)
    assert step == 0.25 and v.dtype == "float32"
    with pytest.raises(ValueError, match="step"):
        ops.arange(0, 3, 0)


def test_eye_identity_tri():
    np.testing.assert_array_equal(ops.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(ops.eye(2, 4, k=1).numpy(), np.eye(2, 4, k=1))
    np.testing.assert_array_equal(ops.eye(3, k=-1).numpy(), np.eye(3, k=-1))
    assert ops.identity(2, dtype="int32").tolist() == [[1, 0], [0, 1]]
    np.testing.assert_array_equal(ops.tri(3, 4, k=1).numpy(), np.tri(3, 4, k=1))
    with pytest.raises(ValueError, match="2 dimensions"):
        ops.tril(kusari.tensor([1.0, 2.0]))


def test_conversion_and_facts():
    t = ops.convert_to_tensor([1, 2, 3])
    assert isinstance(t, kusari.Tensor) and t.dtype == "int32"
    assert ops.convert_to_tensor(t) is t
    assert ops.convert_to_tensor(t, "float32").dtype == "float32"
    a = ops.convert_to_numpy(t)
    assert isinstance(a, np.ndarray) and a.tolist() == [1, 2, 3]
    x = ops.zeros((2, 3, 4))
    assert ops.shape(x) == (2, 3, 4) and ops.ndim(x) == 3 and ops.size(x) == 24
    assert ops.shape([[1, 2]]) == (1, 2)


def test_stop_gradient_cuts_graph():
    x = kusari.tensor([1.0, 2.0], requires_grad=True)
    y = ops.stop_gradient(x * 3)
    assert not y.requires_grad and y.creator is None and y.tolist() == [3.0, 6.0]
