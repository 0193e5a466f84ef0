"""``ReduceLROnPlateau``: lower the learning rate when a metric has stopped improving."""
import struct
import warnings

from kusari.callbacks.monitor_callback import MonitorCallback

__all__ = ["ReduceLROnPlateau"]


def _f32(x):
    # the learning rate lives in a float32 variable: compare against min_lr as float32 (as Keras does), or a
    # rate clipped to min_lr would look larger than min_lr forever and be "reduced" every patience epochs
    return struct.unpack("f", struct.pack("f", x))[0]


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the optimizer's learning rate by ``factor`` after ``patience`` epochs without improvement.

    Args:
        monitor: the logs key to watch.
        factor: ``new_lr = lr * factor`` (must be < 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints a message at each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        min_delta: a change smaller than this is no improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the learning rate never goes below this.

    It also adds ``learning_rate`` to the epoch logs (so History and CSVLogger record it).

    >>> from kusari.callbacks import ReduceLROnPlateau
    >>> class Opt:
    ...     learning_rate = 0.1
    >>> class M:
    ...     optimizer = Opt()
    >>> cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    >>> cb.set_model(M())
    >>> cb.on_train_begin()
    >>> for epoch in range(3):
    ...     cb.on_epoch_end(epoch, {"loss": 1.0})
    >>> M.optimizer.learning_rate
    0.025
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:          # Keras 2's old name
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau: `epsilon` is deprecated, use `min_delta`.", stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        current = float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > _f32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                              flush=True)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
