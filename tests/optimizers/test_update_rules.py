"""Each optimizer's update rule, several steps, against torch.optim (where its formula equals Keras') and against
a float64 NumPy transcription of Keras 3's formula; and the fused backend kernels against the generic path."""
import math

import numpy as np
import pytest

import kusari
from kusari import optimizers as O

from ._helpers import P0, assert_close_deltas, grads_at, make_params, run_kusari, run_torch

torch = pytest.importorskip("torch")
STEPS = 6


# -- float64 references of Keras 3's update_step ---------------------------------------------------------------
def keras_reference(kind, hp, steps=STEPS):
    ps = [p.astype(np.float64) for p in P0]
    lr = hp.get("learning_rate")
    state = [dict() for _ in ps]
    u_product = 1.0
    for t in range(1, steps + 1):
        gs = [g.astype(np.float64) for g in grads_at(ps)]
        if kind == "nadam":
            u_product *= hp["beta_1"] * (1 - 0.5 * 0.96 ** t)
        for i, (p, g) in enumerate(zip(ps, gs)):
            s = state[i]
            z = np.zeros_like(p)
            if hp.get("weight_decay"):
                p = p - p * hp["weight_decay"] * lr
            if kind == "sgd":
                mom = hp.get("momentum", 0.0)
                if mom:
                    s["m"] = s.get("m", z) * mom - g * lr
                    p = p + (s["m"] * mom - g * lr if hp.get("nesterov") else s["m"])
                else:
                    p = p - g * lr
            elif kind in ("adam", "adamw"):
                b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
                s["m"] = s.get("m", z) + (g - s.get("m", z)) * (1 - b1)
                s["v"] = s.get("v", z) + (g * g - s.get("v", z)) * (1 - b2)
                v = s["v"]
                if hp.get("amsgrad"):
                    s["vh"] = np.maximum(s.get("vh", z), s["v"])
                    v = s["vh"]
                alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                p = p - s["m"] * alpha / (np.sqrt(v) + eps)
            elif kind == "adamax":
                b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
                s["m"] = s.get("m", z) + (g - s.get("m", z)) * (1 - b1)
                s["u"] = np.maximum(b2 * s.get("u", z), np.abs(g))
                p = p - lr * s["m"] / ((1 - b1 ** t) * (s["u"] + eps))
            elif kind == "nadam":
                b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
                u_t = b1 * (1 - 0.5 * 0.96 ** t)
                u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
                s["m"] = s.get("m", z) + (g - s.get("m", z)) * (1 - b1)
                s["v"] = s.get("v", z) + (g * g - s.get("v", z)) * (1 - b2)
                m_hat = u_t1 * s["m"] / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
                v_hat = s["v"] / (1 - b2 ** t)
                p = p - m_hat * lr / (np.sqrt(v_hat) + eps)
            elif kind == "rmsprop":
                rho, mom, eps = hp["rho"], hp.get("momentum", 0.0), hp["epsilon"]
                s["v"] = rho * s.get("v", z) + (1 - rho) * g * g
                if hp.get("centered"):
                    s["a"] = rho * s.get("a", z) + (1 - rho) * g
                    den = s["v"] - s["a"] ** 2 + eps
                else:
                    den = s["v"] + eps
                inc = lr * g / np.sqrt(den)
                if mom > 0:
                    s["mom"] = mom * s.get("mom", z) + inc
                    p = p - s["mom"]
                else:
                    p = p - inc
            elif kind == "adagrad":
                s["acc"] = s.get("acc", z + hp["initial_accumulator_value"]) + g * g
                p = p - lr * g / np.sqrt(s["acc"] + hp["epsilon"])
            elif kind == "adadelta":
                rho, eps = hp["rho"], hp["epsilon"]
                s["ag"] = rho * s.get("ag", z) + (1 - rho) * g * g
                d = -np.sqrt(s.get("ad", z) + eps) * g / np.sqrt(s["ag"] + eps)
                s["ad"] = rho * s.get("ad", z) + (1 - rho) * d * d
                p = p + lr * d
            elif kind == "lion":
                b1, b2 = hp["beta_1"], hp["beta_2"]
                p = p - lr * np.sign(s.get("m", z) * b1 + g * (1 - b1))
                s["m"] = s.get("m", z) * b2 + g * (1 - b2)
            ps[i] = p
    return ps


# (kusari class, kwargs, reference kind, torch factory or None, extra keys the reference needs)
CASES = {
    "sgd": (O.SGD, dict(learning_rate=0.05), "sgd",
            lambda ps: torch.optim.SGD(ps, lr=0.05)),
    "sgd_momentum": (O.SGD, dict(learning_rate=0.05, momentum=0.9), "sgd",
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd_nesterov": (O.SGD, dict(learning_rate=0.05, momentum=0.9, nesterov=True), "sgd",
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_wd": (O.SGD, dict(learning_rate=0.05, weight_decay=0.1), "sgd",
               lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=0.1)),  # plain SGD: coupled == decoupled
    "adam": (O.Adam, dict(learning_rate=0.01, epsilon=1e-12), "adam",
             lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-12)),
    "adam_keras_eps": (O.Adam, dict(learning_rate=0.01, epsilon=1e-2), "adam", None),  # eps differs from torch
    "adam_amsgrad": (O.Adam, dict(learning_rate=0.01, epsilon=1e-12, amsgrad=True), "adam",
                     lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-12, amsgrad=True)),
    "adamw": (O.AdamW, dict(learning_rate=0.01, weight_decay=0.1, epsilon=1e-12), "adamw",
              lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1, eps=1e-12)),
    "adamax": (O.Adamax, dict(learning_rate=0.01, epsilon=0.0), "adamax",
               lambda ps: torch.optim.Adamax(ps, lr=0.01, eps=0.0)),
    "adamax_keras_eps": (O.Adamax, dict(learning_rate=0.01, epsilon=1e-2), "adamax", None),
    "nadam": (O.Nadam, dict(learning_rate=0.01), "nadam",
              lambda ps: torch.optim.NAdam(ps, lr=0.01, eps=1e-7, momentum_decay=1.0)),
    "rmsprop": (O.RMSprop, dict(learning_rate=0.01, epsilon=0.0), "rmsprop",
                lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.0)),
    "rmsprop_centered_momentum": (O.RMSprop, dict(learning_rate=0.01, epsilon=0.0, centered=True, momentum=0.5),
                                  "rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.0,
                                                                            centered=True, momentum=0.5)),
    "rmsprop_keras_eps": (O.RMSprop, dict(learning_rate=0.01, epsilon=1e-2, centered=True), "rmsprop", None),
    "adagrad": (O.Adagrad, dict(learning_rate=0.1, epsilon=0.0), "adagrad",
                lambda ps: torch.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1, eps=0.0)),
    "adagrad_keras_eps": (O.Adagrad, dict(learning_rate=0.1, epsilon=0.5), "adagrad", None),
    "adadelta": (O.Adadelta, dict(learning_rate=1.0, rho=0.9, epsilon=1e-6), "adadelta",
                 lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.9, eps=1e-6)),
    "lion": (O.Lion, dict(learning_rate=0.01), "lion", None),
}


def _hp(cls, kwargs):
    """Constructor arguments with the class' defaults filled in (for the reference)."""
    opt = cls(**kwargs)
    cfg = opt.get_config()
    cfg["learning_rate"] = float(kwargs["learning_rate"])
    return cfg


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras_formula(case):
    cls, kwargs, kind, _ = CASES[case]
    got = run_kusari(cls(**kwargs), STEPS)
    want = keras_reference(kind, _hp(cls, kwargs))
    assert_close_deltas(got, want)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][3] is not None))
def test_matches_torch(case):
    cls, kwargs, _, make_torch = CASES[case]
    got = run_kusari(cls(**kwargs), STEPS)
    want = run_torch(make_torch, STEPS)
    assert_close_deltas(got, want)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_kernel_equals_generic_path(case):
    cls, kwargs, _, _ = CASES[case]
    fused = run_kusari(cls(**kwargs), STEPS)
    generic = cls(**kwargs)
    generic._use_fused = False
    slow = run_kusari(generic, STEPS)
    for a, b in zip(fused, slow):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", sorted(CASES))
def test_generic_path_without_kernels(case, monkeypatch):
    """A backend that lacks the fused kernels (base-class methods) falls back to assign()."""
    from kusari.backend.base import Backend
    from kusari.backend.numpy_backend import NumpyBackend
    for name in ("sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update",
                 "adamax_update", "nadam_update", "lion_update", "sgd_update_many", "adam_update_many"):
        monkeypatch.setattr(NumpyBackend, name, getattr(Backend, name))
    cls, kwargs, kind, _ = CASES[case]
    got = run_kusari(cls(**kwargs), STEPS)
    assert_close_deltas(got, keras_reference(kind, _hp(cls, kwargs)))


def test_defaults_are_keras():
    cfg = {c.__name__: c().get_config() for c in (O.SGD, O.Adam, O.AdamW, O.Adamax, O.Nadam, O.RMSprop,
                                                  O.Adagrad, O.Adadelta, O.Lion)}
    f32 = lambda x: float(np.float32(x))  # noqa: E731
    assert cfg["SGD"]["learning_rate"] == f32(0.01) and cfg["SGD"]["momentum"] == 0.0
    assert cfg["SGD"]["nesterov"] is False
    for n in ("Adam", "AdamW", "Adamax", "Nadam"):
        assert (cfg[n]["learning_rate"], cfg[n]["beta_1"], cfg[n]["beta_2"], cfg[n]["epsilon"]) == \
            (f32(0.001), 0.9, 0.999, 1e-7)
    assert cfg["Adam"]["amsgrad"] is False and cfg["Adam"]["weight_decay"] is None
    assert cfg["AdamW"]["weight_decay"] == 0.004
    assert (cfg["RMSprop"]["rho"], cfg["RMSprop"]["momentum"], cfg["RMSprop"]["epsilon"],
            cfg["RMSprop"]["centered"]) == (0.9, 0.0, 1e-7, False)
    assert (cfg["Adagrad"]["initial_accumulator_value"], cfg["Adagrad"]["epsilon"]) == (0.1, 1e-7)
    assert (cfg["Adadelta"]["learning_rate"], cfg["Adadelta"]["rho"], cfg["Adadelta"]["epsilon"]) == \
        (f32(0.001), 0.95, 1e-7)
    assert (cfg["Lion"]["learning_rate"], cfg["Lion"]["beta_1"], cfg["Lion"]["beta_2"]) == (f32(0.001), 0.9, 0.99)
    for c in cfg.values():
        assert c["clipnorm"] is None and c["clipvalue"] is None and c["global_clipnorm"] is None
        assert c["use_ema"] is False and c["ema_momentum"] == 0.99 and c["loss_scale_factor"] is None


def test_argument_errors():
    with pytest.raises(ValueError, match="Only one of"):
        O.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="momentum"):
        O.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        O.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        O.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="learning_rate"):
        O.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="not recognized"):
        O.Adam(bogus=1)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        O.SGD(gradient_accumulation_steps=1)


def test_least_squares_converges_with_autograd():
    """Adam fits a linear regression through kusari's own autograd."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    true_w = np.array([[1.5], [-2.0], [0.5]], np.float32)
    y = x @ true_w + 0.3
    w = kusari.Parameter(np.zeros((3, 1), np.float32), name="w")
    b = kusari.Parameter(np.zeros((1,), np.float32), name="b")
    opt = O.Adam(learning_rate=0.1)
    xt, yt = kusari.tensor(x), kusari.tensor(y)
    for _ in range(300):
        loss = kusari.ops.mean(kusari.ops.square(kusari.ops.matmul(xt, w) + b - yt))
        w.grad = b.grad = None
        loss.backward()
        opt.apply([w.grad, b.grad], [w, b])
    np.testing.assert_allclose(w.numpy(), true_w, atol=1e-3)
    np.testing.assert_allclose(b.numpy(), [0.3], atol=1e-3)
    assert int(opt.iterations) == 300
