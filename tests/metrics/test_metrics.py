"""kusari.metrics against NumPy references over several update_state calls with sample weights; reset_state, state
variables, lookup by name, and resolve_accuracy."""
import numpy as np
import pytest

import kusari
from kusari import metrics


def rng(seed=0):
    return np.random.default_rng(seed)


def val(m):
    return float(m.result().item())


def close(a, b, rtol=1e-5, atol=1e-6):
    a = a.numpy() if isinstance(a, kusari.Tensor) else a
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol)


def batches(make, n=3, seed=0):
    r = rng(seed)
    return [make(r) for _ in range(n)]


# -- base behaviour ------------------------------------------------------------------------------------------------------

def test_variables_are_non_trainable_parameters_and_reset():
    m = metrics.Mean(name="loss")
    assert [v.path for v in m.variables] == ["loss/total", "loss/count"]
    assert all(isinstance(v, kusari.Parameter) and not v.trainable for v in m.variables)
    m.update_state([1.0, 2.0, 3.0])
    assert [v.item() for v in m.variables] == [6.0, 3.0]
    m.reset_state()
    assert [v.item() for v in m.variables] == [0.0, 0.0]
    assert val(m) == 0.0


def test_update_runs_without_grad():
    x = kusari.tensor([[0.2, 0.8], [0.6, 0.4]], requires_grad=True)
    m = metrics.CategoricalAccuracy()
    out = m([[0.0, 1.0], [0.0, 1.0]], x * 1.0)
    assert not out.requires_grad and not any(v.requires_grad for v in m.variables)
    m2 = metrics.MeanSquaredError()
    with kusari.enable_grad():
        r = m2(kusari.tensor([[1.0]]), x[:1, :1] * 2.0)
    assert not r.requires_grad


def test_call_is_update_then_result_and_nested_variables():
    class Two(metrics.Metric):
        def __init__(self):
            super().__init__(name="two")
            self.a = metrics.Sum(name="a")
            self.b = metrics.Mean(name="b")

        def update_state(self, x):
            self.a.update_state(x)
            self.b.update_state(x)

        def result(self):
            return self.a.result() + self.b.result()

    m = Two()
    assert [v.path for v in m.variables] == ["a/total", "b/total", "b/count"]
    assert m([1.0, 3.0]).item() == 6.0
    m.reset_state()
    assert m.result().item() == 0.0


def test_super_init_required():
    class Bad(metrics.Metric):
        def __init__(self):
            self.v = self.add_variable((), "zeros", name="v")

    with pytest.raises(RuntimeError, match="super"):
        Bad()


def test_add_variable_initializers_and_dtype():
    m = metrics.Metric(name="m")
    a = m.add_variable((2,), initializer="ones", name="a")
    b = m.add_variable((), initializer=3.0, dtype="float64", name="b")
    assert a.tolist() == [1.0, 1.0] and b.dtype == "float64" and b.item() == 3.0
    assert m.get_config() == {"name": "m", "dtype": "float32"}


# -- Mean / Sum / wrappers ----------------------------------------------------------------------------------------------

def test_mean_and_sum_with_weights_over_batches():
    data = batches(lambda r: (r.normal(size=5), r.random(5)))
    mean, total, wmean = metrics.Mean(), metrics.Sum(), metrics.Mean()
    for v, w in data:
        mean.update_state(v)
        total.update_state(v, sample_weight=w)
        wmean.update_state(v, sample_weight=w)
    vs = np.concatenate([v for v, _ in data])
    ws = np.concatenate([w for _, w in data])
    close(val(mean), vs.mean())
    close(val(total), (vs * ws).sum())
    close(val(wmean), (vs * ws).sum() / ws.sum())


def test_mean_of_matrix_values_with_row_weights():
    m = metrics.Mean()
    v = np.arange(6.0).reshape(3, 2)
    m.update_state(v, sample_weight=[1.0, 0.0, 2.0])
    close(val(m), (v.mean(1) * [1, 0, 2]).sum() / 3.0)


def test_mean_metric_wrapper_and_regression_metrics():
    data = batches(lambda r: (r.normal(size=(4, 3)), r.normal(size=(4, 3)), r.random(4)))
    ms = {"mse": metrics.MeanSquaredError(), "mae": metrics.MeanAbsoluteError(),
          "rmse": metrics.RootMeanSquaredError(), "wrap": metrics.MeanMetricWrapper(kusari.losses.huber, delta=0.5)}
    for t, p, w in data:
        for m in ms.values():
            m.update_state(t, p, sample_weight=w)
    t = np.concatenate([d[0] for d in data])
    p = np.concatenate([d[1] for d in data])
    w = np.concatenate([d[2] for d in data])
    e = p - t
    close(val(ms["mse"]), ((e ** 2).mean(1) * w).sum() / w.sum())
    close(val(ms["mae"]), (np.abs(e).mean(1) * w).sum() / w.sum())
    close(val(ms["rmse"]), np.sqrt(((e ** 2).mean(1) * w).sum() / w.sum()))
    hub = np.where(np.abs(e) <= 0.5, 0.5 * e ** 2, 0.5 * np.abs(e) - 0.125).mean(1)
    close(val(ms["wrap"]), (hub * w).sum() / w.sum())
    ms["mse"].reset_state()
    assert val(ms["mse"]) == 0.0


def test_loss_like_metrics():
    r = rng()
    logits = r.normal(size=(6, 4))
    labels = r.integers(0, 4, size=6)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ref = -logp[np.arange(6), labels]
    m = metrics.SparseCategoricalCrossentropy(from_logits=True)
    m.update_state(labels[:3], logits[:3])
    m.update_state(labels[3:], logits[3:])
    close(val(m), ref.mean(), rtol=1e-5)
    m = metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    m.update_state(labels, logits)
    close(val(m), ref[labels != 0].mean(), rtol=1e-5)
    m = metrics.CategoricalCrossentropy(from_logits=True)
    m.update_state(np.eye(4)[labels], logits)
    close(val(m), ref.mean(), rtol=1e-5)
    y = r.integers(0, 2, size=(6, 1)).astype(float)
    x = r.normal(size=(6, 1))
    bce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    close(metrics.BinaryCrossentropy(from_logits=True)(y, x).item(), bce.mean(), rtol=1e-5)
    close(metrics.Hinge()(y, x).item(), np.maximum(1 - (2 * y - 1) * x, 0).mean(), rtol=1e-5)
    close(metrics.CosineSimilarity()([[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 3.0]]).item(),
          (np.sqrt(0.5) + 1) / 2, rtol=1e-5)


# -- accuracy -----------------------------------------------------------------------------------------------------------

def test_accuracy_family_over_batches_with_weights():
    def make(r):
        logits = r.normal(size=(8, 5))
        labels = r.integers(0, 5, size=8)
        labels[:3] = logits[:3].argmax(1)          # some hits
        return logits, labels, r.random(8)

    data = batches(make)
    cat, sparse, sparse_col = (metrics.CategoricalAccuracy(), metrics.SparseCategoricalAccuracy(),
                               metrics.SparseCategoricalAccuracy())
    top2, sparse_top2 = metrics.TopKCategoricalAccuracy(k=2), metrics.SparseTopKCategoricalAccuracy(k=2)
    for logits, labels, w in data:
        cat.update_state(np.eye(5)[labels], logits, sample_weight=w)
        sparse.update_state(labels, logits, sample_weight=w)
        sparse_col.update_state(labels[:, None].astype(np.float32), logits, sample_weight=w[:, None])
        top2.update_state(np.eye(5)[labels], logits, sample_weight=w)
        sparse_top2.update_state(labels, logits, sample_weight=w)
    logits = np.concatenate([d[0] for d in data])
    labels = np.concatenate([d[1] for d in data])
    w = np.concatenate([d[2] for d in data])
    hit = (logits.argmax(1) == labels).astype(float)
    ref = (hit * w).sum() / w.sum()
    for m in (cat, sparse, sparse_col):
        close(val(m), ref)
    rank = (logits > logits[np.arange(len(labels)), labels][:, None]).sum(1)
    ref2 = ((rank < 2) * w).sum() / w.sum()
    close(val(top2), ref2)
    close(val(sparse_top2), ref2)


def test_top_k_ties_count_as_in():
    m = metrics.SparseTopKCategoricalAccuracy(k=1)
    assert m([0, 1], [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]).item() == 1.0


def test_binary_accuracy_and_accuracy():
    r = rng()
    m, m3 = metrics.BinaryAccuracy(), metrics.BinaryAccuracy(threshold=0.3)
    ys, ps, ws = [], [], []
    for _ in range(3):
        y, p, w = r.integers(0, 2, size=(6, 1)), r.random((6, 1)), r.random(6)
        m.update_state(y, p, sample_weight=w)
        m3.update_state(y[:, 0], p)
        ys.append(y[:, 0]), ps.append(p[:, 0]), ws.append(w)
    y, p, w = map(np.concatenate, (ys, ps, ws))
    close(val(m), (((p > 0.5) == y) * w).sum() / w.sum())
    close(val(m3), ((p > 0.3) == y).mean())
    # multi-label: elementwise matches averaged per sample
    ml = metrics.BinaryAccuracy()
    close(ml([[1, 0], [1, 1]], [[0.9, 0.1], [0.2, 0.7]]).item(), 0.75)
    acc = metrics.Accuracy()
    acc.update_state([1, 2, 3], [1, 2, 0], sample_weight=[1.0, 1.0, 2.0])
    close(val(acc), 0.5)


def test_accuracy_shape_errors():
    with pytest.raises(ValueError, match=r"\(4,\).*\(3, 5\)"):
        metrics.SparseCategoricalAccuracy().update_state([0, 1, 2, 3], np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 5\)"):
        metrics.CategoricalAccuracy().update_state([0, 1, 2], np.zeros((3, 5)))


# -- confusion metrics: counts, precision, recall ------------------------------------------------------------------------

def counts_ref(y, p, w, thresholds):
    y = y.astype(bool)
    out = []
    for t in thresholds:
        pos = p > t
        out.append([((pos & y) * w).sum(), ((pos & ~y) * w).sum(), ((~pos & ~y) * w).sum(), ((~pos & y) * w).sum()])
    return np.array(out)   # (T, 4): tp, fp, tn, fn


def _binary_batches(shape=(10,), n=3, seed=0):
    return batches(lambda r: (r.integers(0, 2, size=shape), r.random(shape), r.random(shape[:1])), n, seed)


@pytest.mark.parametrize("thresholds", [None, 0.3, [0.0, 0.25, 0.5, 0.75, 1.0], [0.1, 0.7, 0.2]])
def test_counts_precision_recall_vs_numpy(thresholds):
    data = _binary_batches()
    ms = [metrics.TruePositives(thresholds), metrics.FalsePositives(thresholds),
          metrics.TrueNegatives(thresholds), metrics.FalseNegatives(thresholds),
          metrics.Precision(thresholds), metrics.Recall(thresholds)]
    for y, p, w in data:
        for m in ms:
            m.update_state(y, p, sample_weight=w)
    y, p, w = (np.concatenate([d[i] for d in data]) for i in range(3))
    th = [0.5] if thresholds is None else (thresholds if isinstance(thresholds, list) else [thresholds])
    ref = counts_ref(y, p, w, th)
    squeeze = (lambda a: a[0]) if len(th) == 1 else (lambda a: a)
    for i in range(4):
        close(ms[i].result(), squeeze(ref[:, i]), rtol=1e-5)
    div = lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))  # noqa: E731
    close(ms[4].result(), squeeze(div(ref[:, 0], ref[:, 0] + ref[:, 1])), rtol=1e-5)
    close(ms[5].result(), squeeze(div(ref[:, 0], ref[:, 0] + ref[:, 3])), rtol=1e-5)
    for m in ms:
        m.reset_state()
        assert np.all(m.result().numpy() == 0)


def test_precision_recall_top_k_and_class_id():
    r = rng()
    y = r.integers(0, 2, size=(6, 5))
    p = r.random((6, 5))
    p[0, :2] = 0.9     # a tie at the top: top_k keeps the lower index first
    for k in (1, 2):
        order = np.argsort(-p, axis=1, kind="stable")[:, :k]
        keep = np.zeros_like(p, dtype=bool)
        np.put_along_axis(keep, order, True, axis=1)
        tp = (keep & (y == 1)).sum()
        fp = (keep & (y == 0)).sum()
        fn = (~keep & (y == 1)).sum()
        close(metrics.Precision(top_k=k)(y, p).item(), tp / (tp + fp))
        close(metrics.Recall(top_k=k)(y, p).item(), tp / (tp + fn))
    for c in (0, 3):
        pos = p[:, c] > 0.5
        tp, fp, fn = (pos & (y[:, c] == 1)).sum(), (pos & (y[:, c] == 0)).sum(), (~pos & (y[:, c] == 1)).sum()
        close(metrics.Precision(class_id=c)(y, p).item(), tp / max(tp + fp, 1))
        close(metrics.Recall(class_id=c)(y, p).item(), tp / max(tp + fn, 1))
    # top_k with class_id: class c counts as predicted only when it is among the top k
    keep = np.zeros_like(p, dtype=bool)
    np.put_along_axis(keep, np.argsort(-p, axis=1, kind="stable")[:, :2], True, axis=1)
    tp = (keep[:, 1] & (y[:, 1] == 1)).sum()
    fp = (keep[:, 1] & (y[:, 1] == 0)).sum()
    close(metrics.Precision(top_k=2, class_id=1)(y, p).item(), tp / max(tp + fp, 1))


def test_precision_errors_and_empty():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=1.5)
    assert metrics.Precision().result().item() == 0.0
    with pytest.raises(ValueError, match="same shape"):
        metrics.Recall().update_state([[1, 0, 1]], [[0.2, 0.3]])


# -- AUC -------------------------------------------------------------------------------------------------------------

def auc_ref(y, p, w, num_thresholds=200, curve="ROC", summation="interpolation"):
    eps = 1e-7
    th = [0 - eps] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + eps]
    c = counts_ref(y, p, w, th)
    tp, fp, tn, fn = c.T
    div = lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))  # noqa: E731
    if curve == "PR" and summation == "interpolation":
        dtp = tp[:-1] - tp[1:]
        pp = tp + fp
        dp = pp[:-1] - pp[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pp[1:]
        ratio = np.where((pp[:-1] > 0) & (pp[1:] > 0), div(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
        return div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)).sum()
    rec = div(tp, tp + fn)
    x, yv = (div(fp, fp + tn), rec) if curve == "ROC" else (rec, div(tp, tp + fp))
    h = {"interpolation": (yv[:-1] + yv[1:]) / 2, "minoring": np.minimum(yv[:-1], yv[1:]),
         "majoring": np.maximum(yv[:-1], yv[1:])}[summation]
    return ((x[:-1] - x[1:]) * h).sum()


def exact_roc_auc(y, p):
    pos, neg = p[y == 1], p[y == 0]
    return ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()


@pytest.mark.parametrize("curve,summation", [("ROC", "interpolation"), ("ROC", "minoring"), ("ROC", "majoring"),
                                             ("PR", "interpolation"), ("PR", "minoring"), ("PR", "majoring")])
def test_auc_vs_trapezoid_reference(curve, summation):
    data = _binary_batches(shape=(50,), n=3, seed=1)
    m = metrics.AUC(curve=curve, summation_method=summation)
    for y, p, w in data:
        m.update_state(y, p, sample_weight=w)
    y, p, w = (np.concatenate([d[i] for d in data]) for i in range(3))
    close(val(m), auc_ref(y, p, w, curve=curve, summation=summation), rtol=1e-4, atol=1e-5)
    m.reset_state()
    assert val(m) == 0.0


def test_auc_close_to_exact_roc_auc():
    r = rng(3)
    y = r.integers(0, 2, size=400)
    p = np.clip(r.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    m = metrics.AUC(num_thresholds=1000)
    m.update_state(y, p)
    close(val(m), exact_roc_auc(y, p), atol=5e-3)


def test_auc_separable_constant_and_inverted():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert val(metrics.AUC()) == 0.0
    m = metrics.AUC()
    m.update_state(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    close(val(m), 1.0)
    m = metrics.AUC()
    m.update_state(y, np.full(6, 0.4))
    close(val(m), 0.5)
    m = metrics.AUC()
    m.update_state(y, [0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    close(val(m), 0.0)
    m = metrics.AUC(curve="PR")
    m.update_state(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    close(val(m), 1.0)


def test_auc_explicit_thresholds_and_logits_and_multilabel():
    data = _binary_batches(shape=(30,), n=2, seed=2)
    even = metrics.AUC(num_thresholds=5)
    listed = metrics.AUC(thresholds=[0.25, 0.5, 0.75])      # evenly spaced: same thresholds, same result
    odd = metrics.AUC(thresholds=[0.1, 0.5, 0.6])
    logits = metrics.AUC(num_thresholds=5, from_logits=True)
    for y, p, w in data:
        even.update_state(y, p, sample_weight=w)
        listed.update_state(y, p, sample_weight=w)
        odd.update_state(y, p, sample_weight=w)
        logits.update_state(y, np.log(p / (1 - p)), sample_weight=w)
    y, p, w = (np.concatenate([d[i] for d in data]) for i in range(3))
    close(val(even), auc_ref(y, p, w, num_thresholds=5), rtol=1e-5)
    close(val(listed), val(even), rtol=1e-6)
    close(val(logits), val(even), rtol=1e-5)
    th = [-1e-7, 0.1, 0.5, 0.6, 1 + 1e-7]
    c = counts_ref(y, p, w, th)
    tpr, fpr = c[:, 0] / (c[:, 0] + c[:, 3]), c[:, 1] / (c[:, 1] + c[:, 2])
    close(val(odd), ((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2).sum(), rtol=1e-5)
    r = rng(4)
    y2, p2 = r.integers(0, 2, size=(40, 3)), r.random((40, 3))
    ml = metrics.AUC(multi_label=True, num_thresholds=50)
    ml.update_state(y2, p2)
    ref = np.mean([auc_ref(y2[:, j], p2[:, j], np.ones(40), num_thresholds=50) for j in range(3)])
    close(val(ml), ref, rtol=1e-5)
    flat = metrics.AUC(num_thresholds=50)
    flat.update_state(y2, p2)
    close(val(flat), auc_ref(y2.ravel(), p2.ravel(), np.ones(120), num_thresholds=50), rtol=1e-5)


def test_auc_errors_and_config():
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="summation_method"):
        metrics.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    config = metrics.AUC(curve="pr", thresholds=[0.3, 0.6]).get_config()
    assert config["curve"] == "PR" and config["thresholds"] == [0.3, 0.6] and config["num_thresholds"] == 4
    again = metrics.AUC.from_config(config)
    assert again.thresholds == metrics.AUC(curve="pr", thresholds=[0.3, 0.6]).thresholds


# -- IoU -------------------------------------------------------------------------------------------------------------

def test_mean_iou_vs_confusion_matrix():
    n = 4
    data = batches(lambda r: (r.integers(0, n, size=(3, 5)), r.integers(0, n, size=(3, 5)), r.random((3, 5))))
    m = metrics.MeanIoU(num_classes=n)
    cm = np.zeros((n, n))
    for t, p, w in data:
        m.update_state(t, p, sample_weight=w)
        np.add.at(cm, (t.ravel(), p.ravel()), w.ravel())
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    valid = denom > 0
    ref = (tp[valid] / denom[valid]).mean()
    close(val(m), ref, rtol=1e-5)
    close(m.total_cm, cm, rtol=1e-5)
    m.reset_state()
    assert m.total_cm.numpy().sum() == 0


def test_mean_iou_ignore_class_absent_class_and_dense_inputs():
    m = metrics.MeanIoU(num_classes=3, ignore_class=2)
    m.update_state([0, 1, 2, 2], [0, 0, 1, 2])
    # classes: 0 -> tp 1, row 1 col 2 -> iou 1/2; 1 -> tp 0, denom 1 -> 0; class 2 ignored (absent)
    close(val(m), (0.5 + 0.0) / 2, rtol=1e-5)
    dense = metrics.MeanIoU(num_classes=3, sparse_y_true=False, sparse_y_pred=False)
    dense.update_state(np.eye(3)[[0, 1, 1]], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    close(val(dense), (0.5 + 0.5) / 2, rtol=1e-5)
    assert metrics.IoU(num_classes=3, target_class_ids=[1])([1, 1], [1, 0]).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="out of range"):
        metrics.IoU(num_classes=2, target_class_ids=[2])


# -- lookup, config, resolve_accuracy --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", [
    ("accuracy", metrics.Accuracy), ("acc", metrics.Accuracy), ("binary_accuracy", metrics.BinaryAccuracy),
    ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy),
    ("mse", metrics.MeanSquaredError), ("mae", metrics.MeanAbsoluteError), ("auc", metrics.AUC),
    ("precision", metrics.Precision), ("recall", metrics.Recall), ("AUC", metrics.AUC),
    ("root_mean_squared_error", metrics.RootMeanSquaredError), ("BinaryAccuracy", metrics.BinaryAccuracy),
    ("binary_crossentropy", metrics.BinaryCrossentropy), ("mape", metrics.MeanAbsolutePercentageError),
])
def test_get_by_name(name, cls):
    assert type(metrics.get(name)) is cls


def test_get_other_identifiers_and_errors():
    inst = metrics.Precision()
    assert metrics.get(inst) is inst
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    got = metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.7}})
    assert isinstance(got, metrics.BinaryAccuracy) and got.threshold == 0.7
    with pytest.raises(ValueError, match="Valid names:.*accuracy.*auc.*mse") as e:
        metrics.get("acuracy")
    assert "acuracy" in str(e.value)


@pytest.mark.parametrize("m", [metrics.BinaryAccuracy(threshold=0.2, name="ba"), metrics.AUC(curve="PR"),
                               metrics.Precision(thresholds=[0.2, 0.4], top_k=2, class_id=1),
                               metrics.MeanIoU(num_classes=3), metrics.TopKCategoricalAccuracy(k=3),
                               metrics.SparseCategoricalCrossentropy(from_logits=True), metrics.Mean(name="x")])
def test_config_round_trip(m):
    config = m.get_config()
    again = metrics.deserialize(metrics.serialize(m))
    assert type(again) is type(m) and again.get_config() == config


def test_mean_metric_wrapper_config_round_trip():
    m = metrics.MeanMetricWrapper(kusari.losses.huber, name="h", delta=0.5)
    again = metrics.MeanMetricWrapper.from_config(m.get_config())
    assert again.get_config() == m.get_config()
    close(again([[0.0]], [[2.0]]).item(), 0.875)


@pytest.mark.parametrize("loss,t_shape,p_shape,expected", [
    ("binary_crossentropy", (32, 1), (32, 1), metrics.BinaryAccuracy),
    ("binary_crossentropy", (32,), (32, 1), metrics.BinaryAccuracy),
    ("mse", (32, 1), (32, 1), metrics.BinaryAccuracy),                      # Keras 3: last dim 1 -> binary
    ("binary_crossentropy", (32,), (32,), metrics.BinaryAccuracy),         # rank-1 predictions
    ("binary_crossentropy", (32, 5), (32, 5), metrics.BinaryAccuracy),     # multi-label
    ("sparse_categorical_crossentropy", (32,), (32, 10), metrics.SparseCategoricalAccuracy),
    ("sparse_categorical_crossentropy", (32, 1), (32, 10), metrics.SparseCategoricalAccuracy),
    (kusari.losses.SparseCategoricalCrossentropy(from_logits=True), (8, 4, 4), (8, 4, 4, 3),
     metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", (32, 10), (32, 10), metrics.CategoricalAccuracy),
    (kusari.losses.CategoricalCrossentropy(), (32, 10), (32, 10), metrics.CategoricalAccuracy),
    (None, (32, 10), (32, 10), metrics.CategoricalAccuracy),
    (kusari.losses.categorical_crossentropy, (32, 10), (32, 10), metrics.CategoricalAccuracy),
])
def test_resolve_accuracy(loss, t_shape, p_shape, expected):
    m = metrics.resolve_accuracy(loss, t_shape, p_shape)
    assert type(m) is expected and m.name == "accuracy"


def test_get_metric_like_compile():
    m = metrics.get_metric("acc", (4,), (4, 3))
    assert isinstance(m, metrics.SparseCategoricalAccuracy) and m.name == "acc"
    m = metrics.get_metric(kusari.losses.mean_absolute_error, (4, 1), (4, 1))
    assert isinstance(m, metrics.MeanMetricWrapper)
    assert metrics.get_metric("mse", (4, 1), (4, 1)).name == "mse"
