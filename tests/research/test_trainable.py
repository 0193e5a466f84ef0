"""``layer.trainable = False`` takes effect at the very next step, in fit and in custom loops; no recompile."""
import numpy as np

import kusari
from kusari import layers
from tests.research._gan import same, snapshot


def _model():
    kusari.utils.set_random_seed(0)
    base = kusari.Sequential([kusari.Input((4,)), layers.Dense(8, activation="tanh", name="base_dense")],
                             name="base")
    model = kusari.Sequential([base, layers.Dense(1, name="head")])
    model.compile(optimizer=kusari.optimizers.Adam(1e-2), loss="mse")
    return base, model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 1))).astype("float32")


def test_freeze_unfreeze_between_steps_without_recompile():
    base, model = _model()
    x, y = _data()
    model.train_on_batch(x, y)                              # momentum for the base is now non-zero
    opt = model.optimizer
    base.trainable = False
    b0, h0, o0 = snapshot(base.weights), snapshot(model.get_layer("head").weights), snapshot(opt.variables[2:])
    model.train_on_batch(x, y)                              # the very next step
    assert same(b0, snapshot(base.weights))                 # Adam momentum would move them if applied
    assert not same(h0, snapshot(model.get_layer("head").weights))
    base_slots = [v for v in opt.variables if "base_dense" in v.path]
    assert base_slots and all((v.numpy() == o).all() for v, o in zip(opt.variables[2:], o0) if "base_dense" in v.path)
    base.trainable = True
    model.train_on_batch(x, y)
    assert not same(b0, snapshot(base.weights))


def test_frozen_before_first_step_then_unfrozen_in_fit():
    base, model = _model()
    x, y = _data()
    base.trainable = False
    b0 = snapshot(base.weights)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert same(b0, snapshot(base.weights))
    base.trainable = True                                    # no compile() in between
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not same(b0, snapshot(base.weights))


def test_freeze_in_a_custom_loop():
    base, model = _model()
    x, y = (kusari.tensor(a) for a in _data())
    opt = kusari.optimizers.SGD(0.1, momentum=0.9)

    def step():
        loss = kusari.ops.mean((model(x) - y) ** 2)
        w = model.trainable_weights
        opt.apply(kusari.grad(loss, w), w)
        return w

    assert len(step()) == 4
    base.trainable = False
    b0 = snapshot(base.weights)
    assert len(step()) == 2                                  # only the head's kernel and bias
    assert same(b0, snapshot(base.weights))
    base.trainable = True
    assert len(step()) == 4
    assert not same(b0, snapshot(base.weights))
