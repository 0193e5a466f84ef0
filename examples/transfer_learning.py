"""Transfer learning: pretrain on digits 0-4, reuse the base for digits 5-9 — freeze, train a head, unfreeze,
fine-tune. One ``compile``: ``base.trainable = False`` / ``True`` takes effect at the next step, and the learning
rate for fine-tuning is set on the optimizer (``model.optimizer.learning_rate = 1e-4``), not by recompiling.

Run:  python examples/transfer_learning.py            (more epochs)
      python examples/transfer_learning.py --quick    (a few steps; used by the tests)
"""
import sys

import numpy as np

import kusari
from kusari import layers


def load_split():
    """(x, y) for digits 0-4 and for digits 5-9 (labels 0-4), 8x8x1 images in [0, 1]."""
    (x, y), _ = kusari.datasets.digits.load_data()
    x = (x.astype("float32") / 16.0)[..., None]
    y = y.astype("int32")
    low, high = y < 5, y >= 5
    return (x[low], y[low]), (x[high], y[high] - 5)


def make_base():
    return kusari.Sequential([
        kusari.Input((8, 8, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),                                     # 4x4x8
        layers.Flatten(),
        layers.Dense(32, activation="relu", name="features"),
    ], name="base")


def pretrain(x, y, epochs, verbose=0):
    base = make_base()
    model = kusari.Sequential([kusari.Input((8, 8, 1)), base, layers.Dense(5, name="head_0_4")])
    model.compile(optimizer=kusari.optimizers.Adam(1e-2),
                  loss=kusari.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=verbose)
    return base


def transfer_model(base):
    model = kusari.Sequential([kusari.Input((8, 8, 1)), base, layers.Dense(5, name="head_5_9")])
    model.compile(optimizer=kusari.optimizers.Adam(1e-2),
                  loss=kusari.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def main(quick=False, verbose=1, n=None):
    kusari.utils.set_random_seed(0)
    (xa, ya), (xb, yb) = load_split()
    n = n or (256 if quick else None)
    if n:
        xa, ya, xb, yb = xa[:n], ya[:n], xb[:n], yb[:n]
    base = pretrain(xa, ya, epochs=2 if quick else 10, verbose=verbose)

    model = transfer_model(base)                                    # the only compile for the new task
    base.trainable = False                                          # phase 1: train the new head only
    frozen = model.fit(xb, yb, batch_size=64, epochs=2 if quick else 5, verbose=verbose)

    base.trainable = True                                           # phase 2: fine-tune everything, gently
    model.optimizer.learning_rate = 1e-3
    tuned = model.fit(xb, yb, batch_size=64, epochs=2 if quick else 5, verbose=verbose)
    return model, base, frozen, tuned


if __name__ == "__main__":
    model, base, frozen, tuned = main(quick="--quick" in sys.argv)
    print("head only:", [round(a, 3) for a in frozen.history["accuracy"]],
          "fine-tuned:", [round(a, 3) for a in tuned.history["accuracy"]])
