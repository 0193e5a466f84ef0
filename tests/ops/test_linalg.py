import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests


def torch():
    return __import__("torch")


def es(sub, *shapes, torch_ok=True):
    return OpSpec(f"einsum[{sub}]", lambda *xs: ops.einsum(sub, *xs), lambda *xs: np.einsum(sub, *xs),
                  shapes=list(shapes), torch_fn=(lambda *ts: torch().einsum(sub, *ts)) if torch_ok else None)


SPECS = [
    OpSpec("matmul", ops.matmul, np.matmul, shapes=[(3, 4), (4, 2)], torch_fn=lambda a, b: a @ b),
    OpSpec("matmul_batch_bcast", ops.matmul, np.matmul, shapes=[(2, 1, 3, 4), (3, 4, 2)],
           torch_fn=lambda a, b: a @ b),
    OpSpec("matmul_vec_mat", ops.matmul, np.matmul, shapes=[(4,), (2, 4, 3)], torch_fn=lambda a, b: a @ b),
    OpSpec("matmul_mat_vec", ops.matmul, np.matmul, shapes=[(2, 3, 4), (4,)], torch_fn=lambda a, b: a @ b),
    OpSpec("matmul_vec_vec", ops.matmul, np.matmul, shapes=[(4,), (4,)], torch_fn=lambda a, b: a @ b),
    OpSpec("dot_vec", ops.dot, np.dot, shapes=[(4,), (4,)], torch_fn=lambda a, b: a.dot(b)),
    OpSpec("dot_mat", ops.dot, np.dot, shapes=[(3, 4), (4, 2)], torch_fn=lambda a, b: a @ b),
    OpSpec("dot_nd", ops.dot, np.dot, shapes=[(2, 3, 4), (5, 4, 2)],
           torch_fn=lambda a, b: torch().tensordot(a, b, ([2], [1]))),
    OpSpec("dot_nd_vec", ops.dot, np.dot, shapes=[(2, 3, 4), (4,)]),
    OpSpec("dot_scalar", ops.dot, np.dot, shapes=[(), (3, 2)], torch_fn=lambda a, b: a * b),
    OpSpec("tensordot_2", ops.tensordot, lambda a, b: np.tensordot(a, b, 2), shapes=[(2, 3, 4), (3, 4, 5)],
           torch_fn=lambda a, b: torch().tensordot(a, b, 2)),
    OpSpec("tensordot_lists", lambda a, b: ops.tensordot(a, b, ([0, 2], [2, 0])),
           lambda a, b: np.tensordot(a, b, ([0, 2], [2, 0])), shapes=[(2, 3, 4), (4, 5, 2)],
           torch_fn=lambda a, b: torch().tensordot(a, b, ([0, 2], [2, 0]))),
    OpSpec("tensordot_0", lambda a, b: ops.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0),
           shapes=[(2,), (3,)], torch_fn=lambda a, b: torch().tensordot(a, b, 0)),
    OpSpec("outer", ops.outer, np.outer, shapes=[(3,), (2, 2)], torch_fn=lambda a, b: torch().outer(a, b.flatten())),
    OpSpec("inner", ops.inner, np.inner, shapes=[(2, 4), (3, 4)], torch_fn=lambda a, b: torch().inner(a, b)),
    es("ij,jk->ik", (3, 4), (4, 2)),
    es("ij,jk", (3, 4), (4, 2)),
    es("bij,bjk->bik", (2, 3, 4), (2, 4, 2)),
    es("i,i->", (4,), (4,)),
    es("ij->", (3, 4)),
    es("ij->ji", (3, 4)),
    es("ii->i", (3, 3)),
    es("ii", (3, 3)),
    es("iij->j", (3, 3, 2)),
    es("ij,k->ijk", (2, 3), (4,)),
    es("ijk->k", (2, 3, 4)),
    es("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    es("ik,jk->", (2, 3), (4, 3)),
    es("...ij,...jk->...ik", (2, 3, 4), (2, 4, 2)),
    es("...ij,jk->...ik", (2, 2, 3, 4), (4, 2)),
    es("...ij,...jk->...ik", (2, 1, 3, 4), (3, 4, 2)),
    es("i...j,j->i...", (2, 3, 4), (4,)),
    es("i...j,j...->i...", (2, 3, 4), (4, 3)),
    es("...i,...i", (3, 4), (4,)),
    OpSpec("diagonal", lambda x: ops.diagonal(x), np.diagonal, shapes=[(3, 4)],
           torch_fn=lambda t: torch().diagonal(t)),
    OpSpec("diagonal_offset_axes", lambda x: ops.diagonal(x, 1, 2, 0), lambda x: np.diagonal(x, 1, 2, 0),
           shapes=[(3, 2, 4)], torch_fn=lambda t: torch().diagonal(t, 1, 2, 0)),
    OpSpec("diagonal_neg_offset", lambda x: ops.diagonal(x, -1), lambda x: np.diagonal(x, -1), shapes=[(3, 4)],
           torch_fn=lambda t: torch().diagonal(t, -1)),
    OpSpec("trace", lambda x: ops.trace(x), np.trace, shapes=[(3, 4)], torch_fn=lambda t: torch().trace(t)),
    OpSpec("trace_batch", lambda x: ops.trace(x, 0, 1, 2), lambda x: np.trace(x, 0, 1, 2), shapes=[(2, 3, 3)]),
    OpSpec("norm_flat", lambda x: ops.norm(x), lambda x: np.linalg.norm(x.ravel()), shapes=[(2, 3, 4)],
           torch_fn=lambda t: torch().linalg.norm(t.flatten())),
    OpSpec("norm_vec_axis", lambda x: ops.norm(x, axis=-1, keepdims=True),
           lambda x: np.linalg.norm(x, axis=-1, keepdims=True),
           torch_fn=lambda t: torch().linalg.vector_norm(t, dim=-1, keepdim=True)),
    OpSpec("norm_vec_1", lambda x: ops.norm(x, 1, axis=0), lambda x: np.linalg.norm(x, 1, axis=0),
           torch_fn=lambda t: torch().linalg.vector_norm(t, 1, dim=0)),
    OpSpec("norm_vec_inf", lambda x: ops.norm(x, np.inf, axis=1), lambda x: np.linalg.norm(x, np.inf, axis=1),
           torch_fn=lambda t: torch().linalg.vector_norm(t, float("inf"), dim=1)),
    OpSpec("norm_vec_3", lambda x: ops.norm(x, 3, axis=1), lambda x: np.linalg.norm(x, 3, axis=1),
           torch_fn=lambda t: torch().linalg.vector_norm(t, 3, dim=1)),
    OpSpec("norm_fro", lambda x: ops.norm(x, "fro"), lambda x: np.linalg.norm(x, "fro"),
           torch_fn=lambda t: torch().linalg.matrix_norm(t, "fro")),
    OpSpec("norm_mat_1", lambda x: ops.norm(x, 1, axis=(1, 2)), lambda x: np.linalg.norm(x, 1, axis=(1, 2)),
           shapes=[(2, 3, 4)], torch_fn=lambda t: torch().linalg.matrix_norm(t, 1)),
    OpSpec("norm_mat_inf_keep", lambda x: ops.norm(x, np.inf, axis=(0, 1), keepdims=True),
           lambda x: np.linalg.norm(x, np.inf, axis=(0, 1), keepdims=True)),
    OpSpec("norm_mat_neg1", lambda x: ops.norm(x, -1), lambda x: np.linalg.norm(x, -1)),
]
globals().update(make_op_tests(SPECS))


def test_vector_norm_0_and_methods():
    x = kusari.tensor([[0.0, 2.0], [3.0, 0.0]])
    assert ops.norm(x, 0, axis=1).tolist() == [1.0, 1.0]
    assert x.norm().item() == pytest.approx(np.sqrt(13.0))
    assert x.dot(x).shape == (2, 2)
    assert x.trace().item() == 0.0 and x.diagonal().tolist() == [0.0, 0.0]
    assert ops.norm(kusari.tensor([1, 2])).dtype == "float32"


def test_einsum_int_and_promotion():
    r = ops.einsum("i,i->", kusari.tensor([1, 2]), kusari.tensor([0.5, 0.5]))
    assert r.dtype == "float32" and r.item() == 1.5


def test_errors():
    a = kusari.tensor(np.ones((2, 3), np.float32))
    b = kusari.tensor(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="matmul: shapes"):
        ops.matmul(a, b)
    with pytest.raises(ValueError, match="matmul: operands must have"):
        ops.matmul(kusari.tensor(1.0), a)
    with pytest.raises(ValueError, match="dot: shapes"):
        ops.dot(a, b)
    with pytest.raises(ValueError, match="tensordot: axes=3"):
        ops.tensordot(a, b, 3)
    with pytest.raises(ValueError, match="tensordot: 2 axes of x1 but 1"):
        ops.tensordot(a, b, ([0, 1], [0]))
    with pytest.raises(ValueError, match="tensordot: axes must be"):
        ops.tensordot(a, b, "x")
    with pytest.raises(ValueError, match="inner: shapes"):
        ops.inner(a, b)
    with pytest.raises(ValueError, match="einsum: 'ij,jk' names 2 operands but 1"):
        ops.einsum("ij,jk", a)
    with pytest.raises(ValueError, match="do not match an operand"):
        ops.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="index 'j' has sizes 3 and 4"):
        ops.einsum("ij,jk->ik", a, kusari.tensor(np.ones((4, 2), np.float32)))
    with pytest.raises(ValueError, match="bad output subscripts"):
        ops.einsum("ij->iz", a)
    with pytest.raises(ValueError, match="bad subscripts"):
        ops.einsum("i1->i", a)
    with pytest.raises(ValueError, match="has '...' but no operand"):
        ops.einsum("ij->...", a)
    with pytest.raises(TypeError, match="subscripts must be a string"):
        ops.einsum(1, a)
    with pytest.raises(ValueError, match="diagonal: needs at least 2"):
        ops.diagonal(kusari.tensor([1.0]))
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2"):
        ops.diagonal(a, 0, 1, 1)
    with pytest.raises(ValueError, match="norm: matrix ord='nuc'"):
        ops.norm(a, "nuc")
    with pytest.raises(ValueError, match="norm: ord='fro' is a matrix norm"):
        ops.norm(a, "fro", axis=0)
    with pytest.raises(ValueError, match="norm: axis must be"):
        ops.norm(kusari.tensor(np.ones((2, 2, 2), np.float32)), axis=(0, 1, 2))
    with pytest.raises(ValueError, match="norm: ord=3 with axis=None"):
        ops.norm(kusari.tensor(np.ones((2, 2, 2), np.float32)), 3)
