"""Models and data shared by the saving tests and the child processes they start (importable as
``tests.saving._models`` from the repository root)."""
import numpy as np

import kusari


@kusari.saving.register_serializable(package="kusari_tests")
class GlobalNoise(kusari.layers.Layer):
    """Adds noise from the *global* generator in training (exercises the global SeedGenerator state)."""

    def __init__(self, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev

    def call(self, x, training=None):
        if not training:
            return x
        return x + kusari.random.normal(x.shape, stddev=self.stddev)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


def data(n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x[:, :2] * 0.5 + 0.1).astype("float32")
    return x, y


def resume_model(seed=0):
    """A model touching every piece of state an exact resume needs: Adam slots, a schedule (step count),
    BatchNormalization moving statistics, Dropout's own SeedGenerator and noise from the global generator."""
    kusari.random.set_seed(seed)
    inp = kusari.Input((6,))
    h = kusari.layers.Dense(16, activation="relu")(inp)
    h = GlobalNoise(0.05)(h)
    h = kusari.layers.BatchNormalization()(h)
    h = kusari.layers.Dropout(0.3, seed=3)(h)   # seed=None would draw os.urandom
    out = kusari.layers.Dense(2)(h)
    model = kusari.Model(inp, out)
    lr = kusari.optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.9)
    model.compile(kusari.optimizers.Adam(lr), "mse")
    return model


FIT = dict(batch_size=8, shuffle=True, verbose=0)
