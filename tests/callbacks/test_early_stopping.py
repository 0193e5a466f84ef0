import numpy as np
import pytest

from kusari.callbacks import EarlyStopping
from kusari.callbacks.monitor_callback import infer_mode
from tests.callbacks.fakes import FakeModel, run_epochs


def test_stops_after_patience(model):
    es = EarlyStopping(monitor="val_loss", patience=2)
    n = run_epochs([es], model, [1.0, 0.9, 0.95, 0.93, 0.5, 0.4])
    # best at epoch 1; epochs 2 and 3 do not improve -> stop at epoch 3
    assert n == 4 and es.stopped_epoch == 3 and es.best_epoch == 1 and es.best == 0.9
    assert model.stop_training


def test_patience_zero_stops_at_first_non_improvement(model):
    es = EarlyStopping(monitor="val_loss")
    assert run_epochs([es], model, [3.0, 2.0, 2.0, 1.0]) == 3


def test_runs_to_the_end_when_improving(model):
    es = EarlyStopping(monitor="val_loss", patience=1)
    assert run_epochs([es], model, [5.0, 4.0, 3.0, 2.0, 1.0]) == 5
    assert es.stopped_epoch == 0 and not model.stop_training


def test_min_delta(model):
    # improvements of 0.05 are below min_delta=0.1: no improvement after epoch 0
    es = EarlyStopping(monitor="val_loss", min_delta=0.1, patience=2)
    assert run_epochs([es], model, [1.0, 0.95, 0.9, 0.85, 0.8]) == 3
    assert es.best == 1.0
    model2 = FakeModel()
    es2 = EarlyStopping(monitor="val_loss", min_delta=0.1, patience=2)
    assert run_epochs([es2], model2, [1.0, 0.85, 0.7, 0.55, 0.4]) == 5


def test_max_mode_auto_for_accuracy(model):
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    assert run_epochs([es], model, [0.5, 0.6, 0.55, 0.58, 0.9], key="val_accuracy") == 3
    assert es.best == 0.6
    es = EarlyStopping(monitor="loss", patience=1, mode="max")
    assert run_epochs([es], FakeModel(), [1.0, 2.0, 3.0, 2.5, 2.0], key="loss") == 4


def test_infer_mode():
    assert infer_mode("val_loss") == "min"
    assert infer_mode("loss") == "min"
    assert infer_mode("val_acc") == "max"
    assert infer_mode("accuracy") == "max"
    assert infer_mode("val_sparse_categorical_accuracy") == "max"
    assert infer_mode("auc") == "max"
    assert infer_mode("mean_squared_error") == "min"

    class Metric:
        name = "my_score"
        _direction = "up"

    class M:
        metrics = [Metric()]

    assert infer_mode("val_my_score", M()) == "max"
    assert infer_mode("val_my_score") == "min"


def test_baseline_not_beaten_stops_at_first_plateau(model):
    # Keras semantics: epochs that improve but stay above the baseline do not reset the wait, so the first
    # non-improving epoch stops training at once (wait is already >= patience)
    values = [1.0, 0.9, 0.8, 0.85, 0.86, 0.87]
    es = EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)
    assert run_epochs([es], model, values) == 4 and es.stopped_epoch == 3
    es = EarlyStopping(monitor="val_loss", patience=2)
    assert run_epochs([es], FakeModel(), values) == 5
    # as long as it keeps improving it is not stopped, baseline or not
    es = EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)
    assert run_epochs([es], FakeModel(), [1.0, 0.9, 0.8, 0.7, 0.6]) == 5


def test_baseline_beaten_resets_wait(model):
    es = EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)
    assert run_epochs([es], model, [0.4, 0.3, 0.35, 0.36, 0.2]) == 4


def test_start_from_epoch(model):
    es = EarlyStopping(monitor="val_loss", patience=1, start_from_epoch=3)
    # epochs 0-2 are warm-up (getting worse is ignored); then 3 sets best, 4 fails -> stop at 4
    assert run_epochs([es], model, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == 5
    assert es.best_epoch == 3 and es.stopped_epoch == 4


def test_restore_best_weights(model, capsys):
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True, verbose=1)
    # weights are set to the epoch index before each epoch end: best epoch 1 -> weights all 1.0
    assert run_epochs([es], model, [1.0, 0.5, 0.7, 0.8, 0.1]) == 4
    for w in model.get_weights():
        np.testing.assert_array_equal(w, 1.0)
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out
    assert "best epoch: 2" in out


def test_restore_best_weights_without_stop_restores_best(model):
    es = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    run_epochs([es], model, [1.0, 0.2, 0.7])
    np.testing.assert_array_equal(model.get_weights()[0], 1.0)


def test_no_restore_keeps_last_weights(model):
    es = EarlyStopping(monitor="val_loss", patience=1)
    run_epochs([es], model, [1.0, 0.5, 0.7, 0.8])
    np.testing.assert_array_equal(model.get_weights()[0], 2.0)


def test_reused_across_fits(model):
    es = EarlyStopping(monitor="val_loss", patience=1)
    assert run_epochs([es], model, [1.0, 2.0, 3.0]) == 2
    model.stop_training = False
    assert run_epochs([es], model, [5.0, 4.0, 3.0]) == 3


def test_missing_monitor_warns(model):
    es = EarlyStopping(monitor="val_accuracy")
    with pytest.warns(UserWarning, match="val_accuracy.*not available"):
        assert run_epochs([es], model, [1.0, 2.0, 3.0]) == 3


def test_unknown_mode_warns():
    with pytest.warns(UserWarning, match="unknown"):
        es = EarlyStopping(mode="sideways")
    assert es.mode == "auto"
