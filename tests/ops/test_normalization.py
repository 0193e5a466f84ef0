import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests


def F():
    import torch.nn.functional as F
    return F


def ref_bn(x, m, v, off, sc, eps=1e-3):
    return (x - m) / np.sqrt(v + eps) * sc + off


def make_bn(rng, dtype):
    return [rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=3).astype(dtype),
            rng.uniform(0.5, 2, 3).astype(dtype), rng.normal(size=3).astype(dtype),
            rng.uniform(0.5, 2, 3).astype(dtype)]


def make_bn_nchw(rng, dtype):
    return [rng.normal(size=(2, 3, 2, 2)).astype(dtype), rng.normal(size=3).astype(dtype),
            rng.uniform(0.5, 2, 3).astype(dtype)]


def make_train(rng, dtype):
    return [rng.normal(1, 2, size=(4, 2, 3)).astype(dtype), rng.uniform(0.5, 2, 3).astype(dtype),
            rng.normal(size=3).astype(dtype)]


def ref_train(x, g, b, axes=(0, 1), eps=1e-3):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    y = (x - m) / np.sqrt(v + eps) * g + b
    return y, m.reshape(-1), v.reshape(-1)


def torch_train(x, g, b):
    import torch
    xc = x.permute(0, 2, 1)              # (N, C, L)
    y = F().batch_norm(xc, None, None, g, b, training=True, eps=1e-3).permute(0, 2, 1)
    v, m = torch.var_mean(x, dim=(0, 1), correction=0)
    return y, m, v


def ref_ln(x, g, b, eps=1e-3):
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(x.var(-1, keepdims=True) + eps) * g + b


SPECS = [
    OpSpec("batch_normalization", lambda x, m, v, o, s: ops.batch_normalization(x, m, v, -1, o, s), ref_bn,
           make=make_bn,
           torch_fn=lambda x, m, v, o, s: (x - m) / (v + 1e-3).sqrt() * s + o),
    OpSpec("batch_normalization_axis1_no_affine", lambda x, m, v: ops.batch_normalization(x, m, v, axis=1),
           lambda x, m, v: (x - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-3), make=make_bn_nchw, diff_args=(0,),
           torch_fn=lambda x, m, v: F().batch_norm(x, m, v, training=False, eps=1e-3)),
    OpSpec("batch_norm_train", lambda x, g, b: ops.batch_norm_train(x, g, b, axes=(0, 1)), ref_train,
           make=make_train, torch_fn=torch_train),
    OpSpec("batch_norm_train_y_only", lambda x, g, b: ops.batch_norm_train(x, g, b, axes=(0, 1))[0] ** 2,
           lambda x, g, b: ref_train(x, g, b)[0] ** 2, make=make_train),
    OpSpec("layer_norm", lambda x, g, b: ops.layer_norm(x, g, b), ref_ln, shapes=[(3, 5), (5,), (5,)],
           torch_fn=lambda x, g, b: F().layer_norm(x, (5,), g, b, eps=1e-3)),
    OpSpec("layer_normalization_2axes", lambda x: ops.layer_normalization(x, axis=(1, 2), epsilon=1e-5),
           lambda x: (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5),
           shapes=[(2, 3, 4)], torch_fn=lambda x: F().layer_norm(x, (3, 4), eps=1e-5)),
    OpSpec("rms_normalization", lambda x, s: ops.rms_normalization(x, s, epsilon=1e-6),
           lambda x, s: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * s, shapes=[(3, 4), (4,)],
           torch_fn=lambda x, s: F().rms_norm(x, (4,), s, eps=1e-6)),
]
globals().update(make_op_tests(SPECS))


def test_batch_norm_train_matches_composed_version_and_grads():
    rng = np.random.default_rng(0)
    xa, ga, ba = rng.normal(size=(6, 4)), rng.uniform(0.5, 2, 4), rng.normal(size=4)
    w = kusari.tensor(rng.normal(size=(6, 4)))
    outs = []
    for fused in (True, False):
        x, g, b = (kusari.tensor(a, requires_grad=True) for a in (xa, ga, ba))
        if fused:
            y, m, v = ops.batch_norm_train(x, g, b, axes=0)
        else:
            m, v = ops.moments(x, axes=0)
            y = ops.batch_normalization(x, m, v, axis=-1, offset=b, scale=g)
        (y * w).sum().backward()
        outs.append([y.numpy(), m.numpy(), v.numpy(), x.grad.numpy(), g.grad.numpy(), b.grad.numpy()])
    for a, b_ in zip(*outs):
        np.testing.assert_allclose(a, b_, rtol=1e-9, atol=1e-12)


def test_batch_norm_train_is_one_node_and_keeps_float32():
    x = kusari.tensor(np.random.default_rng(0).normal(size=(8, 3)).astype("float32"), requires_grad=True)
    y, m, v = ops.batch_norm_train(x, None, None, axes=0, epsilon=1e-7)
    assert y.creator.name == "BatchNormTrain" and y.dtype == m.dtype == "float32"
    np.testing.assert_allclose(y.numpy().mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(y.numpy().var(0), 1, atol=1e-5)


def test_normalization_errors():
    x = kusari.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        ops.batch_norm_train(x, kusari.tensor(np.ones(2)), None, axes=0)
    with pytest.raises(ValueError, match="at least one axis"):
        ops.batch_norm_train(x, None, None, axes=())
    with pytest.raises(ValueError, match=r"\(3,\)"):
        ops.batch_normalization(x, [0.0, 0.0], [1.0, 1.0], axis=-1)
    with pytest.raises(ValueError, match="axis 5"):
        ops.layer_norm(x, None, None, axis=5)


def test_layer_normalization_default_epsilon_is_config_epsilon():
    x = kusari.tensor([[1e-4, -1e-4]], dtype="float64")
    y = ops.layer_normalization(x)
    np.testing.assert_allclose(y.numpy(), [[1e-4, -1e-4]] / np.sqrt(1e-8 + 1e-7), rtol=1e-9)
    assert ops.rms_normalization(kusari.tensor([[3.0, 4.0]]), epsilon=0.0).numpy() == pytest.approx(
        np.array([[3, 4]]) / np.sqrt(12.5))
