"""WGAN-GP (Gulrajani et al. 2017) on the bundled digits: the gradient penalty is a gradient of a gradient.

``kusari.grad(critic(x_hat).sum(), [x_hat], create_graph=True)`` gives d critic / d x_hat as a tensor that is
itself differentiable, so the penalty ``(||∇ critic(x_hat)|| - 1)²`` trains the critic's weights like any loss.

Run:  python examples/wgan_gp.py            (a few epochs)
      python examples/wgan_gp.py --quick    (a few steps; used by the tests)
"""
import sys

import kusari
from kusari import layers, ops

LATENT_DIM = 16


def make_critic(input_dim=64, hidden=(64, 32), activation="leaky_relu"):
    model = kusari.Sequential([kusari.Input((input_dim,))], name="critic")
    for units in hidden:
        model.add(layers.Dense(units, activation=activation))
    model.add(layers.Dense(1))
    return model


def make_generator(latent_dim=LATENT_DIM, output_dim=64):
    return kusari.Sequential([
        kusari.Input((latent_dim,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(output_dim, activation="sigmoid"),
    ], name="generator")


def gradient_penalty(critic, real, fake, eps):
    """mean over the batch of (||d critic(x_hat) / d x_hat||₂ - 1)², x_hat = eps·real + (1 - eps)·fake.

    The result is differentiable w.r.t. the critic's weights (double backprop)."""
    x_hat = (eps * real + (1.0 - eps) * fake).detach().requires_grad_()
    (g,) = kusari.grad(ops.sum(critic(x_hat, training=True)), [x_hat], create_graph=True)
    norm = ops.sqrt(ops.sum(ops.square(g), axis=1) + 1e-12)
    return ops.mean(ops.square(norm - 1.0))


class WGANGP(kusari.Model):
    def __init__(self, generator, critic, latent_dim=LATENT_DIM, gp_weight=10.0, n_critic=1, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.critic = critic
        self.latent_dim = latent_dim
        self.gp_weight = gp_weight
        self.n_critic = n_critic
        self.trackers = {k: kusari.metrics.Mean(name=k) for k in ("c_loss", "g_loss", "gp", "w_dist")}

    def compile(self, c_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.c_optimizer = c_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, z, training=None):
        return self.generator(z, training=training)

    def critic_loss(self, real, fake, eps):
        w_dist = ops.mean(self.critic(real, training=True)) - ops.mean(self.critic(fake, training=True))
        gp = gradient_penalty(self.critic, real, fake, eps)
        return -w_dist + self.gp_weight * gp, w_dist, gp

    def train_step(self, data):
        real, _, _ = kusari.data.adapters.unpack_x_y_sample_weight(data)
        n = real.shape[0]
        for _ in range(self.n_critic):
            fake = self.generator(kusari.random.normal((n, self.latent_dim)), training=True).detach()
            eps = kusari.random.uniform((n, 1))
            c_loss, w_dist, gp = self.critic_loss(real, fake, eps)
            weights = self.critic.trainable_weights
            self.c_optimizer.apply(kusari.grad(c_loss, weights), weights)
        fake = self.generator(kusari.random.normal((n, self.latent_dim)), training=True)
        g_loss = -ops.mean(self.critic(fake, training=True))
        weights = self.generator.trainable_weights
        self.g_optimizer.apply(kusari.grad(g_loss, weights), weights)
        for k, v in (("c_loss", c_loss), ("g_loss", g_loss), ("gp", gp), ("w_dist", w_dist)):
            self.trackers[k].update_state(v)
        return {k: m.result() for k, m in self.trackers.items()}


def load_digits(n=None):
    (x, _), _ = kusari.datasets.digits.load_data()
    x = x.reshape(len(x), 64).astype("float32") / 16.0
    return x if n is None else x[:n]


def build(seed=0):
    kusari.utils.set_random_seed(seed)
    gan = WGANGP(make_generator(), make_critic())
    gan.compile(c_optimizer=kusari.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9),
                g_optimizer=kusari.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9))
    return gan


def main(quick=False, verbose=1):
    x = load_digits(128 if quick else None)
    gan = build()
    history = gan.fit(x, batch_size=32 if quick else 64, epochs=2 if quick else 20, verbose=verbose)
    return gan, history


if __name__ == "__main__":
    _, h = main(quick="--quick" in sys.argv)
    print({k: [round(v, 4) for v in vs] for k, vs in h.history.items()})
