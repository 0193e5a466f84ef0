"""Every error the autograd core promises names the problem: shapes and op, non-scalar backward, a freed graph,
in-place changes caught by the version counter (also through views) — never a silently wrong gradient."""
import numpy as np
import pytest

import kusari
from kusari import ops


def t(values, requires_grad=False):
    return kusari.tensor(np.asarray(values, dtype=np.float32), requires_grad=requires_grad)


# -- shapes -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power"])
def test_binary_op_non_broadcastable_names_op_and_both_shapes(name):
    a = t(np.ones((2, 3)), requires_grad=True)
    b = t(np.ones((4,)))
    with pytest.raises(ValueError) as e:
        getattr(ops, name)(a, b)
    msg = str(e.value)
    assert name in msg and "(2, 3)" in msg and "(4,)" in msg
    assert "broadcast" in msg


def test_operator_add_non_broadcastable():
    with pytest.raises(ValueError, match=r"add: shapes \(3, 2\) and \(3,\)"):
        t(np.ones((3, 2))) + t(np.ones(3))


def test_comparison_non_broadcastable():
    with pytest.raises(ValueError, match=r"less.*\(2,\).*\(3,\)"):
        t([1.0, 2.0]) < t([1.0, 2.0, 3.0])


def test_broadcastable_shapes_still_work():
    y = ops.add(t(np.ones((2, 1, 3))), t(np.ones((4, 1))))
    assert y.shape == (2, 4, 3)


def test_matmul_mismatch_names_op_and_both_shapes():
    with pytest.raises(ValueError) as e:
        ops.matmul(t(np.ones((2, 3))), t(np.ones((4, 5))))
    msg = str(e.value)
    assert "matmul" in msg and "(2, 3)" in msg and "(4, 5)" in msg


def test_backward_non_scalar_without_grad_says_so():
    x = t([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        (x * x).backward()
    msg = str(e.value)
    assert "(2,)" in msg and "grad" in msg and "one element" in msg


def test_backward_grad_of_wrong_shape():
    x = t([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * x).backward(t([1.0, 1.0, 1.0]))


def test_backward_on_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        t([1.0]).sum().backward()


def test_second_backward_through_freed_graph_says_retain_graph():
    x = t([1.0, 2.0], requires_grad=True)
    y = (ops.exp(x) * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert "retain_graph=True" in str(e.value) and "second time" in str(e.value)


def test_backward_through_freed_part_of_graph():
    x = t([1.0, 2.0], requires_grad=True)
    h = x * x
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (h * 2.0).sum().backward()


# -- in-place changes and the version counter ----------------------------------------------------------------------

INPLACE = "modified in place"


def test_assign_to_saved_input_is_detected():
    x = t([1.0, 2.0], requires_grad=True)
    a = t([3.0, 4.0])
    y = (x * a).sum()                     # Multiply needs a for dx
    a.assign([5.0, 6.0])
    with pytest.raises(RuntimeError) as e:
        y.backward()
    msg = str(e.value)
    assert INPLACE in msg and "Multiply" in msg and "version 0 -> 1" in msg


def test_setitem_under_no_grad_to_saved_leaf_is_detected():
    x = t([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with kusari.no_grad():
        x[0] = 10.0
    with pytest.raises(RuntimeError, match=INPLACE):
        y.backward()


def test_setitem_under_grad_mode_on_tensor_requiring_grad_is_refused():
    x = t([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="no_grad"):
        x.assign([1.0, 1.0])


def test_parameter_update_before_backward_is_detected():
    w = kusari.Parameter([1.0, 2.0])
    x = t([3.0, 4.0], requires_grad=True)
    y = (w * x).sum()
    w.assign_sub(t([0.1, 0.1]))           # an optimizer-like step in the wrong place
    with pytest.raises(RuntimeError, match=INPLACE):
        y.backward()


@pytest.mark.parametrize("make_view", [
    lambda a: a.reshape(2, 2),
    lambda a: a.reshape(2, 2).T,
    lambda a: a.detach(),
    lambda a: ops.expand_dims(a, 0),
], ids=["reshape", "transpose", "detach", "expand_dims"])
def test_change_through_a_view_is_detected(make_view):
    base = t([1.0, 2.0, 3.0, 4.0])
    x = t([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    y = (x * base).sum()
    v = make_view(base)
    with kusari.no_grad():
        v.assign(np.full(v.shape, 7.0, np.float32))
    with pytest.raises(RuntimeError, match=INPLACE):
        y.backward()


def test_change_to_base_seen_by_view_used_in_graph():
    base = t([[1.0, 2.0], [3.0, 4.0]])
    view = base.T
    x = t(np.ones((2, 2)), requires_grad=True)
    y = (x * view).sum()
    base[0, 0] = 9.0
    with pytest.raises(RuntimeError, match=INPLACE):
        y.backward()


def test_change_to_tensor_made_from_same_memory_is_detected():
    a = t([1.0, 2.0])
    alias = kusari.Tensor(a)              # no copy: shares a's memory and version counter
    x = t([1.0, 1.0], requires_grad=True)
    y = (x * a).sum()
    alias.assign([0.0, 0.0])
    with pytest.raises(RuntimeError, match=INPLACE):
        y.backward()


def test_change_to_saved_output_is_detected():
    # Exp's backward reads its output: changing it in place must not give a wrong gradient
    x = t([1.0, 2.0], requires_grad=True)
    y = ops.exp(x)
    with kusari.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match=r"output 0 of Exp.*modified in place"):
        y.sum().backward()


def test_change_to_saved_output_through_view_is_detected():
    x = t([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = ops.tanh(x)
    v = y.reshape(2, 2)
    loss = (v + 2.0).sum()
    with kusari.no_grad():
        v.assign(np.zeros((2, 2), np.float32))
    with pytest.raises(RuntimeError, match=r"Tanh.*modified in place"):
        loss.backward()


def test_change_to_input_not_needed_for_backward_is_fine():
    x = t([1.0, 2.0], requires_grad=True)
    a = t([3.0, 4.0])
    y = (x + a).sum()                     # Add never reads its inputs
    a.assign([100.0, 100.0])
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    z = x.reshape(1, 2)                   # reshape doesn't read x either
    w = (z + 3.0).sum()
    with kusari.no_grad():
        x.assign([9.0, 9.0])
    x.zero_grad()
    w.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_change_after_backward_is_fine():
    x = t([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    with kusari.no_grad():
        x.assign([0.0, 0.0])
    (x * x).sum().backward()              # a new graph records the new version
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_kusari_grad_also_checks_versions():
    x = t([1.0, 2.0], requires_grad=True)
    a = t([3.0, 4.0])
    y = (x * a).sum()
    a[1] = 0.0
    with pytest.raises(RuntimeError, match=INPLACE):
        kusari.grad(y, [x])
