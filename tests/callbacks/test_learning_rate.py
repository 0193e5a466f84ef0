import math

import pytest

import kusari
from kusari.callbacks import CallbackList, History, LearningRateScheduler, ReduceLROnPlateau
from tests.callbacks.fakes import FakeModel, run_epochs


def lr(model):
    return float(model.optimizer.learning_rate)


def test_reduce_after_patience():
    model = FakeModel(learning_rate=1.0)
    rates = []
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2)
    record = kusari.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(lr(model)))
    run_epochs([cb, record], model, [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    # epoch 0 sets best; 1,2 wait -> reduce at 2; 3,4 wait -> reduce at 4; 5 improves; 6,7 -> reduce at 7
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_min_delta_counts_small_changes_as_plateau():
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.1)
    run_epochs([cb], model, [1.0, 0.95, 0.92])
    assert lr(model) == 0.25


def test_cooldown():
    model = FakeModel(learning_rate=1.0)
    rates = []
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=2)
    record = kusari.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(lr(model)))
    run_epochs([cb, record], model, [1.0] * 7)
    # Keras semantics: reduce at 1; the cooldown counter is decremented at the start of each epoch end, so with
    # cooldown=2 epoch 2 is skipped and epoch 3 counts again: reductions at 1, 3, 5
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    model = FakeModel(learning_rate=1.0)
    run_epochs([ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=0)], model, [1.0] * 7)
    assert lr(model) == 1.0 / 64


def test_min_lr_is_respected():
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=1, min_lr=0.05)
    run_epochs([cb], model, [1.0] * 6)
    assert math.isclose(lr(model), 0.05, rel_tol=1e-6)


def test_max_mode_and_learning_rate_in_logs():
    model = FakeModel(learning_rate=0.2)
    h = History()
    cb = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    run_epochs([cb, h], model, [0.5, 0.6, 0.6], key="val_accuracy")
    # the rate in use during the epoch is logged; the reduction at epoch 2 shows from epoch 3 on
    assert h.history["learning_rate"] == pytest.approx([0.2, 0.2, 0.2])
    assert lr(model) == pytest.approx(0.1)


def test_missing_monitor_warns():
    model = FakeModel()
    with pytest.warns(UserWarning, match="val_accuracy.*not available"):
        run_epochs([ReduceLROnPlateau(monitor="val_accuracy", patience=0)], model, [1.0, 1.0])
    assert lr(model) == pytest.approx(0.1)


def test_factor_must_be_below_one():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


def test_verbose_message(capsys):
    model = FakeModel(learning_rate=1.0)
    run_epochs([ReduceLROnPlateau(factor=0.5, patience=1, verbose=1)], model, [1.0, 1.0])
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5." in capsys.readouterr().out


def test_scheduler_sets_lr_each_epoch():
    model = FakeModel(learning_rate=0.1)
    seen = []

    def schedule(epoch, rate):
        seen.append((epoch, round(rate, 6)))
        return 0.1 * 0.5 ** epoch

    h = History()
    run_epochs([LearningRateScheduler(schedule), h], model, [1.0, 1.0, 1.0])
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.05)]
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert lr(model) == pytest.approx(0.025)


def test_scheduler_one_argument_schedule_and_tensor_result(capsys):
    model = FakeModel(learning_rate=0.1)
    run_epochs([LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1), verbose=1)], model, [1.0, 1.0])
    assert lr(model) == pytest.approx(0.02)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.02" in capsys.readouterr().out
    run_epochs([LearningRateScheduler(lambda epoch, rate: kusari.tensor(rate) * 0.5)], model, [1.0])
    assert lr(model) == pytest.approx(0.01)


def test_scheduler_bad_output():
    model = FakeModel()
    cbs = CallbackList([LearningRateScheduler(lambda epoch, rate: "fast")], model=model)
    with pytest.raises(ValueError, match="should be a float"):
        cbs.on_epoch_begin(0)
    with pytest.raises(TypeError, match="callable"):
        LearningRateScheduler(0.1)


def test_scheduler_type_error_inside_schedule_is_not_hidden():
    def schedule(epoch, rate):
        return None + 1

    cbs = CallbackList([LearningRateScheduler(schedule)], model=FakeModel())
    with pytest.raises(TypeError, match="NoneType"):
        cbs.on_epoch_begin(0)
