"""Same numbers everywhere: one model, the same weights, on every installed backend.

Tolerances (float32): outputs and gradients of whole models rtol 1e-4 / atol 1e-5 (matmul/conv accumulation order
differs between BLAS, oneDNN and XLA); 20 training steps rtol 1e-3 / atol 1e-5 (those differences compounded);
a model saved on one backend and loaded on another predicts the same to 1e-5 (the weights move bit-exactly).
"""
import numpy as np
import pytest

import kusari
from kusari import layers, optimizers
from kusari.models import Sequential
from kusari.saving import load_model
from kusari.testing import check_backends
from kusari.testing.backends import FLOAT32_TOLERANCE

from tests.backends._util import OTHERS, others_or_skip


def _mlp():
    return Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.LayerNormalization(),
                       layers.Dense(8, activation="tanh"), layers.Dense(3, activation="softmax")])


def _cnn():
    return Sequential([layers.Input((10, 10, 3)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                       layers.MaxPooling2D(2), layers.Conv2D(5, 3, strides=2, padding="same"),
                       layers.BatchNormalization(), layers.AveragePooling2D(2, padding="same"),
                       layers.Flatten(), layers.Dense(2)])


def _conv1d_gru():
    return Sequential([layers.Input((7, 3)), layers.Conv1D(4, 3, padding="causal", dilation_rate=2),
                       layers.GRU(5), layers.Dense(2)])


MODELS = {"mlp": (_mlp, (4, 6)), "cnn": (_cnn, (2, 10, 10, 3)), "conv1d_gru": (_conv1d_gru, (3, 7, 3))}


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("backend_name", others_or_skip())
@pytest.mark.parametrize("model_name", list(MODELS))
def test_same_outputs_and_gradients(model_name, backend_name):
    kusari.set_backend("numpy")
    kusari.utils.set_random_seed(0)
    build, shape = MODELS[model_name]
    model = build()
    report = check_backends(model, _x(shape), backends=["numpy", backend_name])
    assert report["ok"] and report["reference"] == "numpy"
    assert report["backends"][backend_name]["grads"], "the gradients were compared"
    assert kusari.backend().name == "numpy", "check_backends restores the current backend"
    assert isinstance(model.weights[0].data, np.ndarray), "and the model's own weights"


def test_check_backends_reports_the_worst_mismatch():
    kusari.set_backend("numpy")
    model = _mlp()
    x = _x((4, 6))
    report = check_backends(model, x, backends=["numpy", "numpy:cpu"])
    assert report["ok"] and report["worst"]["max_abs"] == 0.0
    # a model whose second run is off by 1e-2: the error names the backend, the output and the size
    with pytest.raises(AssertionError, match=r"numpy:cpu differs from numpy in output 0: max abs error 0.01"):
        check_backends(_Perturbed(model), x, backends=["numpy", "numpy:cpu"], grads=False)
    report = check_backends(_Perturbed(model), x, backends=["numpy", "numpy:cpu"], raise_on_mismatch=False)
    assert not report["ok"] and report["worst"]["backend"] == "numpy:cpu"


class _Perturbed:
    """A model whose second run adds 1e-2 to its output (to see check_backends fail)."""

    def __init__(self, model):
        self.model, self.runs = model, 0
        self.weights, self.trainable_weights = model.weights, model.trainable_weights

    def __call__(self, x, training=False):
        self.runs += 1
        y = self.model(x, training=training)
        return y + 1e-2 if self.runs > 1 else y


def _train(backend_name, weights, x, y, jit_compile=False, optimizer="adam"):
    kusari.set_backend(backend_name)
    model = _mlp()
    model.set_weights(weights)
    opt = optimizers.Adam(1e-2) if optimizer == "adam" else optimizers.SGD(0.1, momentum=0.9)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    hist = model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0)   # 40 samples / 8 = 5 steps x 4
    return [w.numpy() for w in model.weights], hist.history


@pytest.mark.parametrize("backend_name", others_or_skip())
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_twenty_training_steps_match(backend_name, optimizer):
    kusari.set_backend("numpy")
    kusari.utils.set_random_seed(1)
    init = [w.numpy() for w in _mlp().weights]
    x = _x((32, 6), seed=2)
    y = np.random.default_rng(3).integers(0, 3, size=(32,))
    ref_w, ref_h = _train("numpy", init, x, y, optimizer=optimizer)
    got_w, got_h = _train(backend_name, init, x, y, optimizer=optimizer)
    rtol, atol = FLOAT32_TOLERANCE["training"]
    for a, b in zip(got_w, ref_w):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    np.testing.assert_allclose(got_h["loss"], ref_h["loss"], rtol=rtol, atol=atol)
    assert got_h["accuracy"] == ref_h["accuracy"]


@pytest.mark.parametrize("source", ["numpy"] + OTHERS)
@pytest.mark.parametrize("fmt", [".kusari", ".keras"])
def test_saved_on_one_backend_loads_on_every_other(tmp_path, source, fmt):
    if not OTHERS:
        pytest.skip("no backend besides numpy is installed")
    kusari.set_backend(source)
    kusari.utils.set_random_seed(4)
    model = _cnn()
    x = _x((2, 10, 10, 3), seed=5)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((2, 2), np.float32), epochs=1, verbose=0)   # moving stats and optimizer state too
    want = model.predict(x, verbose=0)
    path = str(tmp_path / f"model{fmt}")
    model.save(path)
    for target in ["numpy"] + OTHERS:
        kusari.set_backend(target)
        loaded = load_model(path)
        assert loaded.weights[0].backend.name == target
        got = loaded.predict(x, verbose=0)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5,
                                   err_msg=f"saved on {source}, loaded on {target}")
        for a, b in zip(loaded.weights, model.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
