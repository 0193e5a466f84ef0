"""The WGAN-GP critic loss (with its gradient penalty, a double backprop) against PyTorch, same weights and data."""
import numpy as np
import pytest
import torch

import kusari
from kusari import layers, ops

LAMBDA = 10.0


def _kusari_critic():
    kusari.utils.set_random_seed(0)
    return kusari.Sequential([kusari.Input((5,)), layers.Dense(7, activation="tanh"),
                              layers.Dense(6, activation="softplus"), layers.Dense(1)])


def _kusari_loss(critic, real, fake, eps):
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    (g,) = kusari.grad(ops.sum(critic(x_hat)), [x_hat], create_graph=True)
    gp = ops.mean(ops.square(ops.sqrt(ops.sum(g * g, axis=1)) - 1.0))
    return ops.mean(critic(fake)) - ops.mean(critic(real)) + LAMBDA * gp, gp


def _torch_loss(params, real, fake, eps):
    def critic(x):
        h = torch.tanh(x @ params[0] + params[1])
        h = torch.nn.functional.softplus(h @ params[2] + params[3])
        return h @ params[4] + params[5]

    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    (g,) = torch.autograd.grad(critic(x_hat).sum(), [x_hat], create_graph=True)
    gp = ((torch.sqrt((g * g).sum(1)) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + LAMBDA * gp, gp


@pytest.mark.parametrize("batch", [1, 6])
def test_penalty_and_critic_loss_gradients_match_pytorch(batch):
    rng = np.random.default_rng(batch)
    real, fake = (rng.normal(size=(batch, 5)).astype("float32") for _ in range(2))
    eps = rng.uniform(size=(batch, 1)).astype("float32")
    critic = _kusari_critic()
    w = critic.trainable_weights
    loss, gp = _kusari_loss(critic, *(kusari.tensor(a) for a in (real, fake, eps)))
    gp_grads = kusari.grad(gp, w, retain_graph=True, allow_unused=True)
    loss_grads = kusari.grad(loss, w)

    params = [torch.tensor(p.numpy().astype(np.float64), requires_grad=True) for p in w]
    t_loss, t_gp = _torch_loss(params, *(torch.tensor(a.astype(np.float64)) for a in (real, fake, eps)))
    t_gp_grads = torch.autograd.grad(t_gp, params, retain_graph=True, allow_unused=True)
    t_loss_grads = torch.autograd.grad(t_loss, params)

    assert gp.item() == pytest.approx(t_gp.item(), rel=1e-5, abs=1e-6)
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5, abs=1e-6)
    assert gp_grads[-1] is None and t_gp_grads[-1] is None      # the output bias does not reach ∇x
    for a, b in zip(gp_grads[:-1] + loss_grads, t_gp_grads[:-1] + t_loss_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    assert all(p.grad is None for p in w)
