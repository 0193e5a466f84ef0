"""The autograd core: Tensor, backward, kusari.grad, accumulation, broadcasting, the iterative engine, double
backprop, retain_grad, hooks, detach, no_grad, Parameter."""
import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.autograd import Function


def t(values, requires_grad=False, dtype="float32"):
    return kusari.tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


def close(a, b, rtol=1e-5, atol=1e-6):
    a = a.numpy() if isinstance(a, kusari.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


class Counting(Function):
    """Identity that counts its backward calls (to see which nodes the engine evaluates)."""
    calls = 0
    uses_inputs = False

    def forward(self, x):
        return x

    def backward(self, gy):
        Counting.calls += 1
        return gy


# -- Tensor basics --------------------------------------------------------------------------------------------------

def test_tensor_factory_dtypes_and_flags():
    assert kusari.tensor([1.0, 2.0]).dtype == "float32"
    assert kusari.tensor([1, 2]).dtype == "int32"
    assert kusari.tensor(np.zeros(2, np.float64)).dtype == "float64"
    assert kusari.tensor([1, 2], dtype="float64").dtype == "float64"
    x = kusari.tensor([1.0], requires_grad=True)
    assert isinstance(x, kusari.Tensor) and x.requires_grad and x.is_leaf and x.grad is None
    with pytest.raises(RuntimeError, match="floating-point"):
        kusari.tensor([1, 2], requires_grad=True)


def test_numpy_and_item():
    x = t([[1.5, 2.0], [3.0, 4.0]], requires_grad=True)
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert t([[2.5]]).item() == 2.5 and isinstance(t(3.0).item(), float)
    assert kusari.tensor(7).item() == 7
    with pytest.raises(ValueError, match=r"one element.*\(2, 2\)"):
        x.item()


def test_backward_simple_closed_form():
    x = t([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * x * x + x * 2.0).sum()         # dy/dx = 3x^2 + 2
    y.backward()
    close(x.grad, [5.0, 14.0, 29.0])
    assert x.grad.dtype == "float32" and x.grad.shape == (3,)


def test_backward_with_explicit_grad_weights_the_outputs():
    x = t([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(t([1.0, 0.0, -2.0]))
    close(x.grad, [2.0, 0.0, -12.0])


def test_backward_accepts_grad_as_list():
    x = t([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward([1.0, 2.0])
    close(x.grad, [3.0, 6.0])


def test_backward_on_a_leaf():
    x = t(2.0, requires_grad=True)
    x.backward()
    close(x.grad, 1.0)


# -- accumulation ---------------------------------------------------------------------------------------------------

def test_tensor_used_many_times_sums_gradients():
    x = t([2.0, 3.0], requires_grad=True)
    y = (x * x + x + x * 4.0 - x).sum()      # d/dx = 2x + 4
    y.backward()
    close(x.grad, [8.0, 10.0])


def test_diamond_graph_sums_both_paths():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    a = h * h            # 9x^2 -> 18x
    b = ops.exp(h)       # e^{3x} -> 3 e^{3x}
    (a + b).sum().backward()
    xv = np.array([1.0, 2.0])
    close(x.grad, 18 * xv + 3 * np.exp(3 * xv), rtol=1e-5)


def test_two_backward_calls_accumulate_into_grad():
    x = t([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 10.0).sum().backward()
    close(x.grad, [12.0, 14.0])
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    close(x.grad, [2.0, 4.0])


def test_same_graph_twice_with_retain_graph_doubles_grad():
    x = t([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, [4.0, 8.0])


def test_grad_owns_its_memory_and_is_writable():
    # Add's backward hands the same gradient to both inputs, and a sum's gradient is a read-only broadcast
    # view: .grad must still be a private, writable array (optimizers update it in place)
    a = t([1.0, 2.0], requires_grad=True)
    b = t([3.0, 4.0], requires_grad=True)
    seed = t([1.0, 1.0])
    (a + b).backward(seed)
    assert a.grad is not b.grad and a.grad is not seed
    with kusari.no_grad():
        a.grad[0] = 100.0
    close(b.grad, [1.0, 1.0])
    close(seed, [1.0, 1.0])
    c = t([1.0, 2.0], requires_grad=True)
    (c + 0.0).sum().backward()
    c.grad.assign([5.0, 6.0])
    close(c.grad, [5.0, 6.0])


# -- broadcasting -----------------------------------------------------------------------------------------------------

def test_broadcast_gradients_are_summed_to_input_shapes():
    rng = np.random.default_rng(0)
    av = rng.standard_normal((2, 3, 4)).astype(np.float32)
    bv = rng.standard_normal((3, 1)).astype(np.float32)
    cv = np.float32(1.5)
    a, b, c = t(av, True), t(bv, True), t(cv, True)
    y = (a * b + c).sum()
    y.backward()
    assert a.grad.shape == (2, 3, 4) and b.grad.shape == (3, 1) and c.grad.shape == ()
    close(a.grad, np.broadcast_to(bv, (2, 3, 4)), rtol=1e-6)
    close(b.grad, av.sum(axis=(0, 2))[:, None], rtol=1e-5)
    close(c.grad, 24.0)


def test_broadcast_with_weighted_seed_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    av = rng.standard_normal((4, 1, 3)).astype(np.float32)
    bv = rng.standard_normal((5, 1)).astype(np.float32)
    gv = rng.standard_normal((4, 5, 3)).astype(np.float32)
    a, b = t(av, True), t(bv, True)
    (a * b - b / (a * a + 1.0)).backward(t(gv))
    ta = torch.tensor(av, requires_grad=True)
    tb = torch.tensor(bv, requires_grad=True)
    (ta * tb - tb / (ta * ta + 1.0)).backward(torch.tensor(gv))
    close(a.grad, ta.grad.numpy(), rtol=1e-5, atol=1e-5)
    close(b.grad, tb.grad.numpy(), rtol=1e-5, atol=1e-5)


# -- the iterative engine -------------------------------------------------------------------------------------------

DEPTH = 10_000


def test_deep_chain_backward_does_not_recurse():
    x = t(1.0, requires_grad=True)
    y = x
    for _ in range(DEPTH):
        y = y * 1.0001
    y.backward()
    close(x.grad, 1.0001 ** DEPTH, rtol=1e-3)


def test_deep_chain_kusari_grad():
    x = t(1.0, requires_grad=True)
    y = x
    for _ in range(DEPTH):
        y = y + x * 1e-3
    (g,) = kusari.grad(y, [x])
    close(g, 1.0 + DEPTH * 1e-3, rtol=1e-4)
    assert x.grad is None


def test_deep_chain_create_graph_second_derivative():
    x = t(0.5, requires_grad=True)
    s = x * x * 1e-3
    y = x
    for _ in range(DEPTH):
        y = y + s                      # y = x + 10 x^2, a chain 10,000 adds deep
    (g,) = kusari.grad(y, [x], create_graph=True)
    close(g, 1.0 + 20.0 * 0.5, rtol=1e-4)
    assert g.requires_grad
    (gg,) = kusari.grad(g, [x])
    close(gg, 20.0, rtol=1e-4)


def test_generation_order_waits_for_all_paths():
    # x feeds a long branch and a short one into the same node; the node's backward must run once with the sum
    x = t([1.0, 2.0], requires_grad=True)
    h = Counting()(x)
    long = h
    for _ in range(50):
        long = long * 1.0
    Counting.calls = 0
    (long + h).sum().backward()
    assert Counting.calls == 1
    close(x.grad, [2.0, 2.0])


# -- double backprop ------------------------------------------------------------------------------------------------

def test_second_and_third_derivative_of_cube():
    x = t([1.0, -2.0, 0.5], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = kusari.grad(y, [x], create_graph=True)
    close(g, 3 * np.array([1.0, 4.0, 0.25]))
    (gg,) = kusari.grad(g.sum(), [x], create_graph=True)
    close(gg, 6 * np.array([1.0, -2.0, 0.5]))
    (ggg,) = kusari.grad(gg.sum(), [x])
    close(ggg, [6.0, 6.0, 6.0])


def test_backward_create_graph_leaves_differentiable_grad():
    x = t(3.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    assert x.grad.requires_grad
    close(x.grad, 27.0)
    g1 = x.grad
    x.zero_grad()
    g1.backward()
    close(x.grad, 18.0)


def test_hessian_vector_product_closed_form():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 4)).astype(np.float64)
    xv = rng.standard_normal(4)
    vv = rng.standard_normal(4)
    x = kusari.tensor(xv, requires_grad=True)
    f = (x * ops.matmul(kusari.tensor(A), x)).sum() + ops.exp(x).sum()   # x^T A x + sum e^x
    (g,) = kusari.grad(f, [x], create_graph=True)
    close(g, (A + A.T) @ xv + np.exp(xv), rtol=1e-10)
    (hv,) = kusari.grad((g * kusari.tensor(vv)).sum(), [x])
    close(hv, (A + A.T) @ vv + np.exp(xv) * vv, rtol=1e-10)


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((5, 3)).astype(np.float32)
    wv = rng.standard_normal((3, 4)).astype(np.float32)
    vv = rng.standard_normal((4, 1)).astype(np.float32)

    w = kusari.Parameter(wv, name="w")
    v = kusari.Parameter(vv, name="v")
    x = t(xv, requires_grad=True)
    out = ops.matmul(ops.tanh(ops.matmul(x, w)), v).sum()
    (gx,) = kusari.grad(out, [x], create_graph=True)
    norm = ops.sqrt((gx * gx).sum(axis=1))
    penalty = ((norm - 1.0) ** 2).mean()
    penalty.backward()
    assert x.grad is not None          # backward (not kusari.grad) reaches the input leaf too

    tw = torch.tensor(wv, requires_grad=True)
    tv = torch.tensor(vv, requires_grad=True)
    tx = torch.tensor(xv, requires_grad=True)
    tout = (torch.tanh(tx @ tw) @ tv).sum()
    (tgx,) = torch.autograd.grad(tout, [tx], create_graph=True)
    tpen = ((tgx.pow(2).sum(dim=1).sqrt() - 1.0) ** 2).mean()
    tpen.backward()

    close(penalty, tpen.item(), rtol=1e-5)
    close(gx, tgx.detach().numpy(), rtol=1e-5, atol=1e-6)
    close(w.grad, tw.grad.numpy(), rtol=1e-4, atol=1e-5)
    close(v.grad, tv.grad.numpy(), rtol=1e-4, atol=1e-5)
    close(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-5)


# -- kusari.grad ----------------------------------------------------------------------------------------------------

def test_grad_returns_list_and_never_writes_grad():
    x = t([1.0, 2.0], requires_grad=True)
    w = kusari.Parameter([3.0, 4.0])
    h = x * w
    h.retain_grad()
    y = (h * h).sum()
    gx, gw = kusari.grad(y, [x, w])
    close(gx, 2 * np.array([3.0, 8.0]) * np.array([3.0, 4.0]))
    close(gw, 2 * np.array([3.0, 8.0]) * np.array([1.0, 2.0]))
    assert x.grad is None and w.grad is None and h.grad is None
    assert not gx.requires_grad


def test_grad_single_tensor_inputs_and_multiple_outputs():
    x = t([1.0, 2.0], requires_grad=True)
    res = kusari.grad([(x * x).sum(), (x * 3.0).sum()], x)
    assert isinstance(res, (list, tuple)) and len(res) == 1
    close(res[0], [5.0, 7.0])


def test_grad_with_grad_outputs():
    x = t([1.0, 2.0], requires_grad=True)
    (g,) = kusari.grad(x * x, [x], grad_outputs=t([10.0, -1.0]))
    close(g, [20.0, -4.0])
    with pytest.raises(RuntimeError, match="shape"):
        kusari.grad(x * x, [x])


def test_grad_wrt_intermediate_tensor():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    z = ops.exp(h)
    y = (h * h).sum() + z.sum()
    gh, gz = kusari.grad(y, [h, z])
    close(gh, 2 * np.array([2.0, 4.0]) + np.exp([2.0, 4.0]), rtol=1e-5)
    close(gz, [1.0, 1.0])
    assert x.grad is None and h.grad is None


def test_grad_wrt_intermediate_and_leaf_together():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    y = (h * x).sum()                  # 3x^2: dy/dx = 6x total, dy/dh = x
    gh, gx = kusari.grad(y, [h, x])
    close(gh, [1.0, 2.0])
    close(gx, [6.0, 12.0])


def test_grad_skips_branches_not_leading_to_inputs():
    x = t([1.0, 2.0], requires_grad=True)
    w = t([3.0, 4.0], requires_grad=True)
    side = Counting()(w * 2.0)
    hook_calls = []
    side.register_hook(lambda g: hook_calls.append(1))
    y = (x * x).sum() + side.sum()
    Counting.calls = 0
    (gx,) = kusari.grad(y, [x], retain_graph=True)
    close(gx, [2.0, 4.0])
    assert Counting.calls == 0 and hook_calls == []
    y.backward()                          # backward() does walk every branch
    assert Counting.calls == 1 and hook_calls == [1]
    close(w.grad, [2.0, 2.0])


def test_grad_stops_at_intermediate_target():
    x = t([1.0, 2.0], requires_grad=True)
    below = Counting()(x)
    h = below * 2.0
    y = (h * h).sum()
    Counting.calls = 0
    (gh,) = kusari.grad(y, [h])
    close(gh, [4.0, 8.0])
    assert Counting.calls == 0


def test_grad_unused_input():
    x = t([1.0], requires_grad=True)
    u = t([2.0], requires_grad=True)
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        kusari.grad(y, [x, u], retain_graph=True)
    gx, gu = kusari.grad(y, [x, u], allow_unused=True)
    close(gx, [2.0])
    assert gu is None


def test_grad_frees_graph_unless_retained():
    x = t([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    kusari.grad(y, [x], retain_graph=True)
    kusari.grad(y, [x])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        kusari.grad(y, [x])


def test_grad_input_errors():
    x = t([1.0], requires_grad=True)
    c = t([1.0])
    with pytest.raises(RuntimeError, match=r"inputs\[0\].*does not require grad"):
        kusari.grad((x * 2.0).sum(), [c])
    with pytest.raises(RuntimeError, match=r"outputs\[0\] does not require grad"):
        kusari.grad((c * 2.0).sum(), [x])
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        kusari.grad((x * 2.0).sum(), [np.ones(1)])


# -- retain_grad ----------------------------------------------------------------------------------------------------

def test_retain_grad_on_intermediates():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    k = h * h
    h.retain_grad()
    k.sum().backward()
    close(h.grad, [6.0, 12.0])
    assert k.grad is None                 # not retained
    assert h.retains_grad and not k.retains_grad
    close(x.grad, [18.0, 36.0])
    assert not h.grad.requires_grad


def test_retain_grad_used_twice_gets_total_and_accumulates():
    x = t([1.0, 2.0], requires_grad=True)
    h = x + 0.0
    h.retain_grad()
    y = (h * h + h).sum()
    y.backward(retain_graph=True)
    close(h.grad, [3.0, 5.0])
    y.backward()
    close(h.grad, [6.0, 10.0])


# -- hooks ----------------------------------------------------------------------------------------------------------

def test_leaf_hook_sees_and_replaces_gradient_and_remove():
    x = t([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(g):
        seen.append(g.numpy().copy())
        return g * 10.0

    handle = x.register_hook(hook)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    close(x.grad, [20.0, 40.0])
    handle.remove()
    x.zero_grad()
    (x * x).sum().backward()
    close(x.grad, [2.0, 4.0])
    assert len(seen) == 1


def test_nonleaf_hook_changes_what_flows_upstream():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    calls = []

    def hook(g):
        calls.append(g.numpy().copy())
        return g * 0.5

    handle = h.register_hook(hook)
    (h * h + h).sum().backward()          # dy/dh = 2h + 1 (one call with the total)
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [5.0, 9.0])
    close(x.grad, [5.0, 9.0])             # 0.5 * (2h+1) * 2
    handle.remove()
    x.zero_grad()
    h2 = x * 2.0
    (h2 * h2 + h2).sum().backward()
    close(x.grad, [10.0, 18.0])


def test_hook_returning_none_keeps_gradient():
    x = t([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: None)
    (x * 3.0).sum().backward()
    close(x.grad, [3.0, 3.0])


def test_hooks_apply_in_kusari_grad():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    h.register_hook(lambda g: g * 0.0 + 1.0)
    (gx,) = kusari.grad((h * h).sum(), [x])
    close(gx, [2.0, 2.0])


def test_register_hook_needs_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        t([1.0]).register_hook(lambda g: g)


# -- detach / no_grad -------------------------------------------------------------------------------------------------

def test_detach_stops_gradients_and_shares_values():
    x = t([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad is None
    np.testing.assert_array_equal(d.numpy(), x.numpy())
    y = (x * d).sum()                     # d is a constant: dy/dx = d
    y.backward()
    close(x.grad, [1.0, 2.0])
    h = x * 3.0
    hd = h.detach()
    assert hd.creator is None and not hd.requires_grad
    z = (hd * 2.0).sum()
    assert not z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        z.backward()


def test_no_grad_blocks_recording():
    x = t([1.0, 2.0], requires_grad=True)
    with kusari.no_grad():
        assert not kusari.is_grad_enabled()
        y = x * 2.0 + 1.0
        with kusari.enable_grad():
            z = x * 2.0
    assert kusari.is_grad_enabled()
    assert not y.requires_grad and y.creator is None
    assert z.requires_grad and z.creator is not None


def test_no_grad_and_enable_grad_as_decorators():
    x = t([1.0], requires_grad=True)

    @kusari.no_grad()
    def f(a):
        return a * 2.0

    @kusari.no_grad
    def f_bare(a):
        return a * 2.0

    @kusari.enable_grad()
    def g(a):
        return a * 2.0

    @kusari.enable_grad
    def g_bare(a):
        return a * 2.0

    assert not f(x).requires_grad and not f_bare(x).requires_grad
    assert f.__name__ == "f" and f_bare.__name__ == "f_bare"
    with kusari.no_grad():
        assert g(x).requires_grad and g_bare(x).requires_grad
        assert not kusari.is_grad_enabled()
    assert kusari.is_grad_enabled()


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(KeyError):
        with kusari.no_grad():
            raise KeyError("x")
    assert kusari.is_grad_enabled()


# -- Parameter ------------------------------------------------------------------------------------------------------

def test_parameter_trainable_flag():
    w = kusari.Parameter([1.0, 2.0], name="w")
    assert isinstance(w, kusari.Tensor) and w.requires_grad and w.trainable and w.dtype == "float32"
    assert w.name == "w"
    (w * w).sum().backward()
    close(w.grad, [2.0, 4.0])
    frozen = kusari.Parameter([1.0, 2.0], trainable=False)
    assert not frozen.requires_grad
    y = (frozen * 3.0).sum()
    assert not y.requires_grad
    frozen.trainable = True
    assert frozen.requires_grad
    (frozen * 3.0).sum().backward()
    close(frozen.grad, [3.0, 3.0])
    w.trainable = False
    assert not (w * 2.0).requires_grad
    assert not kusari.Parameter(np.array([1, 2], np.int32)).trainable


def test_parameter_update_under_no_grad_between_steps():
    # an optimizer step after backward is fine; the next forward sees the new values
    w = kusari.Parameter([1.0, 2.0])
    (w * w).sum().backward()
    with kusari.no_grad():
        w.assign_sub(w.grad * 0.5)
    close(w, [0.0, 0.0])
    w.zero_grad()
    (w * 3.0).sum().backward()
    close(w.grad, [3.0, 3.0])


# -- Function contract ------------------------------------------------------------------------------------------------

def test_function_backward_wrong_shape_is_reported():
    class Bad(Function):
        uses_inputs = False

        def forward(self, x):
            return x

        def backward(self, gy):
            return kusari.tensor(np.ones(5, np.float32))

    x = t([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward.*shape \(5,\).*shape \(2,\)"):
        Bad()(x).sum().backward()


def test_function_multiple_outputs_one_unused():
    class Split(Function):
        uses_inputs = False

        def forward(self, x):
            return x * 2, x * 3

        def backward(self, ga, gb):
            return ga * 2.0 + gb * 3.0

    x = t([1.0, 2.0], requires_grad=True)
    a, b = Split()(x)
    a.sum().backward()                    # b got no gradient: zeros are filled in
    close(x.grad, [2.0, 2.0])
