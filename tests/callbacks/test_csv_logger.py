import csv
import os

import numpy as np
import pytest

from kusari.callbacks import CallbackList, CSVLogger
from tests.callbacks.fakes import run_epochs


def read(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_header_and_rows(model, tmp_path):
    path = tmp_path / "log.csv"
    run_epochs([CSVLogger(str(path))], model, [0.5, 0.25], key="loss", extra={"accuracy": 0.75})
    rows = read(path)
    # no val_ keys at the first epoch: their columns are added (filled NA), as Keras does
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[1] == ["0", "0.75", "0.5", "NA", "NA"]
    assert rows[2] == ["1", "0.75", "0.25", "NA", "NA"]
    assert len(rows) == 3


def test_val_keys_and_separator(model, tmp_path):
    path = tmp_path / "log.tsv"
    run_epochs([CSVLogger(str(path), separator="\t")], model, [0.5], extra={"loss": 0.4})
    assert path.read_text().splitlines() == ["epoch\tloss\tval_loss", "0\t0.4\t0.5"]


def test_append(model, tmp_path):
    path = tmp_path / "log.csv"
    run_epochs([CSVLogger(str(path))], model, [0.5, 0.4], extra={"loss": 1.0})
    run_epochs([CSVLogger(str(path), append=True)], model, [0.3], extra={"loss": 0.9})
    rows = read(path)
    assert rows == [["epoch", "loss", "val_loss"], ["0", "1.0", "0.5"], ["1", "1.0", "0.4"], ["0", "0.9", "0.3"]]


def test_no_append_overwrites(model, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old,stuff\n1,2\n")
    run_epochs([CSVLogger(str(path))], model, [0.5], extra={"loss": 1.0})
    assert read(path) == [["epoch", "loss", "val_loss"], ["0", "1.0", "0.5"]]


def test_append_to_empty_file_writes_header(model, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("")
    run_epochs([CSVLogger(str(path), append=True)], model, [0.5])
    assert read(path)[0] == ["epoch", "val_loss"]


def test_file_complete_after_each_epoch_and_no_temp_files(model, tmp_path):
    path = tmp_path / "sub" / "log.csv"
    logger = CSVLogger(str(path))
    cbs = CallbackList([logger], model=model)
    cbs.on_train_begin()
    assert path.read_text() == ""
    for epoch in range(3):
        cbs.on_epoch_end(epoch, {"loss": float(epoch)})
        assert len(read(path)) == epoch + 2       # readable, complete rows while training
    cbs.on_train_end()
    assert os.listdir(path.parent) == ["log.csv"]


def test_array_values_and_missing(model, tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(str(path))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0, "per_class": np.array([0.5, 0.25])})
    logger.on_epoch_end(1, {"loss": 0.5, "per_class": np.array([0.75, 0.5])})
    rows = read(path)
    assert rows[0] == ["epoch", "loss", "per_class", "val_loss"]
    assert rows[1][2] == '"[0.5, 0.25]"'
    assert rows[2] == ["1", "0.5", '"[0.75, 0.5]"', "NA"]


def test_failed_write_keeps_previous_file(model, tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    logger = CSVLogger(str(path))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0})
    before = path.read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        logger.on_epoch_end(1, {"loss": 0.5})
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["log.csv"]
