"""``ModelCheckpoint``: save the model or its weights every epoch (or every N batches), optionally only the best."""
import os
import warnings

from kusari.callbacks.callback import _pythonify_logs
from kusari.callbacks.monitor_callback import MonitorCallback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) during training.

    Args:
        filepath: where to save; may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch``
            (1-based, when saving per batch) and the logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.kusari"``.
            Missing folders are created.
        monitor: the logs key deciding what "best" is (with ``save_best_only``).
        verbose: 1 prints a message at each save decision.
        save_best_only: save only when ``monitor`` improves on the best value so far. Without formatting fields
            in ``filepath`` the file is overwritten by each better model. If ``monitor`` is missing from the
            logs a warning is given and the model is saved anyway (as Keras does).
        save_weights_only: call ``model.save_weights(path)`` instead of ``model.save(path)``.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        save_freq: ``"epoch"`` or an integer number of batches between saves.
        initial_value_threshold: the "best" value to beat before the first save (with ``save_best_only``).

    Both save methods write atomically, so an interrupted run never leaves a torn checkpoint.

    >>> import os, tempfile
    >>> from kusari.callbacks import ModelCheckpoint
    >>> class M:
    ...     def save(self, path):
    ...         open(path, "w").close()
    >>> folder = tempfile.mkdtemp()
    >>> ckpt = ModelCheckpoint(os.path.join(folder, "ckpt-{epoch:02d}-{val_loss:.2f}.kusari"))
    >>> ckpt.set_model(M())
    >>> ckpt.on_epoch_end(0, {"val_loss": 0.4567})
    >>> os.listdir(folder)
    ['ckpt-01-0.46.kusari']
    """

    _supports_backend_logs = True     # batch logs are converted only on the batches that use them

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq <= 0):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq {save_freq!r}; expected 'epoch' or a "
                             "positive integer (number of batches)")
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, _pythonify_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1               # a new epoch started (batch indices restart at 0)
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if getattr(current, "ndim", 0) != 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = float(current)
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}", flush=True)
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError(f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                          f"existing directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from None
