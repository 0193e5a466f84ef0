import numpy as np
import pytest

import kusari
from kusari.callbacks import Callback, CallbackList, History, LambdaCallback, ProgbarLogger, TerminateOnNaN
from tests.callbacks.fakes import FakeModel


class Recorder(Callback):
    HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
             "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
             "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]

    def __init__(self):
        super().__init__()
        self.calls = []
        for hook in self.HOOKS:
            setattr(self, hook, self._make(hook))

    def _make(self, hook):
        def f(*args):
            self.calls.append((hook, *args))
        return f


def test_callback_list_by_hand_drives_all_hooks_in_order():
    m = FakeModel()
    a, b = Recorder(), Recorder()
    cbs = CallbackList([a, b], model=m, epochs=3, steps=2, verbose=0)
    assert a.model is m and b.model is m
    assert a.params == {"epochs": 3, "steps": 2, "verbose": 0}
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": np.float32(2.0)})
    cbs.on_test_begin()
    cbs.on_test_batch_begin(0)
    cbs.on_test_batch_end(0, {"loss": 1.5})
    cbs.on_test_end({"loss": 1.5})
    cbs.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.5})
    cbs.on_train_end()
    cbs.on_predict_begin()
    cbs.on_predict_batch_begin(0)
    cbs.on_predict_batch_end(0, {"outputs": np.ones((1, 1))})
    cbs.on_predict_end()
    names = [c[0] for c in a.calls]
    assert names == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                     "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end", "on_epoch_end",
                     "on_train_end", "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end",
                     "on_predict_end"]
    assert a.calls == b.calls
    # logs become Python floats with sorted keys; arrays (predict outputs) are passed through
    batch_end = a.calls[3]
    assert batch_end == ("on_train_batch_end", 0, {"loss": 2.0}) and type(batch_end[2]["loss"]) is float
    assert a.calls[8] == ("on_epoch_end", 0, {"loss": 1.0, "val_loss": 1.5})
    assert isinstance(a.calls[12][2]["outputs"], np.ndarray)
    assert a.calls[0] == ("on_train_begin", {})


def test_logs_tensors_become_floats_and_keys_are_sorted():
    rec = Recorder()
    cbs = CallbackList([rec])
    cbs.on_epoch_end(0, {"val_loss": kusari.tensor(0.25), "accuracy": np.float64(0.5), "loss": 1})
    logs = rec.calls[0][2]
    assert list(logs) == ["accuracy", "loss", "val_loss"]
    assert logs == {"accuracy": 0.5, "loss": 1.0, "val_loss": 0.25}
    assert all(type(v) is float for v in logs.values())


def test_added_keys_are_seen_by_later_callbacks():
    seen = []
    adder = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__("learning_rate", 0.1))
    reader = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
    CallbackList([adder, reader]).on_epoch_end(0, {"loss": 1.0})
    assert seen == [{"loss": 1.0, "learning_rate": 0.1}]


def test_add_history_and_progbar():
    m = FakeModel()
    cbs = CallbackList(add_history=True, add_progbar=True, model=m, epochs=1, steps=1, verbose=0)
    kinds = [type(c) for c in cbs.callbacks]
    assert kinds == [History, ProgbarLogger]
    assert m.history is cbs.callbacks[0]
    # an existing History is reused, not duplicated
    h = History()
    cbs = CallbackList([h], add_history=True, model=m)
    assert cbs.callbacks == [h] and m.history is h


def test_train_batch_hooks_fall_back_to_batch_aliases():
    calls = []

    class Old(Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch, logs))

    cbs = CallbackList([Old()])
    cbs.on_train_batch_begin(3)
    cbs.on_train_batch_end(3, {"loss": 1.0})
    assert calls == [("begin", 3), ("end", 3, {"loss": 1.0})]


def test_append_gets_model_and_params():
    m = FakeModel()
    cbs = CallbackList([], model=m, epochs=2)
    r = Recorder()
    cbs.append(r)
    assert r.model is m and r.params == {"epochs": 2}
    assert len(cbs) == 1 and list(cbs) == [r]


def test_non_callback_is_rejected():
    with pytest.raises(TypeError, match="Callback"):
        CallbackList([object()])


def test_callback_defaults():
    cb = Callback()
    assert cb.model is None and cb.params == {}
    for hook in Recorder.HOOKS:
        args = (0, {}) if ("batch" in hook or "epoch" in hook) else ({},)
        assert getattr(cb, hook)(*args) is None


def test_lambda_callback_hooks_called():
    calls = []
    cb = LambdaCallback(on_epoch_begin=lambda e, logs: calls.append(("eb", e)),
                        on_epoch_end=lambda e, logs: calls.append(("ee", e, logs["loss"])),
                        on_train_begin=lambda logs: calls.append("tb"),
                        on_train_end=lambda logs: calls.append("te"),
                        on_train_batch_begin=lambda b, logs: calls.append(("bb", b)),
                        on_train_batch_end=lambda b, logs: calls.append(("be", b)),
                        on_test_end=lambda logs: calls.append(("test_end", logs["loss"])))
    cbs = CallbackList([cb], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    cbs.on_test_begin()
    cbs.on_test_end({"loss": 2.0})
    cbs.on_epoch_end(0, {"loss": 0.5})
    cbs.on_train_end()
    assert calls == ["tb", ("eb", 0), ("bb", 0), ("be", 0), ("test_end", 2.0), ("ee", 0, 0.5), "te"]


def test_lambda_callback_errors():
    with pytest.raises(ValueError, match="unknown hook"):
        LambdaCallback(on_epoch_ending=print)
    with pytest.raises(TypeError, match="callable"):
        LambdaCallback(on_epoch_end=3)


def test_terminate_on_nan(model, capsys):
    cb = TerminateOnNaN()
    cbs = CallbackList([cb], model=model)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    assert model.stop_training is False
    cbs.on_train_batch_end(1, {"loss": float("inf")})
    assert model.stop_training is True
    assert "Batch 1: Invalid loss" in capsys.readouterr().out
    model.stop_training = False
    cbs.on_train_batch_end(2, {"loss": np.float32("nan")})
    assert model.stop_training is True


def test_terminate_on_nan_raise_error(model):
    cbs = CallbackList([TerminateOnNaN(raise_error=True)], model=model)
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        cbs.on_train_batch_end(4, {"loss": float("nan")})
    assert model.stop_training is False


def test_history_contents(model):
    h = History()
    cbs = CallbackList([h], model=model, epochs=3)
    cbs.on_train_begin()
    for epoch in range(3):
        cbs.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 2.0 - epoch, "accuracy": 0.5})
    cbs.on_train_end()
    assert h.epoch == [0, 1, 2]
    assert h.history == {"accuracy": [0.5, 0.5, 0.5], "loss": [1.0, 0.5, 1.0 / 3], "val_loss": [2.0, 1.0, 0.0]}
    assert model.history is h
    assert h.params == {"epochs": 3}
