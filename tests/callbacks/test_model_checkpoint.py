import os

import pytest

from kusari.callbacks import ModelCheckpoint
from tests.callbacks.fakes import run_epochs


def test_file_names_from_epoch_and_logs(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.kusari"))
    run_epochs([ckpt], model, [0.5, 0.25, 0.125])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-0.50.kusari", "ckpt-02-0.25.kusari", "ckpt-03-0.12.kusari"]
    assert [m for m, _ in model.saved] == ["save"] * 3


def test_save_best_only_saves_only_improvements(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}.kusari"), save_best_only=True)
    run_epochs([ckpt], model, [1.0, 0.8, 0.9, 0.7, 0.75])
    assert sorted(os.listdir(tmp_path)) == ["m-1.kusari", "m-2.kusari", "m-4.kusari"]
    assert ckpt.best == 0.7


def test_save_best_only_max_mode(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}.kusari"), monitor="val_accuracy", save_best_only=True)
    run_epochs([ckpt], model, [0.5, 0.4, 0.6], key="val_accuracy")
    assert sorted(os.listdir(tmp_path)) == ["m-1.kusari", "m-3.kusari"]


def test_initial_value_threshold(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}.kusari"), save_best_only=True, initial_value_threshold=0.85)
    run_epochs([ckpt], model, [1.0, 0.8, 0.9])
    assert os.listdir(tmp_path) == ["m-2.kusari"]


def test_save_best_only_single_file_overwritten(model, tmp_path):
    path = tmp_path / "best.kusari"
    ckpt = ModelCheckpoint(str(path), save_best_only=True)
    run_epochs([ckpt], model, [1.0, 0.8, 0.9])
    assert os.listdir(tmp_path) == ["best.kusari"]
    assert model.saved == [("save", str(path)), ("save", str(path))]


def test_save_weights_only_calls_save_weights(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.kusari"), save_weights_only=True)
    run_epochs([ckpt], model, [1.0, 0.5])
    assert [m for m, _ in model.saved] == ["save_weights", "save_weights"]
    assert (tmp_path / "w-2.weights.kusari").read_text() == "weights"


def test_missing_monitor_warns_and_saves(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m.kusari"), monitor="val_accuracy", save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_accuracy available"):
        run_epochs([ckpt], model, [1.0])
    assert os.listdir(tmp_path) == ["m.kusari"]


def test_missing_format_key_raises(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{val_acc}.kusari"))
    with pytest.raises(KeyError, match="Failed to format"):
        run_epochs([ckpt], model, [1.0])


def test_creates_missing_folders(model, tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "a" / "b" / "m.kusari"))
    run_epochs([ckpt], model, [1.0])
    assert (tmp_path / "a" / "b" / "m.kusari").exists()


def test_directory_path_raises(model, tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IOError, match="non-directory"):
        run_epochs([ModelCheckpoint(str(tmp_path / "d"))], model, [1.0])


def test_save_freq_batches(model, tmp_path):
    from kusari.callbacks import CallbackList
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}-{batch}.kusari"), save_freq=3)
    cbs = CallbackList([ckpt], model=model)
    cbs.on_train_begin()
    for epoch in range(2):
        cbs.on_epoch_begin(epoch)
        for batch in range(4):
            cbs.on_train_batch_end(batch, {"loss": 1.0})
        cbs.on_epoch_end(epoch, {"loss": 1.0})
    # global batches 3 and 6 -> (epoch 1, batch 3), (epoch 2, batch 2)
    assert sorted(os.listdir(tmp_path)) == ["m-1-3.kusari", "m-2-2.kusari"]


def test_verbose_messages(model, tmp_path, capsys):
    ckpt = ModelCheckpoint(str(tmp_path / "m.kusari"), save_best_only=True, verbose=1)
    run_epochs([ckpt], model, [1.0, 2.0])
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 1.00000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 1.00000" in out


def test_bad_save_freq():
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.kusari", save_freq="batch")
