"""Multi-task learning on the digits: one shared trunk, two heads, two losses.

1. The Keras way, unchanged: a functional model with two named outputs and
   ``compile(loss={...}, loss_weights={...})``; ``fit`` logs ``loss``, ``digit_loss`` and ``parity_loss``.
2. The same model with a hand-written ``train_step`` (the functional graph plus a custom step, as in Keras:
   ``class MultiTask(kusari.Model): def train_step(...)``, built as ``MultiTask(inputs, outputs)``) — here the
   weighting is yours to change (uncertainty weighting, GradNorm, PCGrad, …) and still ``fit`` logs it.

Run:  python examples/multitask.py            (a few epochs)
      python examples/multitask.py --quick    (a few steps; used by the tests)
"""
import sys

import numpy as np

import kusari
from kusari import layers, ops

LOSS_WEIGHTS = {"digit": 1.0, "parity": 0.5}


def load_data(n=None):
    """x: (n, 64) in [0, 1]; y: {"digit": label 0..9, "parity": 1.0 for odd digits}."""
    (x, y), _ = kusari.datasets.digits.load_data()
    x = x.reshape(len(x), 64).astype("float32") / 16.0
    if n is not None:
        x, y = x[:n], y[:n]
    return x, {"digit": y.astype("int32"), "parity": (y % 2).astype("float32")[:, None]}


def graph():
    """The shared trunk and the two heads, as symbolic (inputs, outputs)."""
    inp = kusari.Input((64,), name="pixels")
    features = layers.Dense(32, activation="relu", name="features")(inp)
    digit = layers.Dense(10, name="digit")(features)
    parity = layers.Dense(1, name="parity")(features)
    return inp, {"digit": digit, "parity": parity}


def build_compiled(seed=0):
    """Version 1: two losses and their weights through compile()."""
    kusari.utils.set_random_seed(seed)
    model = kusari.Model(*graph(), name="multitask")
    model.compile(optimizer=kusari.optimizers.Adam(1e-2),
                  loss={"digit": kusari.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "parity": kusari.losses.BinaryCrossentropy(from_logits=True)},
                  loss_weights=LOSS_WEIGHTS)
    return model


class MultiTask(kusari.Model):
    """Version 2: the same graph, the weighting written out in train_step."""

    def __init__(self, *args, loss_weights=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_weights = dict(loss_weights or LOSS_WEIGHTS)
        self.digit_loss_fn = kusari.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.parity_loss_fn = kusari.losses.BinaryCrossentropy(from_logits=True)
        self.trackers = {k: kusari.metrics.Mean(name=k) for k in ("loss", "digit_loss", "parity_loss")}
        self.digit_acc = kusari.metrics.SparseCategoricalAccuracy(name="digit_accuracy")

    @property
    def metrics(self):
        return list(self.trackers.values()) + [self.digit_acc]

    def losses_on(self, x, y, training=True):
        out = self(x, training=training)
        parts = {"digit_loss": self.digit_loss_fn(y["digit"], out["digit"]),
                 "parity_loss": self.parity_loss_fn(y["parity"], out["parity"])}
        total = self.loss_weights["digit"] * parts["digit_loss"] + self.loss_weights["parity"] * parts["parity_loss"]
        return total, parts, out

    def train_step(self, data):
        x, y, _ = kusari.data.adapters.unpack_x_y_sample_weight(data)
        total, parts, out = self.losses_on(x, y)
        weights = self.trainable_weights
        self.optimizer.apply(kusari.grad(total, weights), weights)
        self.trackers["loss"].update_state(total)
        for k, v in parts.items():
            self.trackers[k].update_state(v)
        self.digit_acc.update_state(y["digit"], out["digit"])
        return {m.name: m.result() for m in self.metrics}


def build_custom(seed=0):
    kusari.utils.set_random_seed(seed)
    model = MultiTask(*graph(), name="multitask_custom")
    model.compile(optimizer=kusari.optimizers.Adam(1e-2))
    return model


def main(quick=False, verbose=1):
    x, y = load_data(256 if quick else None)
    epochs = 3 if quick else 20
    results = {}
    for name, model in (("compiled", build_compiled()), ("custom", build_custom())):
        history = model.fit(x, y, batch_size=64, epochs=epochs, verbose=verbose)
        results[name] = (model, history)
    return results


if __name__ == "__main__":
    for name, (model, h) in main(quick="--quick" in sys.argv).items():
        print(name, {k: round(v[-1], 4) for k, v in h.history.items()})
