"""The jax backend: immutable arrays (assign rebinds), PRNG keys, and compile(jit_compile=True)."""
import warnings

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import kusari  # noqa: E402
from kusari import layers, ops, optimizers  # noqa: E402
from kusari.models import Sequential  # noqa: E402


@pytest.fixture(autouse=True)
def _jax():
    kusari.set_backend("jax")


def test_arrays_are_jax_arrays_and_assign_rebinds():
    p = kusari.Parameter([1.0, 2.0])
    assert isinstance(p.data, jax.Array)
    before = p.data
    p.assign([3.0, 4.0])
    assert p.data is not before and p.numpy().tolist() == [3.0, 4.0]
    p[1] = 9.0
    assert p.numpy().tolist() == [3.0, 9.0]
    x = kusari.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.numpy().tolist() == [2.0, 4.0]


def test_float64_works():
    assert ops.ones((2,), dtype="float64").numpy().dtype == np.float64


def test_rng_resume():
    g = kusari.random.SeedGenerator(3)
    state = g.state
    a = kusari.random.normal((4,), seed=g)
    g.set_state(state)
    assert kusari.random.normal((4,), seed=g).tolist() == a.tolist()


def _model(dropout=0.0):
    return Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.BatchNormalization(),
                       layers.Dropout(dropout), layers.Dense(3, activation="softmax")])


def _fit(jit, x, y, init, dropout=0.0):
    kusari.utils.set_random_seed(0)
    m = _model(dropout)
    m.set_weights(init)
    m.compile(optimizer=optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              jit_compile=jit)
    h = m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return m, h.history


def test_jit_train_step_matches_eager_and_compiles_once():
    x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, 32)
    init = [w.numpy() for w in _model().weights]
    eager, he = _fit(False, x, y, init)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no fallback warning
        compiled, hc = _fit(True, x, y, init)
    step = compiled._kusari_jit_step
    assert not step.eager and step.traces == 1, "one trace, then the compiled step is reused"
    for a, b in zip(compiled.weights, eager.weights):      # moving mean/var included
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hc["loss"], he["loss"], rtol=1e-5)
    assert hc["accuracy"] == he["accuracy"]


def test_jit_with_dropout_draws_new_masks_each_step():
    x = np.ones((8, 6), "float32")
    y = np.zeros(8, "int64")
    init = [w.numpy() for w in _model(0.5).weights]
    m, _ = _fit(True, x, y, init, dropout=0.5)
    gen = next(la for la in m.layers if isinstance(la, layers.Dropout)).seed_generator
    k1 = np.asarray(gen.generator.key).copy()
    m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(np.asarray(gen.generator.key), k1), "the rng key is state the compiled step advances"


class _ValueDependent(layers.Layer):
    def call(self, x):
        if float(ops.sum(x)) > 0:       # Python control flow on a tensor value: not traceable
            return x
        return -x


def test_value_dependent_control_flow_falls_back_with_one_warning():
    m = Sequential([layers.Input((3,)), layers.Dense(2), _ValueDependent()])
    m.compile(optimizer="sgd", loss="mse", jit_compile=True)
    x = np.ones((8, 3), "float32")
    with pytest.warns(RuntimeWarning, match=r"jit_compile=True: the train step cannot be compiled \((Concretization"
                                            r"Type|Tracer\w+)Error.*Running it eagerly") as rec:
        m.fit(x, np.zeros((8, 2), "float32"), batch_size=2, epochs=1, verbose=0)
    assert len([w for w in rec if "jit_compile" in str(w.message)]) == 1
    assert m._kusari_jit_step.eager


def test_jit_compile_is_ignored_on_backends_that_cannot_compile():
    kusari.set_backend("numpy")
    m = Sequential([layers.Input((3,)), layers.Dense(2)])
    m.compile(optimizer="sgd", loss="mse", jit_compile=True)
    m.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    assert getattr(m, "_kusari_jit_step", None) is None
