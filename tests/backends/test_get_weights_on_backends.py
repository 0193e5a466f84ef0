"""``get_weights()`` returns copies on every backend (Keras semantics): the arrays it gave do not change when the
model trains, so ``set_weights`` with them restores the starting point (numpy and torch update weights in place)."""
import numpy as np
import pytest

import kusari
from kusari import backend as _backend
from kusari import layers


@pytest.mark.parametrize("backend_name", _backend.installed())
def test_get_weights_returns_copies_that_training_does_not_touch(backend_name):
    kusari.set_backend(backend_name)
    kusari.utils.set_random_seed(0)
    model = kusari.Sequential([layers.Input((3,)), layers.Dense(2), layers.BatchNormalization()])
    model.compile(optimizer="adam", loss="mse")
    start = model.get_weights()
    kept = [a.copy() for a in start]
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    y = np.ones((8, 2), "float32")
    first = model.fit(x, y, epochs=3, verbose=0, shuffle=False).history["loss"]
    for a, b in zip(start, kept):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(start, model.weights)), "training moved the weights"
    model.set_weights(start)
    for a, w in zip(start, model.weights):
        np.testing.assert_array_equal(w.numpy(), a)
    start[0][...] = 0.0                     # writing into the returned array leaves the weight alone
    assert not np.array_equal(model.weights[0].numpy(), start[0])
    model.compile(optimizer="adam", loss="mse")
    again = model.fit(x, y, epochs=3, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(again, first, rtol=1e-6)
