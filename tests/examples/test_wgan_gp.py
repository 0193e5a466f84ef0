import numpy as np
import pytest
import torch

import kusari
from tests.examples._load import load_example, same, snapshot

ex = load_example("wgan_gp")


def _torch_penalty_grads(critic, real, fake, eps, activation):
    act = {"tanh": torch.tanh, "leaky_relu": lambda h: torch.nn.functional.leaky_relu(h, 0.2)}[activation]
    params = [torch.tensor(w.numpy().astype(np.float64), requires_grad=True) for w in critic.trainable_weights]
    x_hat = torch.tensor((eps * real + (1 - eps) * fake).astype(np.float64), requires_grad=True)

    def forward(x):
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = act(h)
        return h

    (g,) = torch.autograd.grad(forward(x_hat).sum(), [x_hat], create_graph=True)
    gp = ((torch.sqrt((g ** 2).sum(1) + 1e-12) - 1) ** 2).mean()
    grads = torch.autograd.grad(gp, params, allow_unused=True)
    return gp.item(), [np.zeros(p.shape) if t is None else t.numpy() for p, t in zip(params, grads)]


@pytest.mark.parametrize("activation", ["leaky_relu", "tanh"])
def test_penalty_gradient_matches_pytorch(activation):
    kusari.utils.set_random_seed(0)
    critic = ex.make_critic(input_dim=6, hidden=(8, 5), activation=activation)
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(4, 6)).astype("float32")
    eps = rng.uniform(size=(4, 1)).astype("float32")
    gp = ex.gradient_penalty(critic, kusari.tensor(real), kusari.tensor(fake), kusari.tensor(eps))
    grads = kusari.grad(gp, critic.trainable_weights, allow_unused=True)   # the last bias does not reach ∇x
    gp_ref, grads_ref = _torch_penalty_grads(critic, real, fake, eps, activation)
    assert np.isclose(gp.item(), gp_ref, rtol=1e-5, atol=1e-6)
    assert grads[-1] is None and any(g is not None and np.abs(g.numpy()).max() > 1e-3 for g in grads)
    for w, g, r in zip(critic.trainable_weights, grads, grads_ref):   # None: no path (biases under leaky_relu)
        np.testing.assert_allclose(np.zeros(w.shape) if g is None else g.numpy(), r, rtol=1e-4, atol=1e-5)


def test_critic_step_leaves_generator_alone_and_fit_logs_penalty():
    gan, history = ex.main(quick=True, verbose=0)
    assert set(history.history) == {"c_loss", "g_loss", "gp", "w_dist"}
    assert all(np.isfinite(v) for vs in history.history.values() for v in vs)
    real = kusari.tensor(ex.load_digits(8))
    g0 = snapshot(gan.generator.weights)
    fake = gan.generator(kusari.random.normal((8, ex.LATENT_DIM)))
    loss, _, gp = gan.critic_loss(real, fake.detach(), kusari.random.uniform((8, 1)))
    assert gp.item() >= 0
    weights = gan.critic.trainable_weights
    gan.c_optimizer.apply(kusari.grad(loss, weights), weights)
    assert same(g0, snapshot(gan.generator.weights))
