import numpy as np

import kusari
from tests.examples._load import load_example

ex = load_example("vat")


def _setup(n=32):
    kusari.utils.set_random_seed(0)
    (x, _, _), _ = ex.load_data(n=n)
    return ex.make_classifier(), kusari.tensor(x)


def test_adversarial_direction_leaves_parameter_grads_untouched():
    model, x = _setup()
    model(x)
    assert all(w.grad is None for w in model.weights)
    ex.adversarial_perturbation(model, x, eps=1.0)
    assert all(w.grad is None for w in model.weights)
    assert x.grad is None


def test_perturbation_has_the_requested_norm_and_is_constant():
    model, x = _setup()
    for eps in (0.3, 2.0):
        r = ex.adversarial_perturbation(model, x, eps=eps)
        norms = np.sqrt((r.numpy() ** 2).sum(axis=1))
        np.testing.assert_allclose(norms, eps, rtol=1e-5)
        assert not r.requires_grad


def test_perturbation_is_adversarial():
    model, x = _setup()
    logits = model(x)
    r_adv = ex.adversarial_perturbation(model, x, eps=1.0)
    r_rand = ex.l2_normalize(kusari.random.normal(tuple(x.shape)))
    kl_adv = ex.kl_from_logits(logits, model(x + r_adv)).item()
    kl_rand = ex.kl_from_logits(logits, model(x + r_rand)).item()
    assert kl_adv > 3 * kl_rand, (kl_adv, kl_rand)


def test_vat_loss_is_positive_and_differentiable():
    model, x = _setup()
    loss = ex.vat_loss(model, x, eps=1.0)
    assert loss.item() > 0
    grads = kusari.grad(loss, model.trainable_weights)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    assert sum(float(np.abs(g.numpy()).sum()) for g in grads) > 0
    # one SGD step along -grad lowers the VAT loss at a fixed perturbation
    kusari.utils.set_random_seed(7)
    r = ex.adversarial_perturbation(model, x, eps=1.0)
    p = model(x).detach()
    before = ex.kl_from_logits(p, model(x + r))
    w = model.trainable_weights
    kusari.optimizers.SGD(0.5).apply(kusari.grad(before, w), w)
    assert ex.kl_from_logits(p, model(x + r)).item() < before.item()


def test_semi_supervised_fit_logs_all_terms():
    model, history, acc = ex.main(quick=True, verbose=0)
    assert {"loss", "ce", "vat", "accuracy"} <= set(history.history)
    assert all(v > 0 for v in history.history["vat"])
    np.testing.assert_allclose(history.history["loss"][-1],
                               history.history["ce"][-1] + model.alpha * history.history["vat"][-1], rtol=1e-5)
    assert history.history["ce"][-1] < history.history["ce"][0]
