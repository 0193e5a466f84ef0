"""DCGAN with feature matching on the bundled 8x8 digits — the seed post's case, without its pain.

The generator is trained to match the mean of the discriminator's inner "features" layer on real and on fake
images (Salimans et al. 2016): ``||mean f(real) - mean f(fake)||²``. In Keras 2 this took ``model_d.trainable =
False``, a stacked ``Sequential(model_g, model_d)``, a second model for the feature layer and one ``compile`` per
branch. Here it is one subclassed ``Model`` with its own ``train_step`` and two optimizers, trained by ``fit`` —
progress bar, History, CSVLogger, TensorBoard, ModelCheckpoint and EarlyStopping all see ``d_loss`` / ``g_loss``.

Run:  python examples/dcgan_feature_matching.py            (a few epochs on the digits, writes ./logs_dcgan)
      python examples/dcgan_feature_matching.py --quick    (a few steps; used by the tests)
"""
import sys

import numpy as np

import kusari
from kusari import layers, ops

LATENT_DIM = 16


def make_discriminator():
    """A functional CNN critic; its "features" layer is what feature matching compares."""
    inp = kusari.Input((8, 8, 1))
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="leaky_relu")(inp)    # 4x4
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="leaky_relu")(h)      # 2x2
    h = layers.Flatten()(h)
    features = layers.Dense(32, activation="leaky_relu", name="features")(h)
    logits = layers.Dense(1, name="logits")(features)
    return kusari.Model(inp, logits, name="discriminator")


def make_generator(latent_dim=LATENT_DIM):
    return kusari.Sequential([
        kusari.Input((latent_dim,)),
        layers.Dense(2 * 2 * 32, activation="relu"),
        layers.Reshape((2, 2, 32)),
        layers.Conv2DTranspose(16, 4, strides=2, padding="same", activation="relu"),       # 4x4
        layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid"),     # 8x8
    ], name="generator")


def feature_matching_loss(f_real, f_fake):
    """||mean f(real) - mean f(fake)||²; the real statistics are a target (no gradient into them)."""
    return ops.sum(ops.square(ops.mean(f_real.detach(), axis=0) - ops.mean(f_fake, axis=0)))


class FeatureMatchingGAN(kusari.Model):
    def __init__(self, generator, discriminator, latent_dim=LATENT_DIM, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.bce = kusari.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = kusari.metrics.Mean(name="d_loss")
        self.g_loss_tracker = kusari.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z, training=None):
        return self.generator(z, training=training)

    def sample_z(self, n):
        return kusari.random.normal((n, self.latent_dim))

    def d_step(self, real, z=None):
        """One discriminator update; the generator's weights and optimizer are not touched."""
        n = real.shape[0]
        z = self.sample_z(n) if z is None else z
        fake = self.generator(z, training=True).detach()         # no gradient path back into G
        logits = self.discriminator(ops.concatenate([real, fake], axis=0), training=True)
        labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)
        loss = self.bce(labels, logits)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply(kusari.grad(loss, weights), weights)
        return loss

    def g_loss(self, real, z):
        with kusari.capture(self.discriminator, ["features"]) as taps:
            self.discriminator(real, training=True)
            self.discriminator(self.generator(z, training=True), training=True)
        f_real, f_fake = taps.all["features"]
        return feature_matching_loss(f_real, f_fake)

    def g_step(self, real, z=None):
        """One generator update on the feature-matching loss; D's weights and optimizer are not touched."""
        z = self.sample_z(real.shape[0]) if z is None else z
        loss = self.g_loss(real, z)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply(kusari.grad(loss, weights), weights)
        return loss

    def train_step(self, data):
        real, _, _ = kusari.data.adapters.unpack_x_y_sample_weight(data)
        d_loss = self.d_step(real)
        g_loss = self.g_step(real)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def load_digits(n=None):
    (x, _), _ = kusari.datasets.digits.load_data()
    x = (x.astype("float32") / 16.0)[..., None]
    return x if n is None else x[:n]


def build(seed=0):
    kusari.utils.set_random_seed(seed)
    gan = FeatureMatchingGAN(make_generator(), make_discriminator())
    gan.compile(d_optimizer=kusari.optimizers.Adam(2e-3, beta_1=0.5),
                g_optimizer=kusari.optimizers.Adam(2e-3, beta_1=0.5))
    return gan


def main(quick=False, log_dir="logs_dcgan", verbose=1):
    x = load_digits(128 if quick else None)
    gan = build()
    callbacks = [
        kusari.callbacks.CSVLogger(f"{log_dir}/log.csv"),
        kusari.callbacks.TensorBoard(log_dir),
        kusari.callbacks.ModelCheckpoint(f"{log_dir}/gan.weights.safetensors", monitor="g_loss",
                                         save_best_only=True, save_weights_only=True),
        # the feature-matching loss is a moving target (D's features change too): stop only after a long plateau
        kusari.callbacks.EarlyStopping(monitor="g_loss", patience=8),
    ]
    history = gan.fit(x, batch_size=32 if quick else 64, epochs=2 if quick else 15, callbacks=callbacks,
                      verbose=verbose)
    return gan, history


if __name__ == "__main__":
    _, h = main(quick="--quick" in sys.argv)
    print({k: [round(v, 4) for v in vs] for k, vs in h.history.items()})
