"""``EarlyStopping``: stop training when a monitored metric has stopped improving."""
import warnings

from kusari.callbacks.monitor_callback import MonitorCallback

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras semantics).

    Args:
        monitor: the logs key to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        min_delta: a change smaller than this (in absolute value) is no improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a message when stopping / restoring.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy/AUC-like names or metrics whose direction is
            "up", min otherwise).
        baseline: training stops if the model does not improve on this value within ``patience`` epochs.
        restore_best_weights: at the end of training, set the weights of the best epoch (even if no epoch beat
            ``baseline``).
        start_from_epoch: epochs of warm-up during which nothing is monitored.

    ``stopped_epoch`` and ``best_epoch`` (0-based) tell what happened; ``model.stop_training`` is the signal.

    >>> from kusari.callbacks import EarlyStopping
    >>> class M:
    ...     stop_training = False
    >>> es = EarlyStopping(monitor="loss", patience=2)
    >>> es.set_model(M())
    >>> es.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.85, 0.7]):
    ...     es.on_epoch_end(epoch, {"loss": loss})
    ...     if es.model.stop_training:
    ...         break
    >>> es.stopped_epoch, es.best_epoch
    (3, 1)
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        # a callback may be reused across fit() calls
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()          # late: the model's metrics exist by now
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # nothing better seen yet: the current weights are the best
            self.best_weights = _copy_weights(self.model.get_weights())
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model.get_weights())
            # the wait restarts only when we beat both the baseline and the previous best
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs)}", stacklevel=2)
            return None
        return float(value)


def _copy_weights(weights):
    # get_weights() should return fresh arrays; copy anyway so a model that hands out its live buffers
    # cannot overwrite the snapshot when it updates in place.
    return [w.copy() if hasattr(w, "copy") else w for w in weights]
