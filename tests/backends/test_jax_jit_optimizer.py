"""compile(jit_compile=True) on the jax backend with the optimizer update inside the compiled step.

Every built-in optimizer, with a float learning rate or a schedule and with or without clipping (plus weight decay,
gradient accumulation and EMA), computes its step-dependent numbers from the traced ``iterations`` variable, so the
whole step (forward, backward, update, ``iterations += 1``) is one compiled call; 20 compiled steps give the numbers
of 20 eager steps on jax and on NumPy."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")

import kusari  # noqa: E402
from kusari import layers, losses, optimizers  # noqa: E402
from kusari.models import Sequential  # noqa: E402
from kusari.optimizers import schedules  # noqa: E402
from kusari.testing.backends import FLOAT32_TOLERANCE  # noqa: E402

STEPS, BATCH = 20, 8


@pytest.fixture(autouse=True)
def _jax():
    kusari.set_backend("jax")
    yield
    kusari.set_backend("jax")


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS * BATCH, 5)).astype("float32")
    y = rng.integers(0, 3, STEPS * BATCH).astype("int32")
    return x, y


def _fit(jit, make_opt, count_applies=False, backend="jax"):
    kusari.set_backend(backend)
    x, y = _data()
    m = Sequential([layers.Input((5,)), layers.Dense(7, activation="relu"), layers.Dense(3)])
    rng = np.random.default_rng(1)
    m.set_weights([(rng.standard_normal(w.shape) * 0.3).astype("float32") for w in m.weights])
    opt = make_opt()
    calls = {"eager": 0, "traced": 0}
    if count_applies:
        real_apply = opt.apply

        def apply(grads, variables=None):
            it = opt._iterations
            calls["eager" if it.backend.is_concrete(it.data) else "traced"] += 1
            return real_apply(grads, variables)
        opt.apply = apply
    m.compile(optimizer=opt, loss=losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
              jit_compile=jit)
    history = m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0).history
    state = [w.numpy() for w in m.weights] + [v.numpy() for v in opt.variables]
    return m, state, calls, history


# name -> (class and settings, base learning rate)
OPTIMIZERS = {
    "sgd": (lambda lr, **k: optimizers.SGD(lr, **k), 0.1),
    "sgd_momentum_wd": (lambda lr, **k: optimizers.SGD(lr, momentum=0.9, weight_decay=0.05, **k), 0.1),
    "sgd_nesterov": (lambda lr, **k: optimizers.SGD(lr, momentum=0.9, nesterov=True, **k), 0.1),
    "adam": (lambda lr, **k: optimizers.Adam(lr, **k), 1e-2),
    "adam_amsgrad": (lambda lr, **k: optimizers.Adam(lr, amsgrad=True, **k), 1e-2),
    "adamw": (lambda lr, **k: optimizers.AdamW(lr, weight_decay=0.1, **k), 1e-2),
    "adamax": (lambda lr, **k: optimizers.Adamax(lr, **k), 1e-2),
    "nadam": (lambda lr, **k: optimizers.Nadam(lr, **k), 1e-2),
    "rmsprop": (lambda lr, **k: optimizers.RMSprop(lr, **k), 1e-2),
    "rmsprop_centered_momentum": (lambda lr, **k: optimizers.RMSprop(lr, momentum=0.5, centered=True, **k), 1e-2),
    "adagrad": (lambda lr, **k: optimizers.Adagrad(lr, **k), 0.1),
    "adadelta": (lambda lr, **k: optimizers.Adadelta(lr, **k), 1.0),
    "lion": (lambda lr, **k: optimizers.Lion(lr, **k), 1e-3),
}

# every built-in schedule, each starting at (or warming up to) the optimizer's learning rate
SCHEDULES = [
    lambda lr: schedules.ExponentialDecay(lr, decay_steps=5, decay_rate=0.5),
    lambda lr: schedules.PiecewiseConstantDecay([5, 12], [lr, lr / 2, lr / 10]),
    lambda lr: schedules.PolynomialDecay(lr, 7, end_learning_rate=lr / 10, power=2.0, cycle=True),
    lambda lr: schedules.InverseTimeDecay(lr, decay_steps=4, decay_rate=0.5, staircase=True),
    lambda lr: schedules.CosineDecay(lr / 10, decay_steps=10, alpha=0.1, warmup_target=lr, warmup_steps=5),
    lambda lr: schedules.CosineDecayRestarts(lr, first_decay_steps=4, m_mul=0.8),
]

CLIPPING = {"no_clip": {}, "clipnorm": {"clipnorm": 0.05}, "global_clipnorm": {"global_clipnorm": 0.1}}


def _factory(name, lr_kind, clip):
    make, lr = OPTIMIZERS[name]
    index = sorted(OPTIMIZERS).index(name)
    return lambda: make(lr if lr_kind == "constant" else SCHEDULES[index % len(SCHEDULES)](lr), **CLIPPING[clip])


def _check_same(reference, got, rtol, atol):
    assert len(reference) == len(got)
    for a, b in zip(reference, got):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)


def _check_traced(m, calls):
    step = m._kusari_jit_step
    assert step.traced_update is True and step.traces == 1 and not step.eager
    assert step.eager_optimizer_calls == 0
    assert calls == {"eager": 1, "traced": 1}       # step 1 runs eagerly (builds the slots), then only the trace
    assert int(m.optimizer.iterations) == STEPS


@pytest.mark.parametrize("clip", sorted(CLIPPING))
@pytest.mark.parametrize("lr_kind", ["constant", "schedule"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_traced_update_matches_eager_jax_and_numpy_for_20_steps(name, lr_kind, clip):
    make = _factory(name, lr_kind, clip)
    _, eager, _, h_eager = _fit(False, make)
    _, on_numpy, _, _ = _fit(False, make, backend="numpy")
    m, jitted, calls, h_jit = _fit(True, make, count_applies=True)
    _check_traced(m, calls)
    _check_same(eager, jitted, rtol=1e-5, atol=1e-6)
    _check_same(on_numpy, jitted, *FLOAT32_TOLERANCE["training"])
    np.testing.assert_allclose(h_jit["loss"], h_eager["loss"], rtol=1e-5)
    assert h_jit["accuracy"] == h_eager["accuracy"]


EXTRAS = {
    "clipvalue": lambda: optimizers.Adam(1e-2, clipvalue=0.02),
    "accumulation": lambda: optimizers.Adam(1e-2, gradient_accumulation_steps=3),
    "accumulation_nadam_schedule": lambda: optimizers.Nadam(schedules.ExponentialDecay(1e-2, 2, 0.7),
                                                            gradient_accumulation_steps=4, global_clipnorm=0.1),
    "ema": lambda: optimizers.SGD(0.1, momentum=0.9, use_ema=True, ema_momentum=0.8),
    "ema_overwrite": lambda: optimizers.SGD(0.1, momentum=0.9, use_ema=True, ema_momentum=0.8,
                                            ema_overwrite_frequency=3),
    "ema_accumulation": lambda: optimizers.RMSprop(1e-2, use_ema=True, ema_overwrite_frequency=2,
                                                   gradient_accumulation_steps=2),
    "loss_scale": lambda: optimizers.Adagrad(0.1, loss_scale_factor=4.0, weight_decay=0.01),
}


@pytest.mark.parametrize("name", sorted(EXTRAS))
def test_clipvalue_accumulation_and_ema_are_traced_and_match_eager(name):
    make = EXTRAS[name]
    _, eager, _, _ = _fit(False, make)
    _, on_numpy, _, _ = _fit(False, make, backend="numpy")
    m, jitted, calls, _ = _fit(True, make, count_applies=True)
    step = m._kusari_jit_step
    assert step.traced_update is True and step.traces == 1 and step.eager_optimizer_calls == 0
    assert calls == {"eager": 1, "traced": 1}
    _check_same(eager, jitted, rtol=1e-5, atol=1e-6)
    _check_same(on_numpy, jitted, *FLOAT32_TOLERANCE["training"])


@pytest.mark.parametrize("make", SCHEDULES, ids=[type(f(0.1)).__name__ for f in SCHEDULES])
def test_every_schedule_computes_on_a_traced_step(make):
    s = make(0.1)
    compiled = jax.jit(lambda step: s(kusari.Tensor._wrap(step)).data)
    for k in range(40):
        assert float(compiled(jax.numpy.asarray(k, "int64"))) == float(s(k))


def test_a_callable_learning_rate_keeps_the_update_eager_and_still_matches():
    make = lambda: optimizers.Adam(lambda: 0.01, clipnorm=1.0)  # noqa: E731  (a closure may read anything)
    _, eager, _, _ = _fit(False, make)
    m, jitted, calls, _ = _fit(True, make, count_applies=True)
    step = m._kusari_jit_step
    assert step.traced_update is False and step.traces == 1
    assert step.eager_optimizer_calls == STEPS - 1 and calls == {"eager": STEPS, "traced": 0}
    _check_same(eager, jitted, rtol=1e-6, atol=1e-6)


def test_a_subclass_that_overrides_the_update_keeps_it_eager():
    class Halved(optimizers.SGD):
        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, gradient * (float(learning_rate) / 2))

    m, _, calls, _ = _fit(True, lambda: Halved(0.1), count_applies=True)
    assert m._kusari_jit_step.traced_update is False and calls == {"eager": STEPS, "traced": 0}


def test_adam_bias_correction_is_traced_not_a_python_float():
    m, _, _, _ = _fit(True, lambda: optimizers.Adam(1e-2))
    # iterations lives in the compiled state: 19 compiled steps advanced it without any eager update
    assert m._kusari_jit_step.eager_optimizer_calls == 0
    assert m.optimizer.iterations.numpy().dtype == np.int64


def _sgd_model_fitting_three_steps():
    """A compiled SGD model fitted for three steps, and a function fitting it three more."""
    x, _ = _data()
    m = Sequential([layers.Input((5,)), layers.Dense(3)])
    opt = optimizers.SGD(0.1)
    m.compile(optimizer=opt, loss="mse", jit_compile=True)
    yy = np.zeros((len(x), 3), "float32")

    def fit3():
        m.fit(x[:3 * BATCH], yy[:3 * BATCH], batch_size=BATCH, verbose=0, shuffle=False)
    fit3()
    return m, opt, fit3


def test_learning_rate_assigned_between_steps_reaches_the_compiled_update():
    m, opt, fit3 = _sgd_model_fitting_three_steps()
    opt.learning_rate = 0.0
    before = [w.numpy() for w in m.weights]
    fit3()
    for a, b in zip(before, m.weights):
        np.testing.assert_array_equal(b.numpy(), a)
    assert m._kusari_jit_step.eager_optimizer_calls == 0 and int(opt.iterations) == 6


def test_a_schedule_set_between_fits_retraces_with_the_new_state():
    m, opt, fit3 = _sgd_model_fitting_three_steps()
    opt.learning_rate = schedules.PiecewiseConstantDecay([0], [0.1, 0.0])     # 0 from here on
    before = [w.numpy() for w in m.weights]
    fit3()
    step = m._kusari_jit_step
    assert step.traces == 2 and step.traced_update and step.eager_optimizer_calls == 0
    for a, b in zip(before, m.weights):
        np.testing.assert_array_equal(b.numpy(), a)


def test_freezing_a_layer_between_epochs_reaches_the_compiled_step():
    x, y = _data()
    m = Sequential([layers.Input((5,)), layers.Dense(4), layers.Dense(3)])
    m.compile(optimizer=optimizers.SGD(0.1), loss=losses.SparseCategoricalCrossentropy(from_logits=True),
              jit_compile=True)
    m.fit(x[:3 * BATCH], y[:3 * BATCH], batch_size=BATCH, verbose=0, shuffle=False)
    m.layers[0].trainable = False
    frozen = [w.numpy() for w in m.layers[0].weights]
    trained = [w.numpy() for w in m.layers[1].weights]
    m.fit(x[:3 * BATCH], y[:3 * BATCH], batch_size=BATCH, verbose=0, shuffle=False)
    for a, w in zip(frozen, m.layers[0].weights):
        np.testing.assert_array_equal(w.numpy(), a)
    assert all(not np.array_equal(a, w.numpy()) for a, w in zip(trained, m.layers[1].weights))
    assert m._kusari_jit_step.traces == 2 and m._kusari_jit_step.eager_optimizer_calls == 0
