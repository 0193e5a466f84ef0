import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test

RNG = np.random.default_rng(0)


def _vs_torch(layer, xs, torch_fn, atol=1e-5):
    """Output and gradients of every input of ``layer(xs)`` against ``torch_fn(*xs)``."""
    ks = [kusari.tensor(x, requires_grad=True) for x in xs]
    y = layer(ks)
    r = np.random.default_rng(1).standard_normal(y.shape).astype("float32")
    gk = kusari.grad((y * kusari.tensor(r)).sum(), ks)
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    yt = torch_fn(*ts)
    (yt * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), atol=atol, rtol=1e-5)
    for g, t in zip(gk, ts):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), atol=atol, rtol=1e-5)


def _xs(*shapes):
    return [RNG.standard_normal(s).astype("float32") for s in shapes]


ELEMENTWISE = [
    (layers.Add, lambda *t: sum(t[1:], t[0])),
    (layers.Subtract, lambda a, b: a - b),
    (layers.Multiply, lambda *t: t[0] * t[1] * t[2] if len(t) == 3 else t[0] * t[1]),
    (layers.Average, lambda *t: sum(t[1:], t[0]) / len(t)),
    (layers.Maximum, lambda *t: torch.stack(torch.broadcast_tensors(*t)).max(0).values),
    (layers.Minimum, lambda *t: torch.stack(torch.broadcast_tensors(*t)).min(0).values),
]


@pytest.mark.parametrize("cls,torch_fn", ELEMENTWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_layer_test_and_torch(cls, torch_fn):
    n = 2 if cls is layers.Subtract else 3
    shapes = [(2, 3, 4)] * n
    run_layer_test(cls, {}, input_data=_xs(*shapes), expected_output_shape=(2, 3, 4))
    _vs_torch(cls(), _xs(*shapes), torch_fn)
    # broadcasting a size-1 axis
    _vs_torch(cls(), _xs((2, 3, 4), (2, 1, 4)), torch_fn)


def test_lower_rank_input_is_expanded_at_axis_1():
    a, b = _xs((2, 3, 4), (2, 4))
    y = layers.Add()([kusari.tensor(a), kusari.tensor(b)])
    np.testing.assert_allclose(y.numpy(), a + b[:, None, :], rtol=1e-6)


def test_functional_forms():
    a, b = _xs((2, 3), (2, 3))
    ka, kb = kusari.tensor(a), kusari.tensor(b)
    np.testing.assert_allclose(layers.add([ka, kb]).numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.subtract([ka, kb]).numpy(), a - b, rtol=1e-6)
    np.testing.assert_allclose(layers.multiply([ka, kb]).numpy(), a * b, rtol=1e-6)
    np.testing.assert_allclose(layers.average([ka, kb]).numpy(), (a + b) / 2, rtol=1e-6)
    np.testing.assert_allclose(layers.maximum([ka, kb]).numpy(), np.maximum(a, b), rtol=1e-6)
    np.testing.assert_allclose(layers.minimum([ka, kb]).numpy(), np.minimum(a, b), rtol=1e-6)
    np.testing.assert_allclose(layers.concatenate([ka, kb], axis=0).numpy(), np.concatenate([a, b], 0))
    np.testing.assert_allclose(layers.dot([ka, kb], axes=1).numpy(), (a * b).sum(1, keepdims=True), rtol=1e-5)


def test_functional_model_symbolic():
    i1, i2 = kusari.Input(shape=(3,)), kusari.Input(shape=(4,))
    assert layers.concatenate([i1, i2]).shape == (None, 7)
    assert layers.add([i1, i1]).shape == (None, 3)
    assert layers.dot([i1, i1], axes=-1).shape == (None, 1)


def test_elementwise_errors_name_layer_and_shapes():
    a, b = kusari.ops.ones((2, 3, 4)), kusari.ops.ones((2, 3, 5))
    with pytest.raises(ValueError, match=r"my_add.*incompatible shapes \(2, 3, 4\), \(2, 3, 5\)"):
        layers.Add(name="my_add")([a, b])
    with pytest.raises(ValueError, match=r"list of tensors.*\(2, 3, 4\)"):
        layers.Add()(a)
    with pytest.raises(ValueError, match=r"exactly 2 inputs, got 3"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"different batch sizes"):
        layers.Multiply()([a, kusari.ops.ones((3, 3, 4))])


def test_concatenate():
    run_layer_test(layers.Concatenate, {}, input_data=_xs((2, 3, 4), (2, 3, 2)), expected_output_shape=(2, 3, 6))
    run_layer_test(layers.Concatenate, {"axis": 1}, input_data=_xs((2, 3, 4), (2, 1, 4), (2, 2, 4)),
                   expected_output_shape=(2, 6, 4))
    _vs_torch(layers.Concatenate(axis=1), _xs((2, 3, 4), (2, 1, 4)), lambda a, b: torch.cat([a, b], 1))
    assert layers.Concatenate(axis=1).compute_output_shape([(None, 3, 4), (None, 2, 4)]) == (None, 5, 4)


def test_concatenate_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"cat_x \(Concatenate\).*\(2, 3, 4\), \(2, 2, 5\)"):
        layers.Concatenate(name="cat_x")([kusari.ops.ones((2, 3, 4)), kusari.ops.ones((2, 2, 5))])
    with pytest.raises(ValueError, match=r"\(2, 3, 4\), \(2, 3\)"):
        layers.Concatenate()([kusari.ops.ones((2, 3, 4)), kusari.ops.ones((2, 3))])


def test_masks_combined():
    a, b = kusari.ops.ones((2, 3, 4)), kusari.ops.ones((2, 3, 4))
    a._keras_mask = kusari.tensor([[True, True, False], [True, False, False]])
    b._keras_mask = kusari.tensor([[True, False, True], [True, True, False]])
    y = layers.Add()([a, b])
    assert y._keras_mask.tolist() == [[True, False, False], [True, False, False]]
    c = kusari.ops.ones((2, 3, 2))
    y = layers.Concatenate()([a, c])
    assert y._keras_mask.tolist() == [[True, True, True], [True, True, True]]
    assert getattr(layers.Add()([kusari.ops.ones((2, 3)), kusari.ops.ones((2, 3))]), "_keras_mask", None) is None


@pytest.mark.parametrize("axes,shapes,out,eq", [
    (1, [(2, 4), (2, 4)], (2, 1), "bi,bi->b"),
    (-1, [(2, 3, 4), (2, 5, 4)], (2, 3, 5), "bik,bjk->bij"),
    ((1, 2), [(2, 3, 5), (2, 4, 3)], (2, 5, 4), "bki,bjk->bij"),
    ((2, 1), [(2, 3, 4), (2, 4, 5)], (2, 3, 5), "bik,bkj->bij"),
])
def test_dot(axes, shapes, out, eq):
    run_layer_test(layers.Dot, {"axes": axes}, input_data=_xs(*shapes), expected_output_shape=out)

    def ref(a, b):
        y = torch.einsum(eq, a, b)
        return y[:, None] if y.ndim == 1 else y
    _vs_torch(layers.Dot(axes), _xs(*shapes), ref)
    assert layers.Dot(axes).compute_output_shape([(None,) + s[1:] for s in shapes]) == (None,) + out[1:]


def test_dot_normalize_is_cosine_similarity():
    run_layer_test(layers.Dot, {"axes": 1, "normalize": True}, input_data=_xs((2, 4), (2, 4)),
                   expected_output_shape=(2, 1))
    _vs_torch(layers.Dot(1, normalize=True), _xs((3, 4), (3, 4)),
              lambda a, b: TF.cosine_similarity(a, b, dim=1)[:, None])


def test_dot_errors():
    with pytest.raises(ValueError, match=r"my_dot.*axis 1 of \(2, 3\) has size 3 but axis 1 of \(2, 4\) has size 4"):
        layers.Dot(1, name="my_dot")([kusari.ops.ones((2, 3)), kusari.ops.ones((2, 4))])
    with pytest.raises(ValueError, match="batch axis 0"):
        layers.Dot(0)([kusari.ops.ones((2, 3)), kusari.ops.ones((2, 3))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Dot(1)([kusari.ops.ones((2, 3))] * 3)
    with pytest.raises(ValueError, match="int or a tuple of 2"):
        layers.Dot((1, 2, 3))
