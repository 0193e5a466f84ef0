"""``ProgbarLogger``: the per-epoch progress bar of ``fit`` / ``evaluate`` / ``predict``."""
import time

from kusari.callbacks.callback import Callback, _pythonify_logs
from kusari.utils.progbar import Progbar

__all__ = ["ProgbarLogger"]


class ProgbarLogger(Callback):
    """Prints progress and metrics to stdout, as Keras does (``verbose`` from the run's params: 0, 1, 2, "auto").

    ``verbose=1``: a live bar per epoch (just the final line when stdout is not a terminal); ``verbose=2``: one line
    per epoch. With more than one epoch an ``Epoch i/N`` line comes first. The trainer's logs are already running
    results, so every value is shown as given (stateful). Inside ``fit`` the validation pass prints nothing of its
    own (its ``val_`` metrics appear on the epoch's line). Batch logs are read (converted to floats, a host sync) only
    for a redraw of the live bar, so a compiled train step is not made to wait every batch.

    >>> from kusari.callbacks import CallbackList, ProgbarLogger
    >>> cbs = CallbackList([ProgbarLogger()], epochs=1, steps=2, verbose=2)
    >>> cbs.on_train_begin()
    >>> cbs.on_epoch_begin(0)
    >>> cbs.on_train_batch_end(0, {"loss": 0.5})
    >>> cbs.on_train_batch_end(1, {"loss": 0.4})
    >>> cbs.on_epoch_end(0, {"loss": 0.4, "val_loss": 0.6})    # doctest: +ELLIPSIS
    2/2 - 0s - ...s/step - loss: 0.4000 - val_loss: 0.6000
    """

    _supports_backend_logs = True

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose or 0)
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True          # validation inside fit is silent

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)       # predictions are not metrics

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(None)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step",
                                   stateless_metrics=set())

    def _update_progbar(self, batch, logs=None):
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            bar = self.progbar
            # the values are shown as given (stateful), so only a redraw needs them: convert them just then
            redraw = bar._dynamic_display and time.time() - bar._last_update >= bar.interval
            values = list(_pythonify_logs(logs).items()) if redraw else None
            bar.update(self.seen, values, finalize=False)

    def _finalize_progbar(self, logs):
        self._maybe_init_progbar()
        if self.target is None and self.seen:
            self.target = self.seen            # learnt in the first epoch; later epochs show a full bar
        target = self.target if self.target is not None else self.seen
        self.progbar.target = target
        values = [(k, v) for k, v in (logs or {}).items() if _is_number(v)]
        self.progbar.update(target, values, finalize=True)


def _is_number(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return getattr(v, "ndim", None) == 0 or getattr(v, "size", None) == 1
