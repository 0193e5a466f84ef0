import csv

import numpy as np
import pytest

import kusari
from kusari import callbacks as C
from tests.examples._load import load_example, same, snapshot

ex = load_example("custom_loop")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _events(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.SCALARS: 0,
                                                                         event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def test_custom_loop_keeps_the_comforts(tmp_path, capsys):
    ck = C.ModelCheckpoint(str(tmp_path / "best.weights.safetensors"), monitor="val_accuracy", mode="max",
                           save_best_only=True, save_weights_only=True)
    model, history = ex.main(quick=True, log_dir=str(tmp_path), verbose=1, extra_callbacks=[ck])
    h = history.history
    # History (from the hand-driven CallbackList) and the progress bar
    assert set(h) == {"loss", "accuracy", "val_accuracy"} and len(h["loss"]) == 3
    assert h["loss"][-1] < h["loss"][0]
    out = capsys.readouterr().out
    assert out.count("8/8") == 3 and "loss:" in out and "accuracy:" in out
    # the metric objects computed what they say: val accuracy of the final model, by NumPy
    _, (xv, yv) = ex.load_data(256)
    acc = np.mean(np.argmax(model(kusari.tensor(xv)).numpy(), 1) == yv)
    assert h["val_accuracy"][-1] == pytest.approx(acc)
    # CSVLogger
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [float(r["loss"]) for r in rows] == pytest.approx(h["loss"])
    # the summary writer, read back with TensorBoard's own reader
    events = _events(tmp_path / "custom")
    batch = events.Scalars("batch_loss")
    assert [e.step for e in batch] == list(range(24))
    assert [e.value for e in events.Scalars("epoch_loss")] == pytest.approx(h["loss"], rel=1e-6)
    assert [e.value for e in events.Scalars("epoch_val_accuracy")] == pytest.approx(h["val_accuracy"], rel=1e-6)
    assert np.mean([e.value for e in batch[-8:]]) < np.mean([e.value for e in batch[:8]])
    assert len(events.Histograms("features/kernel")) == 3
    # ModelCheckpoint: val_accuracy rose every epoch here, so the file holds the final weights
    assert h["val_accuracy"] == sorted(h["val_accuracy"])
    fresh = ex.make_model()
    fresh.load_weights(str(tmp_path / "best.weights.safetensors"))
    assert same(snapshot(fresh.weights), snapshot(model.weights))


def test_early_stopping_stops_the_hand_written_loop(tmp_path):
    stop = C.EarlyStopping(monitor="loss", mode="max", patience=0)     # the loss falls: "no improvement"
    _, history = ex.main(quick=True, log_dir=str(tmp_path), verbose=0, extra_callbacks=[stop])
    assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1
