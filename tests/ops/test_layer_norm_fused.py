"""The fused last-axis LayerNorm node behind LayerNormalization: values and gradients against torch, first and
second derivatives against finite differences, and the same results as the composed ops."""
import numpy as np
import pytest

import kusari
from kusari import layers as L
from kusari.autograd.gradcheck import gradcheck, gradgradcheck
from kusari.ops.normalization import LayerNormLast, layer_norm_last, layer_normalization

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False), (False, False)])
def test_layer_matches_torch(center, scale):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32) * 3 + 1
    g = rng.standard_normal((4, 5, 6)).astype(np.float32)
    layer = L.LayerNormalization(center=center, scale=scale)
    xt = kusari.tensor(x, requires_grad=True)
    y = layer(xt)
    weights = [w for w in (layer.gamma, layer.beta) if w is not None]
    grads = kusari.grad((y * kusari.tensor(g)).sum(), [xt] + weights)
    ref = torch.nn.LayerNorm(6, eps=1e-3, elementwise_affine=scale, bias=center)
    xr = torch.tensor(x, requires_grad=True)
    yr = ref(xr)
    (yr * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yr.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads[0].numpy(), xr.grad.numpy(), rtol=1e-4, atol=1e-5)
    for got, want in zip(grads[1:], [p for p in (ref.weight, ref.bias) if p is not None]):
        np.testing.assert_allclose(got.numpy(), want.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_layer_uses_the_fused_node_on_the_last_axis_only():
    x = kusari.tensor(np.ones((2, 3, 4), np.float32))
    assert isinstance(L.LayerNormalization()(x).creator, LayerNormLast)
    assert not isinstance(L.LayerNormalization(axis=(1, 2))(x).creator, LayerNormLast)


def _operands(seed=0):
    rng = np.random.default_rng(seed)
    return [kusari.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 2, 5), (5,), (5,))]


def test_first_and_second_derivatives():
    x, g, b = _operands()
    fn = lambda x, g, b: layer_norm_last(x, g, b, 1e-3)  # noqa: E731
    assert gradcheck(fn, [x, g, b])
    assert gradgradcheck(fn, [x, g, b])
    assert gradcheck(lambda x: layer_norm_last(x, None, None, 1e-3), [x])


def test_same_as_the_composed_ops_through_double_backprop():
    def run(f):
        x, g, b = _operands(1)
        gx, gg = kusari.grad((f(x, g, b) ** 3).sum(), [x, g], create_graph=True)
        return kusari.grad((gx * gx).sum() + (gg * gg).sum(), [x, g, b])
    fused = run(lambda x, g, b: layer_norm_last(x, g, b, 1e-3))
    composed = run(lambda x, g, b: layer_normalization(x, g, b, epsilon=1e-3))
    for a, c in zip(fused, composed):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-9, atol=1e-9)
