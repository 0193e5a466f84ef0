import numpy as np
import pytest

import kusari
from tests.examples._load import load_example

ex = load_example("recursive_depth")


def _loss(model, x, k, target):
    return kusari.ops.sum((model((x, k)) - target) ** 2)


@pytest.mark.parametrize("depths", [[2, 2, 2], [1, 5, 3]])
def test_gradients_match_finite_differences(depths):
    kusari.utils.set_random_seed(0)
    model = ex.RecursiveNet(units=3, out_dim=2, activation="tanh", dtype="float64")
    rng = np.random.default_rng(0)
    x = kusari.tensor(rng.normal(size=(3, 2)), dtype="float64")
    target = kusari.tensor(rng.normal(size=(3, 2)), dtype="float64")
    k = kusari.tensor(np.array(depths, dtype="int32"))
    loss = _loss(model, x, k, target)
    weights = model.trainable_weights
    assert all(w.dtype == "float64" for w in weights) and len(weights) == 6
    grads = kusari.grad(loss, weights)
    h = 1e-6
    for w, g in zip(weights, grads):
        base = w.numpy().copy()
        num = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            for sign in (1, -1):
                bumped = base.copy()
                bumped[i] += sign * h
                w.assign(bumped)
                num[i] += sign * _loss(model, x, k, target).item() / (2 * h)
        w.assign(base)
        np.testing.assert_allclose(g.numpy(), num, rtol=1e-6, atol=1e-8)


def test_each_sample_runs_its_own_depth():
    kusari.utils.set_random_seed(0)
    model = ex.RecursiveNet(units=3, activation="tanh")
    x = kusari.random.normal((3, 2))
    mixed = model((x, kusari.tensor(np.array([1, 4, 2], "int32")))).numpy()
    for i, depth in enumerate([1, 4, 2]):
        with kusari.capture(model, ["cell"]) as taps:
            alone = model((x[i:i + 1], kusari.tensor(np.array([depth], "int32")))).numpy()
        assert len(taps.all["cell"]) == depth                 # the loop unrolled exactly k times
        np.testing.assert_allclose(mixed[i:i + 1], alone, rtol=1e-5, atol=1e-6)
    one = model((x, kusari.tensor(np.ones(3, "int32")))).numpy()
    assert not np.allclose(one[1], mixed[1])


def test_learns_the_rotation():
    # 8 hidden units: the quick run's 64 steps learn the rotation from any start (2 units did from some seeds only)
    backend = kusari.backend()
    model, history, test_mse = ex.main(quick=True, verbose=0)
    assert all(w.backend is backend for w in model.weights)
    loss = history.history["loss"]
    assert loss[-1] < 0.2 * loss[0]
    assert test_mse < 0.2
    (x, k), y = ex.rotation_data(64, seed=3)
    k_wrong = np.where(k == 1, 2, 1).astype("int32")        # the depth matters: wrong k, large error
    err_wrong = np.mean((model.predict((x, k_wrong), verbose=0) - y) ** 2)
    assert err_wrong > 5 * test_mse
