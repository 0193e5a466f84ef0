"""compile(jit_compile=True) on the jax backend with the optimizer update inside the compiled step: Adam/AdamW and
SGD compute their step-dependent scalars from the traced ``iterations`` variable, so the whole step (forward,
backward, update, ``iterations += 1``) is one compiled call, and it gives the eager numbers."""
import numpy as np
import pytest

pytest.importorskip("jax")

import kusari  # noqa: E402
from kusari import layers, losses, optimizers  # noqa: E402
from kusari.models import Sequential  # noqa: E402

STEPS, BATCH = 20, 8


@pytest.fixture(autouse=True)
def _jax():
    kusari.set_backend("jax")


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS * BATCH, 5)).astype("float32")
    y = rng.integers(0, 3, STEPS * BATCH).astype("int32")
    return x, y


def _fit(jit, make_opt, count_eager_applies=False):
    x, y = _data()
    m = Sequential([layers.Input((5,)), layers.Dense(7, activation="relu"), layers.Dense(3)])
    rng = np.random.default_rng(1)
    m.set_weights([(rng.standard_normal(w.shape) * 0.3).astype("float32") for w in m.weights])
    opt = make_opt()
    calls = {"eager": 0, "traced": 0}
    if count_eager_applies:
        real_apply = opt.apply

        def apply(grads, variables=None):
            it = opt._iterations
            calls["eager" if it.backend.is_concrete(it.data) else "traced"] += 1
            return real_apply(grads, variables)
        opt.apply = apply
    m.compile(optimizer=opt, loss=losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
    m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    state = [w.numpy() for w in m.weights] + [v.numpy() for v in opt.variables]
    return m, state, calls


OPTIMIZERS = {
    "adam": lambda: optimizers.Adam(1e-2),
    "adam_amsgrad": lambda: optimizers.Adam(1e-2, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(1e-2, weight_decay=0.1),
    "sgd": lambda: optimizers.SGD(0.1),
    "sgd_nesterov": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_jitted_update_matches_eager_jax_for_20_steps(name):
    _, eager, _ = _fit(False, OPTIMIZERS[name])
    m, jitted, calls = _fit(True, OPTIMIZERS[name], count_eager_applies=True)
    step = m._kusari_jit_step
    assert step.traced_update is True and step.traces == 1
    assert step.eager_optimizer_calls == 0
    assert calls == {"eager": 1, "traced": 1}       # step 1 runs eagerly (builds the slots), then only the trace
    assert int(m.optimizer.iterations) == STEPS
    assert len(eager) == len(jitted)
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_adam_bias_correction_is_traced_not_a_python_float():
    m, _, _ = _fit(True, OPTIMIZERS["adam"])
    # iterations lives in the compiled state: 19 compiled steps advanced it without any eager update
    assert m._kusari_jit_step.eager_optimizer_calls == 0
    assert m.optimizer.iterations.numpy().dtype == np.int64


def test_optimizer_that_needs_concrete_numbers_is_applied_eagerly_and_still_matches():
    make = lambda: optimizers.Adam(1e-2, clipnorm=1.0)  # noqa: E731  (clipping reads float(norm))
    _, eager, _ = _fit(False, make)
    m, jitted, calls = _fit(True, make, count_eager_applies=True)
    step = m._kusari_jit_step
    assert step.traced_update is False and step.traces == 1
    assert step.eager_optimizer_calls == STEPS - 1 and calls == {"eager": STEPS, "traced": 0}
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_learning_rate_assigned_between_steps_reaches_the_compiled_update():
    x, y = _data()
    m = Sequential([layers.Input((5,)), layers.Dense(3)])
    opt = optimizers.SGD(0.1)
    m.compile(optimizer=opt, loss="mse", jit_compile=True)
    yy = np.zeros((len(x), 3), "float32")
    m.fit(x[:3 * BATCH], yy[:3 * BATCH], batch_size=BATCH, verbose=0, shuffle=False)
    opt.learning_rate = 0.0
    before = [w.numpy() for w in m.weights]
    m.fit(x[:3 * BATCH], yy[:3 * BATCH], batch_size=BATCH, verbose=0, shuffle=False)
    for a, b in zip(before, m.weights):
        np.testing.assert_array_equal(b.numpy(), a)
    assert m._kusari_jit_step.eager_optimizer_calls == 0 and int(opt.iterations) == 6
