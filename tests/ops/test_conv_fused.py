"""The fused conv + bias (+ relu) node behind Conv1D/2D/3D: same values and gradients as conv, add and relu taken
apart, first and second derivatives against finite differences, and the kept im2col matrix giving the same kernel
gradient as building it again."""
import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.autograd.gradcheck import gradcheck, gradgradcheck
from kusari.ops.conv import ConvBiasAct, conv_bias_act

CASES = [
    # x shape, kernel shape, strides, padding
    ((2, 7, 3), (3, 3, 4), 1, "valid"),
    ((2, 6, 5, 3), (3, 3, 3, 4), 1, "same"),
    ((2, 7, 6, 2), (3, 2, 2, 3), 2, "valid"),
    ((1, 4, 4, 3, 2), (2, 2, 2, 2, 3), 1, "same"),
]


def _operands(x_shape, k_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = kusari.tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = kusari.tensor(rng.standard_normal(k_shape).astype(dtype) * 0.5, requires_grad=True)
    b = kusari.tensor(rng.standard_normal(k_shape[-1]).astype(dtype), requires_grad=True)
    return x, w, b


def _unfused(x, w, b, relu, strides, padding):
    y = ops.conv(x, w, strides=strides, padding=padding)
    if b is not None:
        y = y + b
    return ops.relu(y) if relu else y


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("x_shape,k_shape,strides,padding", CASES)
def test_matches_unfused_values_and_gradients(x_shape, k_shape, strides, padding, relu, use_bias):
    x, w, b = _operands(x_shape, k_shape, np.float32)
    b = b if use_bias else None
    y = conv_bias_act(x, w, b, relu=relu, strides=strides, padding=padding)
    assert isinstance(y.creator, ConvBiasAct)
    ref = _unfused(x, w, b, relu, strides, padding)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    wrt = [x, w] + ([b] if use_bias else [])
    cot = kusari.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(np.float32))
    got = kusari.grad(ops.sum(y * cot), wrt)
    want = kusari.grad(ops.sum(ref * cot), wrt)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("x_shape,k_shape,strides,padding", CASES[:3])
def test_gradcheck_first_and_second_order(x_shape, k_shape, strides, padding, relu):
    x, w, b = _operands(x_shape, k_shape, np.float64, seed=2)

    def f(x, w, b):
        return conv_bias_act(x, w, b, relu=relu, strides=strides, padding=padding)

    assert gradcheck(f, [x, w, b])
    assert gradgradcheck(f, [x, w, b])


def test_kept_window_matrix_gives_the_same_kernel_gradient():
    if kusari.backend().name != "numpy":
        pytest.skip("the kept im2col matrix is the NumPy backend's")
    x, w, b = _operands((3, 9, 8, 4), (3, 3, 4, 5), np.float32, seed=3)
    y = conv_bias_act(x, w, b, relu=True)
    assert y.creator.__dict__.get("kept") is not None            # the NumPy backend keeps its im2col matrix
    with kusari.no_grad():
        y_nograd = conv_bias_act(x, w, b, relu=True)             # nothing recorded, nothing kept
    assert y_nograd.creator is None
    gw_kept, = kusari.grad(ops.sum(y * y), [w])
    x2 = kusari.tensor(x.numpy())                                # w only: same graph shape, kept matrix used
    gw_again, = kusari.grad(ops.sum(ops.relu(ops.conv(x2, w) + b) ** 2), [w])
    np.testing.assert_allclose(gw_kept.numpy(), gw_again.numpy(), rtol=1e-5, atol=1e-5)


def test_retain_graph_backward_twice_without_the_kept_matrix():
    x, w, b = _operands((2, 6, 6, 2), (3, 3, 2, 3), np.float64, seed=4)
    y = ops.sum(conv_bias_act(x, w, b, relu=True) ** 2)
    y.backward(retain_graph=True)
    first = w.grad.numpy().copy()
    w.grad = None
    y.backward()                                                  # kept matrix was used up: built again
    np.testing.assert_allclose(w.grad.numpy(), first, rtol=1e-12)


def test_conv2d_layer_uses_the_fused_node_and_trains_like_keras_formula():
    layer = kusari.layers.Conv2D(4, 3, activation="relu")
    x = kusari.tensor(np.random.default_rng(5).standard_normal((2, 6, 6, 3)).astype(np.float32))
    y = layer(x)
    ref = ops.relu(ops.conv(x, layer.kernel) + layer.bias)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6)
    with kusari.enable_grad():
        y = layer(x)
    assert isinstance(y.creator, ConvBiasAct)
    tanh = kusari.layers.Conv2D(4, 3, activation="tanh")          # other activations: conv node, then the activation
    assert not isinstance(tanh(x).creator, ConvBiasAct)
