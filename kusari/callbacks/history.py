"""``History``: records each epoch's logs; ``fit`` returns it."""
from kusari.callbacks.callback import Callback

__all__ = ["History"]


class History(Callback):
    """Records every epoch's logs: ``history[name]`` is the list of values per epoch, ``epoch`` the epoch indices.

    ``fit`` adds one automatically and returns it; it is also set as ``model.history``.

    >>> from kusari.callbacks import History
    >>> h = History()
    >>> h.on_train_begin()
    >>> h.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.1})
    >>> h.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.8})
    >>> h.history, h.epoch
    ({'loss': [0.9, 0.5], 'val_loss': [1.1, 0.8]}, [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
