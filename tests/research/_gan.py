"""A tiny two-optimizer GAN on dense layers, shared by the research tests."""
import kusari
from kusari import layers, ops


def mlp(sizes, name, out_activation=None):
    model = kusari.Sequential([kusari.Input((sizes[0],))], name=name)
    for i, units in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        model.add(layers.Dense(units, activation=out_activation if last else "tanh",
                               name=f"{name}_features" if i == len(sizes) - 3 else None))
    return model


class TinyGAN(kusari.Model):
    def __init__(self, latent=3, dim=4, **kwargs):
        super().__init__(**kwargs)
        self.latent = latent
        self.generator = mlp([latent, 8, dim], "g")
        self.discriminator = mlp([dim, 8, 1], "d")
        self.bce = kusari.losses.BinaryCrossentropy(from_logits=True)
        self.d_tracker = kusari.metrics.Mean(name="d_loss")
        self.g_tracker = kusari.metrics.Mean(name="g_loss")
        self.steps = 0

    def compile(self, d_optimizer, g_optimizer, **kwargs):     # extra keyword arguments of the subclass
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_tracker, self.g_tracker]

    def call(self, z, training=None):
        return self.generator(z, training=training)

    def d_step(self, real, z):
        n = real.shape[0]
        fake = self.generator(z).detach()
        logits = self.discriminator(ops.concatenate([real, fake], axis=0))
        loss = self.bce(ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0), logits)
        w = self.discriminator.trainable_weights
        self.d_optimizer.apply(kusari.grad(loss, w), w)
        return loss

    def g_step(self, z):
        logits = self.discriminator(self.generator(z))
        loss = self.bce(ops.ones((z.shape[0], 1)), logits)
        w = self.generator.trainable_weights
        self.g_optimizer.apply(kusari.grad(loss, w), w)
        return loss

    def train_step(self, data):
        real, _, _ = kusari.data.adapters.unpack_x_y_sample_weight(data)
        z = kusari.random.normal((real.shape[0], self.latent))
        self.d_tracker.update_state(self.d_step(real, z))
        self.g_tracker.update_state(self.g_step(z))
        self.steps += 1
        # "steps" is a plain number the step returns, for the monitor tests: it only ever grows
        return {"d_loss": self.d_tracker.result(), "g_loss": self.g_tracker.result(), "steps": self.steps}


def make_gan(seed=0, lr=1e-2):
    kusari.utils.set_random_seed(seed)
    gan = TinyGAN()
    gan.compile(d_optimizer=kusari.optimizers.Adam(lr), g_optimizer=kusari.optimizers.Adam(lr))
    return gan


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def same(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and (x == y).all() for x, y in zip(a, b))
