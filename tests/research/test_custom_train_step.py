"""A subclassed model with its own train_step and two optimizers, trained by fit: what the step returns reaches
the progress bar, History, CSVLogger, TensorBoard, ModelCheckpoint and EarlyStopping."""
import csv

import numpy as np
import pytest

import kusari
from kusari import callbacks as C
from tests.research._gan import TinyGAN, make_gan, same, snapshot

X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")


def test_compile_takes_the_subclass_keywords():
    gan = make_gan()
    assert gan.compiled and isinstance(gan.d_optimizer, kusari.optimizers.Adam)
    assert gan.d_optimizer is not gan.g_optimizer
    with pytest.raises(RuntimeError, match="compile"):
        TinyGAN().fit(X, epochs=1, verbose=0)


def test_progress_bar_shows_the_returned_keys(capsys):
    gan = make_gan()
    gan.fit(X, batch_size=8, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "d_loss:" in out and "g_loss:" in out and "steps:" in out


def test_history_csv_tensorboard(tmp_path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    gan = make_gan()
    history = gan.fit(X, batch_size=8, epochs=3, verbose=0,
                      callbacks=[C.CSVLogger(str(tmp_path / "log.csv")), C.TensorBoard(str(tmp_path / "tb"))])
    assert history is gan.history
    h = history.history
    assert set(h) == {"d_loss", "g_loss", "steps"} and h["steps"] == [4.0, 8.0, 12.0]
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [float(r["g_loss"]) for r in rows] == pytest.approx(h["g_loss"])
    acc = ea.EventAccumulator(str(tmp_path / "tb" / "train"))
    acc.Reload()
    for key in ("d_loss", "g_loss"):
        assert [e.value for e in acc.Scalars(f"epoch_{key}")] == pytest.approx(h[key], rel=1e-6)


def test_early_stopping_on_a_returned_key():
    gan = make_gan()
    # "steps" only grows: with mode="min" it never improves after epoch 1, so patience=1 stops after epoch 2
    es = C.EarlyStopping(monitor="steps", mode="min", patience=1)
    history = gan.fit(X, batch_size=8, epochs=10, verbose=0, callbacks=[es])
    assert len(history.history["steps"]) == 2 and es.stopped_epoch == 1


def test_early_stopping_restores_best_weights_of_both_submodels():
    gan = make_gan()
    seen = []
    record = C.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(snapshot(gan.weights)))
    es = C.EarlyStopping(monitor="steps", mode="min", patience=2, restore_best_weights=True)
    gan.fit(X, batch_size=8, epochs=10, verbose=0, callbacks=[record, es])
    assert len(seen) == 3 and same(seen[0], snapshot(gan.weights))


def test_model_checkpoint_on_a_returned_key(tmp_path):
    gan = make_gan()
    ck = C.ModelCheckpoint(str(tmp_path / "gan_{epoch}.weights.safetensors"), monitor="steps", mode="max",
                           save_best_only=True, save_weights_only=True)
    gan.fit(X, batch_size=8, epochs=2, verbose=0, callbacks=[ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gan_1.weights.safetensors", "gan_2.weights.safetensors"]
    other = make_gan(seed=5)
    other.train_step((X[:2],))                             # build the same weights
    assert not same(snapshot(other.weights), snapshot(gan.weights))
    other.load_weights(str(tmp_path / "gan_2.weights.safetensors"))
    assert same(snapshot(other.weights), snapshot(gan.weights))
    # a metric monitored in the wrong direction never saves after the first epoch
    ck_min = C.ModelCheckpoint(str(tmp_path / "min.weights.safetensors"), monitor="steps", mode="min",
                               save_best_only=True, save_weights_only=True)
    gan.fit(X, batch_size=8, epochs=2, verbose=0, callbacks=[ck_min])
    assert ck_min.best == 12                                # steps at the end of this fit's first epoch (8 + 4)


def test_functional_graph_with_a_custom_train_step():
    """Keras' "customizing fit" pattern: subclass Model for train_step, build it as Custom(inputs, outputs)."""
    class Custom(kusari.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.extra = kusari.metrics.Mean(name="extra")

        def train_step(self, data):
            logs = super().train_step(data)
            self.extra.update_state(2.0)
            return dict(logs, extra=self.extra.result())

    inp = kusari.Input((4,))
    model = Custom(inp, kusari.layers.Dense(1, name="out")(inp), name="custom")
    assert isinstance(model, Custom) and isinstance(model, kusari.models.Functional)
    assert model.name == "custom" and model.get_layer("out").kernel.shape == (4, 1)
    model.compile(optimizer="sgd", loss="mse")
    y = X @ np.ones((4, 1), "float32")
    history = model.fit(X, y, batch_size=8, epochs=2, verbose=0)
    assert history.history["extra"] == [2.0, 2.0] and history.history["loss"][1] < history.history["loss"][0]
