"""A stand-in for the model a callback sees (the real kusari.models.Model offers the same interface)."""

import numpy as np

import kusari
from kusari.callbacks import CallbackList


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self._lr = float(np.float32(learning_rate))
        self.iterations = 0

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = float(np.float32(value))     # stored as float32, like a real optimizer variable


class FakeModel:
    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [kusari.Parameter(np.zeros((2, 3), np.float32), name="dense/kernel"),
                        kusari.Parameter(np.zeros((3,), np.float32), name="dense/bias")]
        self.saved = []          # (method, path)
        self.history = None

    def get_weights(self):
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        for w, v in zip(self.weights, weights):
            w.assign(kusari.tensor(np.asarray(v)))

    def set_all(self, value):
        """Make every weight equal to ``value`` (stands for a training step)."""
        self.set_weights([np.full(w.shape, value, np.float32) for w in self.weights])

    def save(self, filepath):
        self.saved.append(("save", filepath))
        with open(filepath, "w") as f:
            f.write("model")

    def save_weights(self, filepath):
        self.saved.append(("save_weights", filepath))
        with open(filepath, "w") as f:
            f.write("weights")


def run_epochs(callbacks, model, values, key="val_loss", extra=None):
    """Drive ``callbacks`` through a fit-like loop; epoch i reports ``{key: values[i]}``; stops as fit does.
    Before each epoch end the weights are set to the epoch index. Returns the number of epochs run."""
    cbs = CallbackList(callbacks, model=model, epochs=len(values), steps=1, verbose=0)
    cbs.on_train_begin()
    n = 0
    for epoch, v in enumerate(values):
        cbs.on_epoch_begin(epoch)
        cbs.on_train_batch_begin(0)
        model.set_all(float(epoch))
        logs = {key: v, **(extra or {})}
        cbs.on_train_batch_end(0, dict(logs))
        cbs.on_epoch_end(epoch, logs)
        n += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return n
