"""``fit`` keeps each step's logs as backend arrays and converts them to Python floats only where they are read: at
the end of an epoch, and at a batch end only when a callback reads batch logs. Callbacks and users still see floats
(on every backend), and a compiled jax step is not made to wait for the host every batch."""
import numpy as np
import pytest

import kusari
from kusari import callbacks, layers
from kusari.callbacks import Callback, CallbackList
from kusari.models import Sequential
from kusari.tensor import Tensor


class _Sees(Callback):
    """Records the batch-end logs it gets."""

    def __init__(self):
        super().__init__()
        self.batch_logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))


class _Silent(Callback):
    """Overrides no batch hook."""

    def __init__(self):
        super().__init__()
        self.epoch_logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))


class _RawReader(Callback):
    _supports_backend_logs = True

    def __init__(self):
        super().__init__()
        self.batch_logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))


def _tensor_logs():
    return {"loss": Tensor(0.5), "accuracy": Tensor(0.25)}


def test_batch_logs_are_converted_only_when_a_callback_reads_them():
    raw, silent = _RawReader(), _Silent()
    CallbackList([raw, silent]).on_train_batch_end(0, _tensor_logs())
    assert all(isinstance(v, Tensor) for v in raw.batch_logs[0].values())      # nobody needed floats

    seer, raw = _Sees(), _RawReader()
    CallbackList([raw, seer]).on_train_batch_end(0, _tensor_logs())
    assert seer.batch_logs == [{"accuracy": 0.25, "loss": 0.5}]
    assert raw.batch_logs[0] is not None and all(type(v) is float for v in raw.batch_logs[0].values())


@pytest.mark.parametrize("hook", ["on_batch_end", "on_train_batch_end"])
def test_a_lambda_callback_reading_batch_logs_gets_floats(hook):
    got = []
    cb = callbacks.LambdaCallback(**{hook: lambda batch, logs: got.append(logs)})
    CallbackList([cb]).on_train_batch_end(0, _tensor_logs())
    assert got == [{"accuracy": 0.25, "loss": 0.5}] and all(type(v) is float for v in got[0].values())


def test_epoch_and_test_logs_are_always_floats():
    silent = _Silent()
    cbs = CallbackList([silent])
    cbs.on_epoch_end(0, _tensor_logs())
    assert silent.epoch_logs == [{"accuracy": 0.25, "loss": 0.5}]
    assert all(type(v) is float for v in silent.epoch_logs[0].values())


def _fit(backend, jit, cbs, epochs=2):
    kusari.set_backend(backend)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = rng.integers(0, 3, 64)
    m = Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    m.set_weights([(np.random.default_rng(1).standard_normal(w.shape) * 0.3).astype("float32") for w in m.weights])
    m.compile(optimizer="adam", loss=kusari.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"], jit_compile=jit)
    h = m.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0, callbacks=cbs)
    return m, h


BACKENDS = ["numpy"] + (["jax"] if "jax" in kusari.backend.installed() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_history_and_batch_callbacks_see_floats(backend):
    seer, silent = _Sees(), _Silent()
    try:
        _, h = _fit(backend, backend == "jax", [seer, silent])
    finally:
        kusari.set_backend("numpy")
    assert set(h.history) == {"loss", "accuracy"}
    assert all(type(v) is float for vals in h.history.values() for v in vals)
    assert len(seer.batch_logs) == 16
    assert all(type(v) is float for logs in seer.batch_logs for v in logs.values())
    assert silent.epoch_logs == [{k: h.history[k][e] for k in h.history} for e in range(2)]
    assert seer.batch_logs[7] == silent.epoch_logs[0]        # the last batch's running metrics are the epoch's


@pytest.mark.skipif("jax" not in kusari.backend.installed(), reason="needs jax")
def test_jitted_fit_reads_logs_back_once_per_epoch_not_per_step(monkeypatch):
    reads = []
    real_item = Tensor.item

    def item(self):
        reads.append(1)
        return real_item(self)
    try:
        m, _ = _fit("jax", True, [callbacks.History()], epochs=1)      # compiles
        monkeypatch.setattr(Tensor, "item", item)
        m.fit(np.zeros((80, 4), "float32"), np.zeros(80, "int64"), batch_size=8, epochs=2, verbose=0,
              callbacks=[callbacks.ProgbarLogger()])
    finally:
        kusari.set_backend("numpy")
    assert len(reads) == 2 * 2          # loss and accuracy, at each of the 2 epoch ends; none for the 20 steps


@pytest.mark.skipif("jax" not in kusari.backend.installed(), reason="needs jax")
def test_jitted_fit_with_metrics_matches_eager_history_and_updates_metrics_in_the_graph():
    eager, he = _fit("jax", False, None)
    compiled, hc = _fit("jax", True, None)
    he, hc = he.history, hc.history
    step = compiled._kusari_jit_step
    swapped = {id(t) for t in step.tensors}
    metric_vars = [v for metric in compiled.metrics for v in metric.variables]
    assert metric_vars and all(id(v) in swapped for v in metric_vars)     # totals and counts are traced state
    np.testing.assert_allclose(hc["loss"], he["loss"], rtol=1e-5)
    assert hc["accuracy"] == he["accuracy"]

    # another epoch runs the compiled function only: no Python metric update, yet the totals advance as eagerly
    calls = []
    for metric in compiled.metrics:
        real = metric.update_state
        metric.update_state = lambda *a, _real=real, **k: (calls.append(1), _real(*a, **k))[1]
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = np.random.default_rng(0).integers(0, 3, 64)
    h2 = compiled.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    he2 = eager.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    kusari.set_backend("numpy")
    assert calls == [] and step.traces == 1
    np.testing.assert_allclose(h2["loss"], he2["loss"], rtol=1e-5)
    assert h2["accuracy"] == he2["accuracy"]
