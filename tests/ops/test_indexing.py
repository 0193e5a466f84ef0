import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.autograd.gradcheck import gradcheck, gradgradcheck
from kusari.testing.op_test import OpSpec, make_op_tests


def torch():
    return __import__("torch")


IDX = np.array([[0, 2], [2, 2]])
TAKE_ALONG = np.array([[0, 3, 3], [1, 1, 0], [2, 0, 2]])
MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])


def _scatter_update_ref(x, u):
    y = x.copy()
    y[[0, 2], [1, 3]] = u
    return y


def _clip_torch(t):
    return t.clamp(-0.5, 0.7)


SPECS = [
    OpSpec("getitem_int", lambda x: x[1], lambda x: x[1], torch_fn=lambda t: t[1]),
    OpSpec("getitem_slices", lambda x: x[::2, 1:-1], lambda x: x[::2, 1:-1], shapes=[(5, 4)],
           torch_fn=lambda t: t[::2, 1:-1]),
    OpSpec("getitem_neg_step", lambda x: x[::-2, -1], lambda x: x[::-2, -1], shapes=[(5, 4)],
           torch_fn=lambda t: t.flip(0)[::2, -1]),
    OpSpec("getitem_none_ellipsis", lambda x: x[None, ..., 0], lambda x: x[None, ..., 0], shapes=[(2, 3, 4)],
           torch_fn=lambda t: t[None, ..., 0]),
    OpSpec("getitem_list_repeats", lambda x: x[[0, 2, 0, 0]], lambda x: x[[0, 2, 0, 0]],
           torch_fn=lambda t: t[[0, 2, 0, 0]]),
    OpSpec("getitem_array_pair", lambda x: x[IDX, 1:], lambda x: x[IDX, 1:],
           torch_fn=lambda t: t[torch().tensor(IDX), 1:]),
    OpSpec("getitem_tensor_idx", lambda x: x[:, kusari.tensor([3, 0, 3])], lambda x: x[:, [3, 0, 3]],
           torch_fn=lambda t: t[:, [3, 0, 3]]),
    OpSpec("getitem_mask_array", lambda x: x[MASK], lambda x: x[MASK], torch_fn=lambda t: t[torch().tensor(MASK)]),
    OpSpec("getitem_mask_tensor", lambda x: x[x > 0], lambda x: x[x > 0], torch_fn=lambda t: t[t > 0]),
    OpSpec("getitem_mask_row", lambda x: x[np.array([True, False, True]), 1], lambda x: x[[True, False, True], 1],
           torch_fn=lambda t: t[torch().tensor([True, False, True]), 1]),
    OpSpec("take_flat", lambda x: ops.take(x, [[1, 5], [5, -1]]), lambda x: np.take(x, [[1, 5], [5, -1]]),
           torch_fn=lambda t: t.flatten()[torch().tensor([[1, 5], [5, 11]])]),
    OpSpec("take_axis", lambda x: ops.take(x, [2, 0, 2], axis=-1), lambda x: np.take(x, [2, 0, 2], -1),
           shapes=[(2, 3, 4)], torch_fn=lambda t: t.index_select(-1, torch().tensor([2, 0, 2]))),
    OpSpec("take_along_axis", lambda x: ops.take_along_axis(x, TAKE_ALONG, axis=1),
           lambda x: np.take_along_axis(x, TAKE_ALONG, 1), torch_fn=lambda t: t.gather(1, torch().tensor(TAKE_ALONG))),
    OpSpec("take_along_axis_bcast", lambda x: ops.take_along_axis(x, np.array([[1], [0], [3]]), axis=-1),
           lambda x: np.take_along_axis(x, np.array([[1], [0], [3]]), -1)),
    OpSpec("take_along_axis_none", lambda x: ops.take_along_axis(x, np.array([0, 11, 0])),
           lambda x: np.take_along_axis(x.ravel(), np.array([0, 11, 0]), 0)),
    OpSpec("slice", lambda x: ops.slice(x, (1, 0, 2), (1, 2, 2)), lambda x: x[1:2, 0:2, 2:4], shapes=[(2, 3, 4)],
           torch_fn=lambda t: t[1:2, 0:2, 2:4]),
    OpSpec("slice_update", lambda x, u: ops.slice_update(x, (1, 2), u),
           lambda x, u: _slice_update_ref(x, u), shapes=[(3, 4), (2, 2)],
           torch_fn=lambda t, u: torch().cat([t[:1], torch().cat([t[1:3, :2], u], 1)], 0)),
    OpSpec("scatter_update", lambda x, u: ops.scatter_update(x, [[0, 1], [2, 3]], u), _scatter_update_ref,
           shapes=[(3, 4), (2,)], torch_fn=lambda t, u: t.index_put((torch().tensor([0, 2]),
                                                                     torch().tensor([1, 3])), u)),
    OpSpec("scatter", lambda v: ops.scatter([[0, 1], [2, 0], [0, 1]], v, (3, 2)),
           lambda v: _scatter_ref(v), shapes=[(3,)],
           torch_fn=lambda v: torch().zeros(3, 2, dtype=v.dtype).index_put(
               (torch().tensor([0, 2, 0]), torch().tensor([1, 0, 1])), v, accumulate=True)),
    OpSpec("scatter_rows", lambda v: ops.scatter([[1], [0]], v, (3, 4)), lambda v: _scatter_rows_ref(v),
           shapes=[(2, 4)]),
    OpSpec("clip", lambda x: ops.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), torch_fn=_clip_torch),
    OpSpec("clip_tensor_bounds", lambda x, lo: ops.clip(x, lo, 1.0), lambda x, lo: np.clip(x, lo, 1.0),
           shapes=[(3, 4), (4,)], torch_fn=lambda t, lo: torch().clamp(t, lo, torch().tensor(1.0, dtype=t.dtype))),
]


def _slice_update_ref(x, u):
    y = x.copy()
    y[1:3, 2:4] = u
    return y


def _scatter_ref(v):
    out = np.zeros((3, 2), v.dtype)
    np.add.at(out, ([0, 2, 0], [1, 0, 1]), v)
    return out


def _scatter_rows_ref(v):
    out = np.zeros((3, 4), v.dtype)
    out[[1, 0]] = v
    return out


globals().update(make_op_tests(SPECS))


def test_basic_index_is_a_view_sharing_version():
    x = kusari.tensor(np.arange(6.0).reshape(2, 3))
    v = x[0, 1:]
    before = v._version
    x[1, 1] = 7.0
    assert v._version == before + 1
    adv = x[[0, 1]]
    assert adv._vc is None or adv._vc is not x._vc


def test_repeated_indices_accumulate():
    x = kusari.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    y = kusari.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ops.take(y, [[2, 2], [2, 1]]).sum().backward()
    assert y.grad.tolist() == [0.0, 1.0, 3.0]


def test_double_grad_through_gather_and_scatter():
    x = kusari.tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    assert gradgradcheck(lambda t: t[[0, 0, 2]] ** 2, [x])
    assert gradgradcheck(lambda t: ops.take(t, [1, 1, 3], axis=1) ** 2, [x])
    assert gradgradcheck(lambda t: t[t > 0] ** 3, [x])


def test_clip_gradient_inside_and_at_edges():
    x = kusari.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    ops.clip(x, -1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert ops.clip(kusari.tensor([1, 5, 9]), 2, 6).tolist() == [2, 5, 6]
    assert ops.clip(kusari.tensor([1, 5]), 0.5, 2.5).dtype == "float32"
    assert ops.clip(kusari.tensor([1.0, 5.0]), None, 2.0).tolist() == [1.0, 2.0]


def test_slice_minus_one_and_iteration():
    x = kusari.tensor(np.arange(12.0).reshape(3, 4))
    assert ops.slice(x, (1, 1), (-1, 2)).shape == (2, 2)
    assert [r.tolist() for r in x][1] == [4.0, 5.0, 6.0, 7.0]
    assert x[kusari.tensor(2)].tolist() == [8.0, 9.0, 10.0, 11.0]
    assert x[1, 2].shape == () and x[1, 2].item() == 6.0


def test_errors():
    x = kusari.tensor(np.zeros((3, 4), np.float32))
    with pytest.raises(IndexError, match="does not fit a tensor of shape"):
        x[5]
    with pytest.raises(IndexError, match="does not fit a tensor of shape"):
        x[[0, 9]]
    with pytest.raises(TypeError, match="indices must be integers or booleans"):
        x[kusari.tensor([0.5])]
    with pytest.raises(TypeError, match="cannot index with a"):
        x["a"]
    with pytest.raises(TypeError, match="Python bool"):
        x[True]
    with pytest.raises(IndexError, match="take: index out of range"):
        ops.take(x, [0, 4], axis=1)
    with pytest.raises(TypeError, match="take: indices must be integers"):
        ops.take(x, [True, False, True], axis=0)
    with pytest.raises(ValueError, match="take_along_axis: indices of shape"):
        ops.take_along_axis(x, np.zeros((3,), np.int64), axis=0)
    with pytest.raises(ValueError, match="do not broadcast"):
        ops.take_along_axis(x, np.zeros((2, 2), np.int64), axis=0)
    with pytest.raises(ValueError, match="slice: the block"):
        ops.slice(x, (2, 0), (2, 2))
    with pytest.raises(ValueError, match="slice: need 2 start"):
        ops.slice(x, (0,), (1,))
    with pytest.raises(ValueError, match="slice_update: the block"):
        ops.slice_update(x, (2, 3), np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="slice_update: updates of shape"):
        ops.slice_update(x, (0, 0), np.ones((2,), np.float32))
    with pytest.raises(ValueError, match="scatter_update: updates of shape"):
        ops.scatter_update(x, [[0, 1]], np.ones((2,), np.float32))
    with pytest.raises(ValueError, match="scatter: indices need shape"):
        ops.scatter([0, 1], kusari.tensor([1.0, 2.0]), (3,))
    with pytest.raises(IndexError, match="scatter: index out of range"):
        ops.scatter([[3]], kusari.tensor([1.0]), (3,))
    with pytest.raises(ValueError, match="scatter: values of shape"):
        ops.scatter([[0], [1]], kusari.tensor([1.0]), (3,))
    with pytest.raises(ValueError, match="clip: give x_min"):
        ops.clip(x, None, None)
    with pytest.raises(ValueError, match="clip: x_min=2"):
        ops.clip(x, 2, 1)
