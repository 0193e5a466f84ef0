"""kusari.losses against torch.nn.functional and NumPy formulas: values, reductions, sample weights, from_logits,
label smoothing, rank handling, gradients, lookup and serialization."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kusari
from kusari import losses

RTOL, ATOL = 1e-5, 1e-6


def rng():
    return np.random.default_rng(0)


def kt(a, requires_grad=False):
    return kusari.tensor(np.asarray(a, dtype=np.float32), requires_grad=requires_grad)


def tt(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(a, b, rtol=RTOL, atol=ATOL):
    a = a.numpy() if isinstance(a, kusari.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


def probs(shape, r):
    p = r.random(shape) + 0.1
    return p / p.sum(-1, keepdims=True)


# -- per-sample values against references ----------------------------------------------------------------------------

def _data(r, shape=(4, 3)):
    return r.normal(size=shape), r.normal(size=shape)


def test_mean_squared_error():
    t, p = _data(rng())
    close(losses.mean_squared_error(kt(t), kt(p)), ((t - p) ** 2).mean(-1))
    close(losses.mse(kt(t), kt(p)), F.mse_loss(tt(p), tt(t), reduction="none").mean(-1))


def test_mean_absolute_error():
    t, p = _data(rng())
    close(losses.mae(kt(t), kt(p)), F.l1_loss(tt(p), tt(t), reduction="none").mean(-1))


def test_mean_absolute_percentage_error():
    t, p = _data(rng())
    t[0, 0] = 0.0
    ref = 100 * (np.abs(t - p) / np.maximum(np.abs(t), 1e-7)).mean(-1)
    close(losses.mean_absolute_percentage_error(kt(t), kt(p)), ref, rtol=1e-5)


def test_mean_squared_logarithmic_error():
    r = rng()
    t, p = r.random((4, 3)) * 3, r.random((4, 3)) * 3
    p[0, 0] = -1.0   # clipped to epsilon
    ref = ((np.log(np.maximum(p, 1e-7) + 1) - np.log(np.maximum(t, 1e-7) + 1)) ** 2).mean(-1)
    close(losses.mean_squared_logarithmic_error(kt(t), kt(p)), ref)


@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_matches_torch(delta):
    t, p = _data(rng())
    ref = F.huber_loss(tt(p), tt(t), reduction="none", delta=delta).mean(-1)
    close(losses.huber(kt(t), kt(p), delta=delta), ref)
    close(losses.Huber(delta=delta, reduction="none")(kt(t), kt(p)), ref)


def test_log_cosh_stable():
    t, p = _data(rng())
    p[0, 0] = 200.0   # log(cosh(200)) overflows naively
    x = p - t
    ref = (np.abs(x) + np.log1p(np.exp(-2 * np.abs(x))) - np.log(2)).mean(-1)
    out = losses.log_cosh(kt(t), kt(p))
    assert np.isfinite(out.numpy()).all()
    close(out, ref, rtol=1e-5, atol=1e-5)


def test_hinge_family():
    r = rng()
    p = r.normal(size=(5, 3))
    t01 = r.integers(0, 2, size=(5, 3)).astype(np.float64)
    tpm = 2 * t01 - 1
    close(losses.hinge(kt(t01), kt(p)), np.maximum(1 - tpm * p, 0).mean(-1))
    close(losses.hinge(kt(tpm), kt(p)), np.maximum(1 - tpm * p, 0).mean(-1))
    close(losses.squared_hinge(kt(t01), kt(p)), (np.maximum(1 - tpm * p, 0) ** 2).mean(-1))
    onehot = np.eye(3)[r.integers(0, 3, size=5)]
    pos = (onehot * p).sum(-1)
    neg = ((1 - onehot) * p).max(-1)
    close(losses.categorical_hinge(kt(onehot), kt(p)), np.maximum(neg - pos + 1, 0))


def test_kl_divergence_matches_torch():
    r = rng()
    t, p = probs((4, 5), r), probs((4, 5), r)
    ref = F.kl_div(torch.log(tt(p)), tt(t), reduction="none").sum(-1)
    close(losses.kl_divergence(kt(t), kt(p)), ref, rtol=1e-4, atol=1e-6)
    close(losses.kld(kt(t), kt(p)), ref, rtol=1e-4, atol=1e-6)


def test_poisson_matches_torch():
    r = rng()
    t, p = r.poisson(2.0, size=(4, 3)).astype(float), r.random((4, 3)) * 3 + 0.1
    ref = F.poisson_nll_loss(tt(p), tt(t), log_input=False, full=False, eps=1e-7, reduction="none").mean(-1)
    close(losses.poisson(kt(t), kt(p)), ref, rtol=1e-5)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_cosine_similarity_matches_torch(axis):
    t, p = _data(rng())
    ref = -F.cosine_similarity(tt(p), tt(t), dim=axis, eps=0)
    close(losses.cosine_similarity(kt(t), kt(p), axis=axis), ref, rtol=1e-5)
    close(losses.CosineSimilarity(axis=axis, reduction="none")(kt(t), kt(p)), ref, rtol=1e-5)


def test_cosine_similarity_zero_vector_is_zero():
    out = losses.cosine_similarity(kt([[0.0, 0.0], [1.0, 0.0]]), kt([[1.0, 2.0], [0.0, 0.0]]))
    assert out.tolist() == [0.0, 0.0]


# -- cross-entropies ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_binary_crossentropy_from_logits(label_smoothing):
    r = rng()
    x, t = r.normal(size=(6, 4)) * 3, r.integers(0, 2, size=(6, 4)).astype(float)
    ts = t * (1 - label_smoothing) + 0.5 * label_smoothing
    ref = F.binary_cross_entropy_with_logits(tt(x), tt(ts), reduction="none").mean(-1)
    out = losses.binary_crossentropy(kt(t), kt(x), from_logits=True, label_smoothing=label_smoothing)
    close(out, ref)
    loss = losses.BinaryCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    close(loss(kt(t), kt(x)), ref.mean())


def test_binary_crossentropy_probabilities():
    r = rng()
    p, t = r.random((6, 4)) * 0.9 + 0.05, r.integers(0, 2, size=(6, 4)).astype(float)
    ref = F.binary_cross_entropy(tt(p), tt(t), reduction="none").mean(-1)
    close(losses.binary_crossentropy(kt(t), kt(p)), ref, rtol=1e-5)
    # probabilities of exactly 0/1 are clipped to epsilon as in Keras: finite loss
    out = losses.binary_crossentropy(kt([[1.0, 0.0]]), kt([[0.0, 1.0]]))
    one_minus_eps = np.float32(1.0) - np.float32(1e-7)     # float32 clipping, as Keras
    close(out, [(-np.log(1e-7) - np.log(1.0 - float(one_minus_eps))) / 2], rtol=1e-4)


def test_binary_crossentropy_extreme_logits_are_finite():
    x = kt([[1000.0, -1000.0]], requires_grad=True)
    out = losses.BinaryCrossentropy(from_logits=True)(kt([[0.0, 1.0]]), x)
    close(out, 1000.0)
    (g,) = kusari.grad(out, [x])
    assert np.isfinite(g.numpy()).all()


def test_binary_crossentropy_axis():
    r = rng()
    x, t = r.normal(size=(3, 4)), r.integers(0, 2, size=(3, 4)).astype(float)
    ref = F.binary_cross_entropy_with_logits(tt(x), tt(t), reduction="none").mean(0)
    close(losses.binary_crossentropy(kt(t), kt(x), from_logits=True, axis=0), ref)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [True, False])
def test_categorical_crossentropy_matches_torch(from_logits, label_smoothing):
    r = rng()
    x = r.normal(size=(5, 4))
    labels = r.integers(0, 4, size=5)
    onehot = np.eye(4)[labels]
    ref = F.cross_entropy(tt(x), torch.tensor(labels), reduction="none", label_smoothing=label_smoothing)
    pred = x if from_logits else torch.softmax(tt(x), -1).numpy()
    out = losses.categorical_crossentropy(kt(onehot), kt(pred), from_logits=from_logits,
                                          label_smoothing=label_smoothing)
    close(out, ref, rtol=1e-5, atol=1e-5)
    loss = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    close(loss(kt(onehot), kt(pred)), ref.mean(), rtol=1e-5, atol=1e-5)


def test_categorical_crossentropy_axis():
    r = rng()
    x = r.normal(size=(4, 3))    # classes on axis 0
    t = np.eye(4)[:, r.integers(0, 4, size=3)]
    ref = -(t * torch.log_softmax(tt(x), 0).numpy()).sum(0)
    close(losses.categorical_crossentropy(kt(t), kt(x), from_logits=True, axis=0), ref, rtol=1e-5)


@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_categorical_crossentropy_matches_torch(from_logits):
    r = rng()
    x = r.normal(size=(6, 5))
    labels = r.integers(0, 5, size=6)
    ref = F.cross_entropy(tt(x), torch.tensor(labels), reduction="none")
    pred = x if from_logits else torch.softmax(tt(x), -1).numpy()
    for y in (labels, labels[:, None], labels.astype(np.float32)):   # int, (N, 1), float labels
        close(losses.sparse_categorical_crossentropy(kusari.tensor(y), kt(pred), from_logits=from_logits), ref,
              rtol=1e-5, atol=1e-5)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    close(loss(kusari.tensor(labels), kt(pred)), ref.mean(), rtol=1e-5, atol=1e-5)


def test_sparse_categorical_crossentropy_ignore_class():
    r = rng()
    x = r.normal(size=(6, 4))
    labels = np.array([0, -1, 3, 2, -1, 1])
    ref = F.cross_entropy(tt(x), torch.tensor(labels), ignore_index=-1, reduction="none")
    out = losses.sparse_categorical_crossentropy(kusari.tensor(labels), kt(x), from_logits=True, ignore_class=-1)
    close(out, ref, rtol=1e-5, atol=1e-6)
    # mean over the valid entries only (as Keras' mask and torch's ignore_index)
    mean_ref = F.cross_entropy(tt(x), torch.tensor(labels), ignore_index=-1)
    close(losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(kusari.tensor(labels), kt(x)),
          mean_ref, rtol=1e-5)
    total = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction="sum")
    close(total(kusari.tensor(labels), kt(x)), ref.sum(), rtol=1e-5)


def test_sparse_categorical_crossentropy_spatial():
    r = rng()
    x = r.normal(size=(2, 3, 3, 4))
    labels = r.integers(0, 4, size=(2, 3, 3))
    ref = F.cross_entropy(tt(np.moveaxis(x, -1, 1)), torch.tensor(labels), reduction="none")
    close(losses.sparse_categorical_crossentropy(kusari.tensor(labels), kt(x), from_logits=True), ref, rtol=1e-5)


# -- reductions and sample weights -------------------------------------------------------------------------------------

PER_SAMPLE = np.array([0.5, 1.0, 2.0, 4.0])


def _mse_case():
    r = rng()
    t, p = r.normal(size=(4, 3)), r.normal(size=(4, 3))
    return t, p, ((t - p) ** 2).mean(-1)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum", "none", None,
                                       "mean_with_sample_weight"])
def test_reductions_with_and_without_weights(reduction):
    t, p, per = _mse_case()
    w = np.array([1.0, 0.0, 2.0, 0.5])
    loss = losses.MeanSquaredError(reduction=reduction)
    for sw, weighted in ((None, per), (w, per * w)):
        out = loss(kt(t), kt(p), sample_weight=None if sw is None else kt(sw))
        if reduction in ("none", None):
            ref = weighted
        elif reduction == "sum":
            ref = weighted.sum()
        elif reduction == "mean_with_sample_weight" and sw is not None:
            ref = weighted.sum() / w.sum()
        else:
            ref = weighted.sum() / weighted.size
        close(out, ref)


def test_sample_weight_shapes():
    t, p, per = _mse_case()
    w = np.array([1.0, 0.0, 2.0, 0.5])
    loss = losses.MeanSquaredError()
    ref = (per * w).mean()
    close(loss(kt(t), kt(p), sample_weight=kt(w[:, None])), ref)          # (N, 1) weights
    close(loss(kt(t), kt(p), sample_weight=w), ref)                      # NumPy weights
    close(loss(kt(t), kt(p), sample_weight=2.0), 2 * per.mean())         # scalar weight
    # per-timestep losses (N, T) with (N,) weights broadcast from the left
    seq = losses.MeanSquaredError(reduction="none")(kt(t[..., None]), kt(p[..., None]))
    assert seq.shape == (4, 3)
    close(losses.MeanSquaredError()(kt(t[..., None]), kt(p[..., None]), sample_weight=kt(w)),
          ((t - p) ** 2 * w[:, None]).mean())
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\)"):
        loss(kt(t), kt(p), sample_weight=kt([1.0, 2.0, 3.0]))


def test_mean_with_sample_weight_zero_weights_gives_zero():
    t, p, _ = _mse_case()
    out = losses.MeanSquaredError(reduction="mean_with_sample_weight")(kt(t), kt(p), sample_weight=np.zeros(4))
    assert out.item() == 0.0


def test_invalid_reduction():
    with pytest.raises(ValueError, match="sum_over_batch_size"):
        losses.MeanSquaredError(reduction="average")


# -- rank handling and shape errors -------------------------------------------------------------------------------------

def test_trailing_one_is_squeezed_or_expanded():
    r = rng()
    t, p = r.normal(size=4), r.normal(size=4)
    ref = ((t - p) ** 2).mean()
    mse = losses.MeanSquaredError()
    close(mse(kt(t), kt(p[:, None])), ref)
    close(mse(kt(t[:, None]), kt(p)), ref)
    close(mse(kt(t[:, None]), kt(p[:, None])), ref)
    assert losses.mean_squared_error(kt(t), kt(p[:, None])).shape == (4,)
    x = r.normal(size=(4, 1))
    y = r.integers(0, 2, size=4).astype(float)
    ref = F.binary_cross_entropy_with_logits(tt(x[:, 0]), tt(y))
    close(losses.BinaryCrossentropy(from_logits=True)(kt(y), kt(x)), ref)


def test_squeeze_or_expand_rules():
    a, b = losses.squeeze_or_expand_to_same_rank(kt(np.zeros((3, 4, 1))), kt(np.zeros((3, 4))))
    assert a.shape == b.shape == (3, 4)
    a, b = losses.squeeze_or_expand_to_same_rank(kt(np.zeros(3)), kt(np.zeros((3, 1))))
    assert a.shape == b.shape == (3, 1)
    a, b = losses.squeeze_or_expand_to_same_rank(kt(np.zeros(3)), kt(np.zeros((3, 1))), expand_rank_1=False)
    assert a.shape == b.shape == (3,)


@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.MeanAbsoluteError(), losses.Huber(),
                                  losses.BinaryCrossentropy(), losses.CategoricalCrossentropy(), losses.Hinge(),
                                  losses.KLDivergence(), losses.CosineSimilarity(), losses.Poisson(),
                                  losses.LogCosh()])
def test_shape_mismatch_names_both_shapes(loss):
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 3\)|\(3, 3\).*\(3,\)"):
        loss(kt(np.zeros(3)), kt(np.full((3, 3), 0.5)))


def test_sparse_shape_errors():
    with pytest.raises(ValueError, match=r"y_true shape \(4,\).*y_pred shape \(3, 5\)"):
        losses.SparseCategoricalCrossentropy()(kusari.tensor([0, 1, 2, 3]), kt(np.full((3, 5), 0.2)))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy()(kusari.tensor([0, 1, 2]), kt(np.full((3, 5), 0.2)))


def test_axis_must_be_int():
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(kt([[0.0, 1.0]]), kt([[0.5, 0.5]]), axis=True)


# -- gradients ---------------------------------------------------------------------------------------------------------

def _grad_pair(k_loss, t_loss, x):
    xk = kt(x, requires_grad=True)
    (gk,) = kusari.grad(k_loss(xk), [xk])
    xt = tt(x, requires_grad=True)
    (gt,) = torch.autograd.grad(t_loss(xt), [xt])
    close(gk, gt, rtol=1e-4, atol=1e-6)


def test_grad_categorical_crossentropy_logits_vs_torch():
    r = rng()
    x, labels = r.normal(size=(5, 4)), r.integers(0, 4, size=5)
    w = r.random(5)
    onehot = kt(np.eye(4)[labels])
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    _grad_pair(lambda xk: loss(onehot, xk, sample_weight=kt(w)),
               lambda xt: (F.cross_entropy(xt, torch.tensor(labels), reduction="none", label_smoothing=0.1)
                           * tt(w)).mean(), x)


def test_grad_categorical_crossentropy_probabilities_vs_torch():
    r = rng()
    x, labels = r.normal(size=(5, 4)), r.integers(0, 4, size=5)
    onehot = kt(np.eye(4)[labels])
    loss = losses.CategoricalCrossentropy()
    _grad_pair(lambda xk: loss(onehot, kusari.ops.softmax(xk)),
               lambda xt: F.nll_loss(torch.log(torch.softmax(xt, -1)), torch.tensor(labels)), x)


def test_grad_sparse_categorical_crossentropy_vs_torch():
    r = rng()
    x, labels = r.normal(size=(6, 3)), np.array([0, 2, -1, 1, 1, -1])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    _grad_pair(lambda xk: loss(kusari.tensor(labels), xk),
               lambda xt: F.cross_entropy(xt, torch.tensor(labels), ignore_index=-1), x)


def test_grad_binary_crossentropy_vs_torch():
    r = rng()
    x, t = r.normal(size=(4, 3)), r.integers(0, 2, size=(4, 3)).astype(float)
    loss = losses.BinaryCrossentropy(from_logits=True, reduction="sum")
    _grad_pair(lambda xk: loss(kt(t), xk),
               lambda xt: F.binary_cross_entropy_with_logits(xt, tt(t), reduction="none").mean(-1).sum(), x)
    loss = losses.BinaryCrossentropy()
    _grad_pair(lambda xk: loss(kt(t), kusari.ops.sigmoid(xk)),
               lambda xt: F.binary_cross_entropy(torch.sigmoid(xt), tt(t)), x)


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "log_cosh", "kl_divergence", "poisson", "hinge",
                                  "cosine_similarity", "mean_squared_logarithmic_error"])
def test_grad_flows_through_every_loss(name):
    r = rng()
    t, x = r.random((3, 4)) + 0.1, r.random((3, 4)) + 0.1
    xk = kt(x, requires_grad=True)
    out = losses.LossFunctionWrapper(losses.get(name))(kt(t), xk)
    (g,) = kusari.grad(out, [xk])
    assert g.shape == (3, 4) and np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0


def test_grad_huber_vs_torch():
    r = rng()
    t, x = r.normal(size=(4, 3)), r.normal(size=(4, 3)) * 2
    _grad_pair(lambda xk: losses.Huber(delta=0.7)(kt(t), xk),
               lambda xt: F.huber_loss(xt, tt(t), delta=0.7), x)


# -- lookup and serialization -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,fn", [
    ("mse", losses.mean_squared_error), ("mean_squared_error", losses.mean_squared_error),
    ("mae", losses.mean_absolute_error), ("categorical_crossentropy", losses.categorical_crossentropy),
    ("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy),
    ("binary_crossentropy", losses.binary_crossentropy), ("huber", losses.huber),
    ("kl_divergence", losses.kl_divergence), ("kld", losses.kl_divergence), ("hinge", losses.hinge),
    ("cosine_similarity", losses.cosine_similarity), ("bce", losses.binary_crossentropy),
    ("mape", losses.mean_absolute_percentage_error), ("msle", losses.mean_squared_logarithmic_error),
    ("poisson", losses.poisson), ("log_cosh", losses.log_cosh), ("squared_hinge", losses.squared_hinge),
])
def test_get_by_function_name(name, fn):
    assert losses.get(name) is fn


def test_get_classes_instances_callables_dicts():
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    inst = losses.Huber(delta=3.0)
    assert losses.get(inst) is inst
    f = lambda a, b: a  # noqa: E731
    assert losses.get(f) is f
    got = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(got, losses.CategoricalCrossentropy) and got.from_logits
    assert losses.get(None) is None


def test_get_unknown_lists_valid_names():
    with pytest.raises(ValueError, match="Valid names:.*categorical_crossentropy.*mse") as e:
        losses.get("mean_sqared_error")
    assert "mean_sqared_error" in str(e.value)


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(reduction="sum"), losses.Huber(delta=0.5, name="h"),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, axis=-1),
    losses.CategoricalCrossentropy(label_smoothing=0.2), losses.SparseCategoricalCrossentropy(ignore_class=3),
    losses.CosineSimilarity(axis=0), losses.KLDivergence(), losses.Poisson(reduction="none"),
    losses.LossFunctionWrapper(losses.mean_absolute_error, name="wrapped"),
])
def test_config_round_trip(loss):
    config = loss.get_config()
    again = type(loss).from_config(config)
    assert again.get_config() == config
    back = losses.deserialize(losses.serialize(loss))
    assert type(back) is type(loss) and back.get_config() == config
    import json
    json.dumps(losses.serialize(loss))


def test_keras_configs():
    assert losses.MeanSquaredError().get_config() == {"name": "mean_squared_error",
                                                      "reduction": "sum_over_batch_size"}
    assert losses.Huber().get_config() == {"name": "huber_loss", "reduction": "sum_over_batch_size", "delta": 1.0}
    assert losses.SparseCategoricalCrossentropy().get_config() == {
        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": False,
        "ignore_class": None, "axis": -1}
    assert losses.CategoricalCrossentropy().name == "categorical_crossentropy"
    assert losses.Loss().name == "loss" and losses.MeanSquaredError().dtype == "float32"


def test_serialize_function():
    s = losses.serialize(losses.mse)
    assert s["config"] == "mean_squared_error"
    assert losses.deserialize(s) is losses.mean_squared_error
    assert losses.deserialize("mse") is losses.mean_squared_error


def test_subclass_loss_and_dtype():
    class Cubed(losses.Loss):
        def call(self, y_true, y_pred):
            return kusari.ops.mean((y_pred - y_true) ** 3, axis=-1)

    out = Cubed(dtype="float64")(np.zeros((2, 1)), np.ones((2, 1)))
    assert out.dtype == "float64" and out.item() == 1.0
    with pytest.raises(NotImplementedError):
        losses.Loss()(kt([1.0]), kt([1.0]))
