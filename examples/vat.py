"""Virtual adversarial training (Miyato et al. 2018) for semi-supervised digits — the seed post's case 2.

The adversarial direction is the gradient of KL(p(y|x) || p(y|x + d)) w.r.t. the perturbation ``d`` alone:
``kusari.grad(kl, [d])``. No weight's ``.grad`` is touched and no second model or ``trainable`` flag is needed;
the VAT loss is then an ordinary differentiable term beside the cross-entropy of the few labelled samples.

Run:  python examples/vat.py            (100 labels, the rest unlabelled)
      python examples/vat.py --quick    (a few steps; used by the tests)
"""
import sys

import numpy as np

import kusari
from kusari import layers, ops


def make_classifier(input_dim=64, classes=10):
    return kusari.Sequential([kusari.Input((input_dim,)), layers.Dense(64, activation="relu"),
                              layers.Dense(classes)], name="classifier")


def l2_normalize(d):
    """Each sample's perturbation scaled to unit L2 norm (over all non-batch axes)."""
    axes = tuple(range(1, d.ndim))
    return d / ops.maximum(ops.sqrt(ops.sum(ops.square(d), axis=axes, keepdims=True)), 1e-20)


def kl_from_logits(p_logits, q_logits):
    """Mean over the batch of KL(p || q), both given as logits."""
    p = ops.softmax(p_logits, axis=-1)
    return ops.mean(ops.sum(p * (ops.log_softmax(p_logits, axis=-1) - ops.log_softmax(q_logits, axis=-1)), axis=-1))


def adversarial_perturbation(model, x, eps=1.0, xi=0.1, power_iterations=1, logits=None):
    """r_adv with ||r_adv|| = eps per sample: the direction that most changes the model's prediction at x.

    Only the perturbation is differentiated (``kusari.grad(kl, [d])``); the result is detached."""
    p_logits = (model(x) if logits is None else logits).detach()
    d = l2_normalize(kusari.random.normal(tuple(x.shape)))
    for _ in range(power_iterations):
        d = (xi * d).detach().requires_grad_()
        (g,) = kusari.grad(kl_from_logits(p_logits, model(x + d)), [d])
        d = l2_normalize(g)
    return (eps * d).detach()


def vat_loss(model, x, eps=1.0, xi=0.1, logits=None):
    """KL(p(y|x) || p(y|x + r_adv)); differentiable w.r.t. the model's weights through the second term."""
    logits = model(x) if logits is None else logits
    r_adv = adversarial_perturbation(model, x, eps=eps, xi=xi, logits=logits)
    return kl_from_logits(logits.detach(), model(x + r_adv))


class VATModel(kusari.Model):
    """Cross-entropy on the labelled samples (label >= 0) + alpha · VAT on every sample."""

    def __init__(self, classifier, eps=1.0, xi=0.1, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.eps, self.xi, self.alpha = eps, xi, alpha
        self.trackers = [kusari.metrics.Mean(name=n) for n in ("loss", "ce", "vat")]
        self.acc = kusari.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return self.trackers + [self.acc]

    def call(self, x, training=None):
        return self.classifier(x, training=training)

    def train_step(self, data):
        x, y, _ = kusari.data.adapters.unpack_x_y_sample_weight(data)
        logits = self.classifier(x, training=True)
        labelled = ops.cast(ops.greater_equal(y, 0), "float32")
        y_safe = ops.cast(ops.maximum(y, 0), "int32")
        per_sample = ops.sparse_categorical_crossentropy(y_safe, logits, from_logits=True)
        ce = ops.sum(per_sample * labelled) / ops.maximum(ops.sum(labelled), 1.0)
        vat = vat_loss(self.classifier, x, eps=self.eps, xi=self.xi, logits=logits)
        loss = ce + self.alpha * vat
        weights = self.classifier.trainable_weights
        self.optimizer.apply(kusari.grad(loss, weights), weights)
        for m, v in zip(self.trackers, (loss, ce, vat)):
            m.update_state(v)
        if float(ops.sum(labelled).item()) > 0:
            self.acc.update_state(y_safe, logits, sample_weight=labelled)
        return {m.name: m.result() for m in self.metrics}


def load_data(n_labelled=100, n=None):
    """Digits flattened to 64 values in [0, 1]; all but ``n_labelled`` training labels replaced by -1."""
    (x, y), (xt, yt) = kusari.datasets.digits.load_data()
    x = x.reshape(len(x), 64).astype("float32") / 16.0
    xt = xt.reshape(len(xt), 64).astype("float32") / 16.0
    y = y.astype("int32")
    if n is not None:
        x, y = x[:n], y[:n]
    y_semi = y.copy()
    y_semi[n_labelled:] = -1
    return (x, y_semi, y), (xt, yt.astype("int32"))


def main(quick=False, verbose=1):
    kusari.utils.set_random_seed(0)
    (x, y_semi, _), (xt, yt) = load_data(n_labelled=32 if quick else 100, n=128 if quick else None)
    model = VATModel(make_classifier(), eps=0.5)
    model.compile(optimizer=kusari.optimizers.Adam(3e-3))
    history = model.fit(x, y_semi, batch_size=32 if quick else 64, epochs=2 if quick else 30, verbose=verbose)
    test_acc = float(np.mean(np.argmax(model.predict(xt, verbose=0), axis=1) == yt))
    return model, history, test_acc


if __name__ == "__main__":
    _, h, acc = main(quick="--quick" in sys.argv)
    print(f"test accuracy: {acc:.3f}")
