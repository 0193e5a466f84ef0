import io
import re
import sys

import numpy as np
import pytest

import kusari
from kusari.callbacks import CallbackList, ProgbarLogger
from kusari.utils import Progbar

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text):
    return ANSI.sub("", text)


def test_verbose2_prints_one_line_at_the_end(capsys):
    bar = Progbar(target=4, verbose=2)
    for step in range(1, 5):
        bar.update(step, values=[("loss", float(step)), ("acc", 0.5)])
        if step < 4:
            assert capsys.readouterr().out == ""
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    # non-stateful values are averaged over the steps: loss (1+2+3+4)/4
    assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step - loss: 2\.5000 - acc: 0\.5000\n", out)


def test_averaging_is_weighted_by_steps(capsys):
    bar = Progbar(target=4, verbose=2)
    bar.update(1, [("loss", 1.0)])
    bar.update(4, [("loss", 2.0)])      # stands for 3 steps
    assert "loss: 1.7500" in capsys.readouterr().out


def test_stateful_metrics_shown_as_given(capsys):
    bar = Progbar(target=2, verbose=2, stateful_metrics=["acc"])
    bar.add(1, [("acc", 0.25), ("loss", 1.0)])
    bar.add(1, [("acc", 0.75), ("loss", 3.0)])
    out = capsys.readouterr().out
    assert "acc: 0.7500" in out and "loss: 2.0000" in out
    bar = Progbar(target=2, verbose=2, stateless_metrics=["loss"])
    bar.add(1, [("acc", 0.25), ("loss", 1.0)])
    bar.add(1, [("acc", 0.75), ("loss", 3.0)])
    out = capsys.readouterr().out
    assert "acc: 0.7500" in out and "loss: 2.0000" in out
    with pytest.raises(ValueError, match="not both"):
        Progbar(2, stateful_metrics=["a"], stateless_metrics=["b"])


def test_verbose1_not_a_terminal_prints_only_the_final_line(capsys):
    bar = Progbar(target=12, verbose=1, interval=0)
    for step in range(1, 13):
        bar.update(step, [("loss", 0.27), ("accuracy", 0.91)])
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out and "\b" not in out
    assert out.count("\n") == 1
    assert re.fullmatch(r"12/12 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.2700 - accuracy: 0\.9100\n", out)


def test_verbose1_terminal_redraws_with_eta(capsys):
    bar = Progbar(target=3, verbose=1, interval=0)
    bar._dynamic_display = True
    bar.update(1, [("loss", 3.0)])
    first = capsys.readouterr().out
    assert first.startswith("\r") and not first.endswith("\n")
    first = plain(first)
    assert "1/3" in first and "━" in first and "loss: 3.0000" in first
    assert re.search(r"1/3 ━{6}━{14} \d+s \d+(us|ms|s)/step", first)     # ETA then time per step
    bar.update(2, [("loss", 1.0)])
    assert "2/3" in plain(capsys.readouterr().out)
    bar.update(3, [("loss", 2.0)])
    last = plain(capsys.readouterr().out)
    assert last.startswith("\r3/3") and last.endswith("\n") and "loss: 2.0000" in last


def test_verbose1_interval_throttles_redraws(capsys):
    bar = Progbar(target=100, verbose=1, interval=3600)
    bar._dynamic_display = True
    for step in range(1, 100):
        bar.update(step)
    out = capsys.readouterr().out
    assert out.count("\r") <= 1
    bar.update(100)
    assert "100/100" in plain(capsys.readouterr().out)


def test_verbose0_is_silent(capsys):
    bar = Progbar(target=3, verbose=0)
    for step in range(1, 4):
        bar.update(step, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_unknown_target(capsys):
    bar = Progbar(target=None, verbose=1)
    bar._dynamic_display = True
    bar.update(5, [("loss", 1.0)])
    assert "      5/Unknown" in plain(capsys.readouterr().out)
    bar.update(7, [("loss", 1.0)], finalize=True)
    assert plain(capsys.readouterr().out).endswith("\n")


def test_small_values_use_exponent_and_tensors_accepted(capsys):
    bar = Progbar(target=1, verbose=2)
    bar.update(1, [("loss", kusari.tensor(1e-5)), ("acc", np.float32(0.5))])
    out = capsys.readouterr().out
    assert "loss: 1.0000e-05" in out and "acc: 0.5000" in out


def test_bar_falls_back_to_ascii_without_unicode(monkeypatch):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    bar = Progbar(target=2, verbose=1)
    bar.update(2, [("loss", 1.0)])
    stream.flush()
    assert "2/2 ====================" in raw.getvalue().decode("ascii")


def drive_fit(verbose, epochs=2, steps=3):
    cbs = CallbackList([ProgbarLogger()], epochs=epochs, steps=steps, verbose=verbose)
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "accuracy": 0.5 + 0.1 * batch})
        cbs.on_test_begin()
        cbs.on_test_batch_end(0, {"loss": 9.0})
        cbs.on_test_end({"loss": 0.9})
        cbs.on_epoch_end(epoch, {"loss": 0.25, "accuracy": 0.7, "val_loss": 0.9, "val_accuracy": 0.6})
    cbs.on_train_end()


def test_progbar_logger_verbose1(capsys):
    drive_fit(1)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert len(lines) == 4
    # the trainer's logs are running results: shown as given, not averaged again; validation adds val_ values
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.7000 - loss: 0\.2500 - "
                        r"val_accuracy: 0\.6000 - val_loss: 0\.9000", lines[1])


def test_progbar_logger_verbose2_one_line_per_epoch(capsys):
    drive_fit(2, epochs=3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    metric_lines = lines[1::2]
    assert len(metric_lines) == 3
    for line in metric_lines:
        assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.7000 - loss: 0\.2500 - "
                            r"val_accuracy: 0\.6000 - val_loss: 0\.9000", line)


def test_progbar_logger_verbose0_silent(capsys):
    drive_fit(0)
    assert capsys.readouterr().out == ""


def test_progbar_logger_single_epoch_has_no_epoch_line(capsys):
    drive_fit("auto", epochs=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("3/3 ")


def test_progbar_logger_evaluate_and_unknown_steps(capsys):
    cbs = CallbackList([ProgbarLogger()], steps=None, verbose=1)
    cbs.on_test_begin()
    for batch in range(5):
        cbs.on_test_batch_end(batch, {"loss": 0.5})
    cbs.on_test_end({"loss": 0.5})
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("5/5 ") and "loss: 0.5000" in out


def test_progbar_logger_predict(capsys):
    cbs = CallbackList([ProgbarLogger()], steps=2, verbose=1)
    cbs.on_predict_begin()
    cbs.on_predict_batch_end(0, {"outputs": np.zeros((4, 2))})
    cbs.on_predict_batch_end(1, {"outputs": np.zeros((4, 2))})
    cbs.on_predict_end()
    out = capsys.readouterr().out
    assert out.startswith("2/2 ") and "outputs" not in out
