import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests

EPS = 1e-7


def F():
    import torch.nn.functional as F
    return F


def _np_log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _probs(rng, shape, axis=-1):
    e = np.exp(rng.normal(size=shape))
    return e / e.sum(axis=axis, keepdims=True)


def make_bce_logits(rng, dtype):
    return [rng.uniform(0, 1, (3, 4)).astype(dtype), rng.normal(0, 2, (3, 4)).astype(dtype)]


def make_bce_probs(rng, dtype):
    return [rng.uniform(0, 1, (3, 4)).astype(dtype), rng.uniform(0.05, 0.95, (3, 4)).astype(dtype)]


def make_cce_logits(rng, dtype):
    return [_probs(rng, (4, 5)).astype(dtype), rng.normal(0, 2, (4, 5)).astype(dtype)]


def make_cce_probs(rng, dtype):
    # unnormalised positive outputs: Keras renormalises them
    return [_probs(rng, (4, 5)).astype(dtype), rng.uniform(0.1, 1.0, (4, 5)).astype(dtype)]


def make_sparse(rng, dtype):
    return [rng.integers(0, 5, (4,)).astype("int32"), rng.normal(0, 2, (4, 5)).astype(dtype)]


def make_sparse_probs(rng, dtype):
    return [rng.integers(0, 5, (4,)).astype("int32"), rng.uniform(0.1, 1.0, (4, 5)).astype(dtype)]


def make_sparse_axis1(rng, dtype):
    return [rng.integers(0, 3, (2, 4)).astype("int32"), rng.normal(0, 2, (2, 3, 4)).astype(dtype)]


def ref_bce_logits(z, x):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


def ref_bce_probs(z, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(z * np.log(p) + (1 - z) * np.log(1 - p))


def ref_cce_probs(t, p, axis=-1):
    p = np.clip(p / p.sum(axis=axis, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(p)).sum(axis=axis)


def ref_sparse(labels, x, axis=-1):
    lp = _np_log_softmax(x, axis)
    return -np.squeeze(np.take_along_axis(lp, np.expand_dims(labels, axis), axis), axis)


def _torch():
    import torch
    return torch


SPECS = [
    OpSpec("bce_logits", lambda z, x: ops.binary_crossentropy(z, x, from_logits=True), ref_bce_logits,
           make=make_bce_logits,
           torch_fn=lambda z, x: F().binary_cross_entropy_with_logits(x, z, reduction="none")),
    OpSpec("bce_probs", ops.binary_crossentropy, ref_bce_probs, make=make_bce_probs,
           torch_fn=lambda z, p: F().binary_cross_entropy(p, z, reduction="none")),
    OpSpec("cce_logits", lambda t, x: ops.categorical_crossentropy(t, x, from_logits=True),
           lambda t, x: -(t * _np_log_softmax(x)).sum(-1), make=make_cce_logits,
           torch_fn=lambda t, x: F().cross_entropy(x, t, reduction="none")),
    OpSpec("cce_logits_axis0", lambda t, x: ops.categorical_crossentropy(t.T, x.T, from_logits=True, axis=0),
           lambda t, x: -(t * _np_log_softmax(x)).sum(-1), make=make_cce_logits),
    OpSpec("cce_probs", ops.categorical_crossentropy, ref_cce_probs, make=make_cce_probs,
           torch_fn=lambda t, p: -(t * _torch().log(p / p.sum(-1, keepdim=True))).sum(-1)),
    OpSpec("sparse_logits", lambda y, x: ops.sparse_categorical_crossentropy(y, x, from_logits=True), ref_sparse,
           make=make_sparse,
           torch_fn=lambda y, x: F().cross_entropy(x, y.long(), reduction="none")),
    OpSpec("sparse_logits_axis1",
           lambda y, x: ops.sparse_categorical_crossentropy(y, x, from_logits=True, axis=1),
           lambda y, x: ref_sparse(y, x, 1), make=make_sparse_axis1,
           torch_fn=lambda y, x: F().cross_entropy(x, y.long(), reduction="none")),
    OpSpec("sparse_probs", ops.sparse_categorical_crossentropy,
           lambda y, p: ref_cce_probs(np.eye(5)[y], p), make=make_sparse_probs,
           torch_fn=lambda y, p: F().nll_loss(_torch().log(p / p.sum(-1, keepdim=True)), y.long(),
                                              reduction="none")),
]
globals().update(make_op_tests(SPECS))


def test_bce_logits_matches_hand_formula_and_sigmoid_path():
    z = np.array([0.0, 1.0, 1.0, 0.3])
    x = np.array([-2.0, -0.5, 3.0, 0.1])
    p = 1 / (1 + np.exp(-x))
    want = -(z * np.log(p) + (1 - z) * np.log(1 - p))
    got = ops.binary_crossentropy(kusari.tensor(z), kusari.tensor(x), from_logits=True).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    via_probs = ops.binary_crossentropy(kusari.tensor(z), ops.sigmoid(kusari.tensor(x))).numpy()
    np.testing.assert_allclose(got, via_probs, rtol=1e-6)


def test_cce_probs_renormalises_and_clips_like_keras():
    t = kusari.tensor([[0.0, 1.0, 0.0]])
    out = kusari.tensor([[2.0, 2.0, 0.0]])        # renormalised to [0.5, 0.5, 0]
    assert ops.categorical_crossentropy(t, out).item() == pytest.approx(np.log(2), rel=1e-6)
    zero = ops.categorical_crossentropy(kusari.tensor([[0.0, 0.0, 1.0]]), out).item()
    assert zero == pytest.approx(-np.log(np.float32(1e-7)), rel=1e-5)   # clipped at epsilon
    bce = ops.binary_crossentropy(kusari.tensor([1.0]), kusari.tensor([0.0])).item()
    assert np.isfinite(bce) and bce == pytest.approx(-np.log(1e-7), rel=1e-4)


@pytest.mark.parametrize("which", ["bce", "cce", "sparse"])
def test_extreme_logits_give_finite_loss_and_grad(which):
    x = kusari.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 5.0]], requires_grad=True)
    if which == "bce":
        z = kusari.tensor([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
        loss = ops.binary_crossentropy(z, x, from_logits=True)
        np.testing.assert_allclose(loss.numpy()[0, :2], [1000.0, 1000.0])
    elif which == "cce":
        t = kusari.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
        loss = ops.categorical_crossentropy(t, x, from_logits=True)
        np.testing.assert_allclose(loss.numpy(), [2000.0, 0.0], atol=1e-3)
    else:
        loss = ops.sparse_categorical_crossentropy(kusari.tensor([1, 1]), x, from_logits=True)
        np.testing.assert_allclose(loss.numpy(), [2000.0, 0.0], atol=1e-3)
    loss.sum().backward()
    assert np.all(np.isfinite(loss.numpy())) and np.all(np.isfinite(x.grad.numpy()))
    assert np.abs(x.grad.numpy()).max() <= 1.0 + 1e-6


def test_sparse_accepts_trailing_one_and_float_labels():
    x = kusari.tensor(np.random.default_rng(0).normal(size=(3, 4)).astype("float32"))
    a = ops.sparse_categorical_crossentropy(kusari.tensor([[0], [3], [2]]), x, from_logits=True)
    b = ops.sparse_categorical_crossentropy(kusari.tensor([0.0, 3.0, 2.0]), x, from_logits=True)
    c = ops.sparse_categorical_crossentropy([0, 3, 2], x, from_logits=True)
    np.testing.assert_allclose(a.numpy(), c.numpy())
    np.testing.assert_allclose(b.numpy(), c.numpy())
    assert c.shape == (3,) and c.dtype == "float32"


def test_sparse_equals_categorical_with_one_hot():
    rng = np.random.default_rng(1)
    x = kusari.tensor(rng.normal(size=(5, 3)))
    y = rng.integers(0, 3, 5)
    for logits in (True, False):
        out = ops.softmax(x) if not logits else x
        a = ops.sparse_categorical_crossentropy(kusari.tensor(y), out, from_logits=logits)
        b = ops.categorical_crossentropy(ops.one_hot(kusari.tensor(y), 3, dtype="float64"), out, from_logits=logits)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10)


def test_soft_target_gradient_with_unnormalised_target():
    # target rows that do not sum to one: gradient is softmax * sum(t) - t
    t = kusari.tensor([[0.5, 0.5, 1.0]], dtype="float64")
    x = kusari.tensor([[0.1, -0.3, 0.7]], dtype="float64", requires_grad=True)
    ops.categorical_crossentropy(t, x, from_logits=True).sum().backward()
    s = np.exp(x.numpy()) / np.exp(x.numpy()).sum()
    np.testing.assert_allclose(x.grad.numpy(), s * 2.0 - t.numpy(), rtol=1e-10)


def test_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        ops.categorical_crossentropy(kusari.tensor(np.zeros((2, 3))), kusari.tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        ops.binary_crossentropy(kusari.tensor(np.zeros(3)), kusari.tensor(np.ones((3, 1))), from_logits=True)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3, 4\)"):
        ops.sparse_categorical_crossentropy(kusari.tensor([0, 1]), kusari.tensor(np.ones((3, 4))))
    with pytest.raises(ValueError, match="rank 1"):
        ops.categorical_crossentropy(kusari.tensor(1.0), kusari.tensor(1.0))


def test_sparse_label_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        ops.sparse_categorical_crossentropy(kusari.tensor([0, 4]), kusari.tensor(np.ones((2, 4))),
                                            from_logits=True)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        ops.sparse_categorical_crossentropy(kusari.tensor([-1, 0]), kusari.tensor(np.ones((2, 4))))


def test_float32_losses_stay_float32():
    x = kusari.tensor([[0.2, 0.8]])
    assert ops.categorical_crossentropy([[0.0, 1.0]], x).dtype == "float32"
    assert ops.binary_crossentropy([[0, 1]], x).dtype == "float32"
    assert ops.sparse_categorical_crossentropy([1], x, from_logits=True).dtype == "float32"


def test_float64_numpy_targets_keep_float32_output():
    x = kusari.tensor([[0.2, 0.8]], requires_grad=True)
    t = np.array([[0.0, 1.0]])            # float64
    for f in (ops.categorical_crossentropy, ops.binary_crossentropy):
        for logits in (False, True):
            assert f(t, x, from_logits=logits).dtype == "float32"
