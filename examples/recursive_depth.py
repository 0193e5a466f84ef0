"""A model whose depth comes from the data: one shared cell applied k times, k read from each sample.

Define-by-run means the graph is whatever Python ran: ``for t in range(max k of the batch)`` unrolls as far as
this batch needs, and each sample keeps its own state once its own k is reached (``ops.where``). Backprop goes
through exactly the steps that ran; the same ``Dense`` cell gets the gradient of every application. It trains with
the plain ``compile`` / ``fit`` — nothing to declare about the depth.

Toy task: rotate a 2-D point k times by a fixed, unknown angle (k = 1..4 per sample). The cell must learn the
rotation itself, so the loss only goes down if the recursion depth is honoured.

Run:  python examples/recursive_depth.py            (more steps)
      python examples/recursive_depth.py --quick    (a few steps; used by the tests)
"""
import math
import sys

import numpy as np

import kusari
from kusari import layers, ops

ANGLE = 2 * math.pi / 7
MAX_DEPTH = 4


class RecursiveNet(kusari.Model):
    """encoder -> cell applied k_i times to sample i -> head."""

    def __init__(self, units=8, out_dim=2, activation=None, dtype=None, **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.encoder = layers.Dense(units, dtype=dtype, name="encoder")
        self.cell = layers.Dense(units, activation=activation, kernel_initializer="orthogonal", dtype=dtype,
                                 name="cell")                       # one set of weights, applied k times
        self.head = layers.Dense(out_dim, dtype=dtype, name="head")

    def call(self, inputs, training=None):
        x, k = inputs
        k = ops.reshape(ops.cast(k, "int32"), (-1, 1))
        h = self.encoder(x)
        depth = int(ops.max(k).item())                 # data-dependent Python loop bound
        for t in range(depth):
            h = ops.where(ops.greater(k, t), self.cell(h), h)
        return self.head(h)


def rotation_data(n, seed=0, max_depth=MAX_DEPTH, angle=ANGLE):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    k = rng.integers(1, max_depth + 1, size=n).astype("int32")
    theta = k * angle
    c, s = np.cos(theta), np.sin(theta)
    y = np.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], axis=1).astype("float32")
    return (x, k), y


def build(seed=0, lr=0.05):
    kusari.utils.set_random_seed(seed)
    model = RecursiveNet()
    model.compile(optimizer=kusari.optimizers.Adam(lr), loss="mse")
    return model


def main(quick=False, verbose=1):
    (x, k), y = rotation_data(256 if quick else 2048)
    model = build()
    history = model.fit((x, k), y, batch_size=32, epochs=8 if quick else 30, verbose=verbose)
    (xt, kt), yt = rotation_data(256, seed=1)
    test_mse = float(np.mean((model.predict((xt, kt), verbose=0) - yt) ** 2))
    return model, history, test_mse


if __name__ == "__main__":
    _, h, mse = main(quick="--quick" in sys.argv)
    print(f"train loss {h.history['loss'][0]:.4f} -> {h.history['loss'][-1]:.4f}; test mse {mse:.5f}")
