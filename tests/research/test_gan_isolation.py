"""A step on one sub-model leaves the other's weights and optimizer state exactly as they were."""
import numpy as np

import kusari
from tests.research._gan import make_gan, same, snapshot


def _warm(gan, real):
    gan.train_step((real,))                                # both optimizers built, momenta non-zero
    gan.train_step((real,))
    return kusari.random.normal((real.shape[0], gan.latent))


def test_generator_step_leaves_discriminator_and_its_optimizer_untouched():
    gan = make_gan()
    real = kusari.tensor(np.random.randn(16, 4).astype("float32"))
    z = _warm(gan, real)
    d, dopt = snapshot(gan.discriminator.weights), snapshot(gan.d_optimizer.variables)
    g, gopt = snapshot(gan.generator.weights), snapshot(gan.g_optimizer.variables)
    gan.g_step(z)
    assert same(d, snapshot(gan.discriminator.weights))
    assert same(dopt, snapshot(gan.d_optimizer.variables))
    assert not same(g, snapshot(gan.generator.weights))
    assert gan.g_optimizer.iterations.item() == 3
    assert not same(gopt, snapshot(gan.g_optimizer.variables))


def test_discriminator_step_leaves_generator_and_its_optimizer_untouched():
    gan = make_gan()
    real = kusari.tensor(np.random.randn(16, 4).astype("float32"))
    z = _warm(gan, real)
    g, gopt = snapshot(gan.generator.weights), snapshot(gan.g_optimizer.variables)
    d = snapshot(gan.discriminator.weights)
    gan.d_step(real, z)
    assert same(g, snapshot(gan.generator.weights))
    assert same(gopt, snapshot(gan.g_optimizer.variables))
    assert not same(d, snapshot(gan.discriminator.weights))


def test_no_parameter_grad_is_filled_by_the_steps():
    gan = make_gan()
    real = kusari.tensor(np.random.randn(8, 4).astype("float32"))
    _warm(gan, real)
    assert all(w.grad is None for w in gan.weights)


def test_detach_boundaries_are_respected_exactly():
    gan = make_gan()
    z = kusari.random.normal((5, gan.latent))
    G, D = gan.generator, gan.discriminator
    y = G(z)
    cut = kusari.ops.sum(D(y.detach()))
    assert all(g is None for g in kusari.grad(cut, G.trainable_weights, allow_unused=True))
    assert all(g is not None for g in kusari.grad(cut, D.trainable_weights))
    # a detached branch adds nothing: the gradient of D(y.detach()) + sum(y²) w.r.t. G is that of sum(y²) alone
    y = G(z)
    mixed = kusari.ops.sum(D(y.detach())) + kusari.ops.sum(y * y)
    only = kusari.ops.sum(G(z) ** 2)
    for a, b in zip(kusari.grad(mixed, G.trainable_weights), kusari.grad(only, G.trainable_weights)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    # and without detach the gradient does reach G
    full = kusari.ops.sum(D(G(z)))
    assert all(g is not None for g in kusari.grad(full, G.trainable_weights))
