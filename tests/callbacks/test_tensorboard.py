import builtins
import os

import numpy as np
import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from kusari.callbacks import CallbackList, TensorBoard, create_file_writer  # noqa: E402
from tests.callbacks.fakes import FakeModel  # noqa: E402


def load(folder):
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0,
                                    event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def fit(tb, model, epochs=3, steps=4):
    cbs = CallbackList([tb], model=model, epochs=epochs, steps=steps, verbose=0)
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            model.set_all(epoch + batch / 10)
            cbs.on_train_batch_end(batch, {"loss": 10.0 * epoch + batch, "accuracy": 0.5})
        model.optimizer.iterations = (epoch + 1) * steps
        cbs.on_test_begin()
        cbs.on_test_end({"loss": 2.0 - epoch})
        cbs.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.25 * epoch,
                                 "val_loss": 2.0 - epoch, "val_accuracy": 0.5})
        model.optimizer.learning_rate = 0.1 / (epoch + 2)
    cbs.on_train_end()


def test_epoch_scalars_and_histograms(tmp_path):
    model = FakeModel(learning_rate=0.1)
    fit(TensorBoard(log_dir=tmp_path, histogram_freq=2), model)
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train = load(tmp_path / "train")
    assert scalars(train, "epoch_loss") == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert scalars(train, "epoch_accuracy") == [(0, 0.0), (1, 0.25), (2, 0.5)]
    lrs = scalars(train, "epoch_learning_rate")
    assert [s for s, _ in lrs] == [0, 1, 2]
    assert [v for _, v in lrs] == pytest.approx([0.1, 0.05, 0.1 / 3], rel=1e-6)
    assert not any(t.startswith("batch_") for t in train.Tags()["scalars"])      # update_freq="epoch"
    # histograms every 2 epochs (0 and 2), tagged by weight path
    hist_tags = set(train.Tags()["histograms"])
    assert hist_tags == {"dense/kernel/histogram", "dense/bias/histogram"}
    kernel = train.Histograms("dense/kernel/histogram")
    assert [h.step for h in kernel] == [0, 2]
    # the weights at epoch 2's end are all 2.3 (6 values)
    last = kernel[-1].histogram_value
    assert last.num == 6 and last.min == pytest.approx(2.3) and last.max == pytest.approx(2.3)

    val = load(tmp_path / "validation")
    assert scalars(val, "epoch_loss") == [(0, 2.0), (1, 1.0), (2, 0.0)]
    assert scalars(val, "epoch_accuracy") == [(0, 0.5), (1, 0.5), (2, 0.5)]
    assert "epoch_val_loss" not in val.Tags()["scalars"]
    assert scalars(val, "evaluation_loss_vs_iterations") == [(4, 2.0), (8, 1.0), (12, 0.0)]


@pytest.mark.parametrize("update_freq, expected_steps", [("batch", list(range(1, 13))), (5, [5, 10])])
def test_batch_scalars(tmp_path, update_freq, expected_steps):
    fit(TensorBoard(log_dir=tmp_path, update_freq=update_freq), FakeModel())
    train = load(tmp_path / "train")
    batch_loss = scalars(train, "batch_loss")
    assert [s for s, _ in batch_loss] == expected_steps
    # global batch g (1-based) is epoch (g-1)//4, batch (g-1)%4 -> loss 10*epoch + batch
    assert [v for _, v in batch_loss] == [10.0 * ((g - 1) // 4) + (g - 1) % 4 for g in expected_steps]
    assert [s for s, _ in scalars(train, "batch_accuracy")] == expected_steps
    assert [s for s, _ in scalars(train, "epoch_loss")] == [0, 1, 2]


def test_write_images_and_steps_per_second(tmp_path):
    fit(TensorBoard(log_dir=tmp_path, histogram_freq=1, write_images=True, write_steps_per_second=True),
        FakeModel(), epochs=1)
    train = load(tmp_path / "train")
    assert {"dense/kernel/image", "dense/bias/image"} <= set(train.Tags()["images"])
    assert "epoch_steps_per_second" in train.Tags()["scalars"]


def test_no_event_files_before_first_write(tmp_path):
    tb = TensorBoard(log_dir=tmp_path / "logs")
    CallbackList([tb], model=FakeModel()).on_train_begin()
    assert not (tmp_path / "logs").exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="often")
    with pytest.raises(ValueError, match="profiling"):
        TensorBoard(profile_batch=2)


def test_missing_tensorboardx_gives_install_hint(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "tensorboardX" or name.startswith("tensorboardX."):
            raise ImportError("No module named 'tensorboardX'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install "kusari\[tensorboard\]"'):
        TensorBoard(log_dir="unused")
    with pytest.raises(ImportError, match=r'pip install "kusari\[tensorboard\]"'):
        create_file_writer("unused")


def test_standalone_writer(tmp_path):
    import kusari

    with create_file_writer(tmp_path / "run") as w:
        for step in range(5):
            w.scalar("loss", 1.0 / (step + 1), step)
            w.scalar("tensor_value", kusari.tensor(step * 2.0), step)
        w.histogram("weights", kusari.tensor(np.arange(10, dtype=np.float32)), step=3)
        w.histogram("list_values", [1.0, 2.0, 2.0], step=0)
        w.text("notes", "hello", step=0)
        w.flush()
    w.close()   # idempotent
    acc = load(tmp_path / "run")
    assert scalars(acc, "loss") == [(s, pytest.approx(1.0 / (s + 1))) for s in range(5)]
    assert scalars(acc, "tensor_value") == [(s, 2.0 * s) for s in range(5)]
    h = acc.Histograms("weights")
    assert [e.step for e in h] == [3]
    assert h[0].histogram_value.num == 10 and h[0].histogram_value.max == 9.0
    assert h[0].histogram_value.sum == pytest.approx(45.0)
    assert acc.Histograms("list_values")[0].histogram_value.num == 3


def test_write_graph_logs_model_summary_and_skips_empty_weights(tmp_path):
    import kusari

    class SummaryModel(FakeModel):
        def summary(self, print_fn=print):
            print_fn('Model: "tiny"')
            print_fn("Total params: 9")

    model = SummaryModel()
    model.weights.append(kusari.Parameter(np.zeros((0,), np.float32), name="empty"))
    fit(TensorBoard(log_dir=tmp_path, write_graph=True, histogram_freq=1), model, epochs=1)
    train = load(tmp_path / "train")
    assert "keras/text_summary" in train.Tags()["tensors"]
    text = train.Tensors("keras/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "Total params: 9" in text
    assert "empty/histogram" not in train.Tags()["histograms"]
