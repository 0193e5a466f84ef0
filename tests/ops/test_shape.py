import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.autograd.gradcheck import gradcheck, gradgradcheck
from kusari.testing.op_test import OpSpec, make_op_tests


def torch():
    return __import__("torch")


def _torch_pad(t, pairs, mode):
    import torch.nn.functional as F
    flat = [p for pair in reversed(pairs) for p in pair]
    return F.pad(t[None, None], flat, mode=mode)[0, 0]


SPECS = [
    OpSpec("reshape", lambda x: ops.reshape(x, (4, -1)), lambda x: x.reshape(4, -1),
           torch_fn=lambda t: t.reshape(4, -1)),
    OpSpec("transpose", lambda x: ops.transpose(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.permute(2, 0, 1)),
    OpSpec("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1),
           shapes=[(2, 3), (2, 2)], torch_fn=lambda a, b: torch().cat([a, b], 1)),
    OpSpec("concatenate_neg", lambda a, b, c: ops.concatenate([a, b, c], axis=-1),
           lambda a, b, c: np.concatenate([a, b, c], -1), shapes=[(2, 1), (2, 2), (2, 3)],
           torch_fn=lambda a, b, c: torch().cat([a, b, c], -1)),
    OpSpec("stack", lambda a, b: ops.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1),
           shapes=[(2, 3), (2, 3)], torch_fn=lambda a, b: torch().stack([a, b], 1)),
    OpSpec("stack_neg", lambda a, b: ops.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], -1),
           shapes=[(2, 3), (2, 3)], torch_fn=lambda a, b: torch().stack([a, b], -1)),
    OpSpec("split_sections", lambda x: tuple(ops.split(x, 2, axis=1)), lambda x: tuple(np.split(x, 2, 1)),
           shapes=[(3, 4)], torch_fn=lambda t: t.split(2, 1)),
    OpSpec("split_indices", lambda x: tuple(ops.split(x, [1, 3], axis=-1)), lambda x: tuple(np.split(x, [1, 3], -1)),
           shapes=[(2, 5)], torch_fn=lambda t: t.split([1, 2, 2], -1)),
    OpSpec("unstack", lambda x: tuple(ops.unstack(x, axis=1)), lambda x: tuple(np.moveaxis(x, 1, 0)),
           shapes=[(2, 3)], torch_fn=lambda t: t.unbind(1)),
    OpSpec("pad_constant", lambda x: ops.pad(x, ((1, 0), (2, 3)), constant_values=1.5),
           lambda x: np.pad(x, ((1, 0), (2, 3)), constant_values=1.5),
           torch_fn=lambda t: torch().nn.functional.pad(t, (2, 3, 1, 0), value=1.5)),
    OpSpec("pad_reflect", lambda x: ops.pad(x, ((1, 2), (3, 1)), mode="reflect"),
           lambda x: np.pad(x, ((1, 2), (3, 1)), mode="reflect"),
           torch_fn=lambda t: _torch_pad(t, ((1, 2), (3, 1)), "reflect")),
    OpSpec("pad_symmetric", lambda x: ops.pad(x, ((2, 1), (0, 4)), mode="symmetric"),
           lambda x: np.pad(x, ((2, 1), (0, 4)), mode="symmetric")),
    OpSpec("pad_edge", lambda x: ops.pad(x, 2, mode="edge"), lambda x: np.pad(x, 2, mode="edge"),
           torch_fn=lambda t: _torch_pad(t, ((2, 2), (2, 2)), "replicate")),
    OpSpec("pad_wrap", lambda x: ops.pad(x, (1, 2), mode="wrap"), lambda x: np.pad(x, (1, 2), mode="wrap"),
           torch_fn=lambda t: _torch_pad(t, ((1, 2), (1, 2)), "circular")),
    OpSpec("tile", lambda x: ops.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), shapes=[(2, 3)],
           torch_fn=lambda t: t.tile((2, 1, 3))),
    OpSpec("repeat_int", lambda x: ops.repeat(x, 2, axis=0), lambda x: np.repeat(x, 2, 0),
           torch_fn=lambda t: t.repeat_interleave(2, 0)),
    OpSpec("repeat_flat", lambda x: ops.repeat(x, 3), lambda x: np.repeat(x, 3),
           torch_fn=lambda t: t.flatten().repeat_interleave(3)),
    OpSpec("repeat_list", lambda x: ops.repeat(x, [2, 0, 1, 3], axis=-1), lambda x: np.repeat(x, [2, 0, 1, 3], -1),
           torch_fn=lambda t: t.repeat_interleave(torch().tensor([2, 0, 1, 3]), -1)),
    OpSpec("flip", lambda x: ops.flip(x, axis=(0, -1)), lambda x: np.flip(x, (0, -1)), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.flip((0, -1))),
    OpSpec("flip_all", lambda x: ops.flip(x), lambda x: np.flip(x), torch_fn=lambda t: t.flip((0, 1))),
    OpSpec("roll", lambda x: ops.roll(x, (1, -2), axis=(0, 1)), lambda x: np.roll(x, (1, -2), (0, 1)),
           torch_fn=lambda t: t.roll((1, -2), (0, 1))),
    OpSpec("roll_flat", lambda x: ops.roll(x, 5), lambda x: np.roll(x, 5), torch_fn=lambda t: t.roll(5)),
    OpSpec("moveaxis", lambda x: ops.moveaxis(x, (0, 1), (-1, 0)), lambda x: np.moveaxis(x, (0, 1), (-1, 0)),
           shapes=[(2, 3, 4)], torch_fn=lambda t: t.movedim((0, 1), (-1, 0))),
    OpSpec("swapaxes", lambda x: ops.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), shapes=[(2, 3, 4)],
           torch_fn=lambda t: t.swapaxes(0, -1)),
    OpSpec("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4)),
           shapes=[(3, 1)], torch_fn=lambda t: t.broadcast_to((2, 3, 4))),
    OpSpec("hstack", lambda a, b: ops.hstack([a, b]), lambda a, b: np.hstack([a, b]), shapes=[(2, 3), (2, 1)]),
    OpSpec("vstack", lambda a, b: ops.vstack([a, b]), lambda a, b: np.vstack([a, b]), shapes=[(3,), (2, 3)]),
]
globals().update(make_op_tests(SPECS))


def test_views_share_version_counter():
    x = kusari.tensor(np.arange(6.0).reshape(2, 3))
    for view in (ops.flip(x, 0), ops.split(x, 3, axis=1)[0], ops.swapaxes(x, 0, 1), ops.reshape(x, (3, 2))):
        before = view._version
        x.assign(x.numpy() + 1)
        assert view._version == before + 1


def test_inplace_change_after_use_is_caught():
    w = kusari.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = w * 1.0
    parts = ops.split(x, 3)
    y = (parts[0] * parts[1]).sum()
    with kusari.no_grad():
        x[0] = 5.0
    with pytest.raises(RuntimeError):
        y.backward()


def test_split_gradient_only_for_used_piece():
    x = kusari.tensor(np.arange(6.0), requires_grad=True)
    a, b = ops.split(x, 2)
    (b * 2).sum().backward()
    assert x.grad.tolist() == [0, 0, 0, 2, 2, 2]


def test_pad_forms_and_large_reflect():
    x = kusari.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", requires_grad=True)
    assert ops.pad(x, 1).shape == (4, 4)
    assert ops.pad(x, [[1, 2]]).shape == (5, 5)
    assert ops.pad(x, (0, 1)).shape == (3, 3)
    np.testing.assert_array_equal(ops.pad(x, 3, mode="reflect").numpy(), np.pad(x.numpy(), 3, mode="reflect"))
    assert gradcheck(lambda t: ops.pad(t, 3, mode="symmetric"), [x])
    assert gradgradcheck(lambda t: ops.pad(t, 3, mode="reflect") ** 2, [x])


def test_stack_unstack_roundtrip_and_num():
    x = kusari.tensor(np.arange(6.0).reshape(2, 3))
    parts = ops.unstack(x, num=2)
    np.testing.assert_array_equal(ops.stack(parts).numpy(), x.numpy())
    assert ops.concatenate([kusari.tensor([1, 2]), kusari.tensor([0.5])]).dtype == "float32"


def test_tensor_methods():
    x = kusari.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.flip(0).tolist() == [[3.0, 4.0], [1.0, 2.0]]
    assert x.swapaxes(0, 1).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert x.tile(2).shape == (2, 4)
    assert x.repeat(2, axis=1).shape == (2, 4)
    assert x.moveaxis(0, 1).shape == (2, 2)


def test_errors():
    x = kusari.tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="concatenate: shapes"):
        ops.concatenate([x, kusari.tensor(np.zeros((3, 3), np.float32))], axis=1)
    with pytest.raises(ValueError, match="concatenate: expected"):
        ops.concatenate([])
    with pytest.raises(ValueError, match="concatenate: axis 2"):
        ops.concatenate([x, x], axis=2)
    with pytest.raises(ValueError, match="stack: all tensors"):
        ops.stack([x, kusari.tensor([1.0])])
    with pytest.raises(ValueError, match="split: axis 1 of length 3"):
        ops.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="unstack: num=3"):
        ops.unstack(x, num=3)
    with pytest.raises(ValueError, match="pad: unknown mode"):
        ops.pad(x, 1, mode="mirror")
    with pytest.raises(ValueError, match="pad: pad_width has 3 pairs"):
        ops.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="pad: pad widths must be >= 0"):
        ops.pad(x, -1)
    with pytest.raises(ValueError, match="constant_values is only"):
        ops.pad(x, 1, mode="reflect", constant_values=2)
    with pytest.raises(ValueError, match="cannot pad an axis of length 1"):
        ops.pad(kusari.tensor([[1.0]]), 1, mode="reflect")
    with pytest.raises(ValueError, match="tile: repeats"):
        ops.tile(x, -1)
    with pytest.raises(ValueError, match="repeat: need 2"):
        ops.repeat(x, [1, 2, 3], axis=0)
    with pytest.raises(ValueError, match="repeat: repeats must be >= 0"):
        ops.repeat(x, -2)
    with pytest.raises(ValueError, match="flip: axis 5"):
        ops.flip(x, 5)
    with pytest.raises(ValueError, match="moveaxis: source"):
        ops.moveaxis(x, (0, 1), 0)
    with pytest.raises(ValueError, match="swapaxes: axis 2"):
        ops.swapaxes(x, 0, 2)
    with pytest.raises(ValueError, match="roll: 3 shifts"):
        ops.roll(x, (1, 2, 3), axis=(0, 1))
