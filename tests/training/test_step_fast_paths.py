"""Per-step fast paths of the training loop give exactly what the general rules give: the unweighted
``sum_over_batch_size`` loss reduction, the loss tracker's ``Mean.update_state(loss, sample_weight=batch_size)``
and the in-place relu of the fused Dense node."""
import numpy as np
import pytest

import kusari
from kusari import losses, metrics, ops


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unweighted_mean_reduction_equals_divide_no_nan_rule(dtype):
    rng = np.random.default_rng(0)
    v = kusari.tensor(rng.normal(size=(7, 3)).astype(dtype), requires_grad=True)
    fast = losses.reduce_weighted_values(v)
    # the general rule, spelled out: sum, then divide_no_nan by the element count
    slow = losses._divide_no_nan(ops.sum(v), kusari.tensor(np.array(21.0, dtype)))
    assert fast.dtype == dtype and fast.item() == slow.item()
    (g_fast,) = kusari.grad(fast, [v])
    (g_slow,) = kusari.grad(slow, [v])
    np.testing.assert_array_equal(g_fast.numpy(), g_slow.numpy())
    # weights of one take the weighted path: same value
    assert losses.reduce_weighted_values(v, sample_weight=np.ones(7, dtype)).item() == fast.item()
    assert losses.reduce_weighted_values(v[:0]).item() == 0.0          # empty: divide_no_nan as before


def test_loss_tracker_fast_path_equals_general_rule():
    a, b = metrics.Mean(), metrics.Mean()
    for value, n in [(0.731, 128), (2.5, 16), (1e-3, 1)]:
        loss = kusari.tensor(np.float32(value))
        a.update_state(loss, sample_weight=n)                       # fast path (int weight, scalar loss)
        b.update_state(loss, sample_weight=np.array(n, "float32"))  # general rule
    assert a.result().item() == b.result().item()
    assert a.count.numpy() == b.count.numpy() and a.total.numpy() == b.total.numpy()
    assert a.result().dtype == "float32"


def test_fused_dense_relu_in_place_output():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5)).astype("float32")
    layer = kusari.layers.Dense(6, activation="relu")
    y = layer(kusari.tensor(x)).numpy()
    ref = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    np.testing.assert_allclose(y, ref, rtol=1e-6, atol=1e-6)
    assert (y >= 0).all()
