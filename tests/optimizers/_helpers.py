"""Shared fixtures for the optimizer tests: a small least-squares problem and step runners."""
import numpy as np

import kusari

RNG = np.random.default_rng(1234)
X = RNG.standard_normal((8, 4)).astype(np.float32)
Y = RNG.standard_normal((8, 3)).astype(np.float32)
W0 = (RNG.standard_normal((4, 3)) * 0.5).astype(np.float32)
B0 = (RNG.standard_normal((3,)) * 0.1).astype(np.float32)
P0 = [W0, B0]


def grads_at(params):
    """Gradient of 0.5 * ||X W + b - Y||^2 (float64 maths, float32 out)."""
    w, b = (np.asarray(p, np.float64) for p in params)
    r = X.astype(np.float64) @ w + b - Y
    return [(X.T.astype(np.float64) @ r).astype(np.float32), r.sum(0).astype(np.float32)]


def make_params(p0=P0):
    return [kusari.Parameter(p.copy(), name=n) for p, n in zip(p0, ("kernel", "bias"))]


def run_kusari(opt, steps, params=None, grad_fn=grads_at):
    params = params if params is not None else make_params()
    for _ in range(steps):
        gs = grad_fn([p.numpy() for p in params])
        opt.apply([kusari.tensor(g) for g in gs], params)
    return [p.numpy().copy() for p in params]


def run_torch(make_opt, steps, grad_fn=grads_at):
    import torch
    ps = [torch.tensor(p.copy(), requires_grad=True) for p in P0]
    opt = make_opt(ps)
    for _ in range(steps):
        gs = grad_fn([p.detach().numpy() for p in ps])
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in ps]


def assert_close_deltas(got, want, rtol=2e-4, atol=2e-6):
    """Compare the moves from P0 (more sensitive than the end points)."""
    for g, w, p0 in zip(got, want, P0):
        np.testing.assert_allclose(g - p0, w - p0, rtol=rtol, atol=atol)
