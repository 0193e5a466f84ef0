"""``LearningRateScheduler``: set the learning rate at the start of each epoch from ``schedule(epoch, lr)``."""
from kusari.callbacks.callback import Callback

__all__ = ["LearningRateScheduler"]


class LearningRateScheduler(Callback):
    """At the start of every epoch set ``optimizer.learning_rate = schedule(epoch, lr)``.

    ``schedule`` takes the epoch index (0-based) and the current learning rate (a float) and returns the new one
    (a float; a one-element tensor is accepted). A one-argument ``schedule(epoch)`` also works (Keras 2).
    The rate in use is added to the epoch logs as ``learning_rate``.

    >>> from kusari.callbacks import LearningRateScheduler
    >>> class Opt:
    ...     learning_rate = 0.1
    >>> class M:
    ...     optimizer = Opt()
    >>> cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2)
    >>> cb.set_model(M())
    >>> for epoch in range(4):
    ...     cb.on_epoch_begin(epoch)
    >>> M.optimizer.learning_rate
    0.025
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = float(optimizer.learning_rate)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError as e:
            # Keras 2's one-argument schedule(epoch); re-raise if that is not the problem
            try:
                new_lr = self.schedule(epoch)
            except TypeError:
                raise e from None
        if isinstance(new_lr, (str, bool)) or new_lr is None:
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {new_lr!r}")
        try:
            new_lr = float(new_lr)
        except (TypeError, ValueError):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {new_lr!r}") from None
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
