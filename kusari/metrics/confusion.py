"""Confusion-matrix metrics (Keras 3 names): ``TruePositives`` … ``FalseNegatives``, ``Precision``, ``Recall``, ``AUC``.

Counts are accumulated per threshold: a prediction is positive at threshold ``t`` when ``y_pred > t``.
"""
from kusari import config, ops
from kusari.losses import squeeze_or_expand_to_same_rank
from kusari.metrics.metric import Metric, assign_add, divide_no_nan

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall", "AUC"]

NEG_INF = -1e10
TP, FP, TN, FN = "true_positives", "false_positives", "true_negatives", "false_negatives"


def _to_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def parse_init_thresholds(thresholds, default_threshold=0.5):
    if thresholds is not None:
        bad = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in _to_list(default_threshold if thresholds is None else thresholds)]


def is_evenly_distributed_thresholds(thresholds):
    n = len(thresholds)
    if n < 3:
        return False
    return all(abs(t - i / (n - 1)) <= config.epsilon() + 1e-8 * abs(t) for i, t in enumerate(thresholds))


def _filter_top_k(x, k):
    """Keep the ``k`` largest values of the last axis (ties: lower index first, as ``top_k``), others -> NEG_INF."""
    n = x.shape[-1]
    xi = ops.expand_dims(x, -1)          # (..., n, 1): element i
    xj = ops.expand_dims(x, -2)          # (..., 1, n): element j
    idx = ops.arange(n, dtype="int32")
    before = ops.less(ops.expand_dims(idx, 0), ops.expand_dims(idx, 1))     # [i, j] = j < i
    ahead = ops.logical_or(ops.greater(xj, xi), ops.logical_and(ops.equal(xj, xi), before))
    rank = ops.sum(ops.cast(ahead, "int32"), axis=-1)
    keep = ops.less(rank, k)
    return ops.where(keep, x, NEG_INF)


def update_confusion_matrix_variables(variables_to_update, y_true, y_pred, thresholds, top_k=None, class_id=None,
                                      sample_weight=None, multi_label=False, label_weights=None,
                                      thresholds_distributed_evenly=False):
    """Add the weighted TP/FP/TN/FN counts at each threshold to the variables in ``variables_to_update`` (keys
    ``"true_positives"``, ``"false_positives"``, ``"true_negatives"``, ``"false_negatives"``)."""
    bad = [k for k in variables_to_update if k not in (TP, FP, TN, FN)]
    if bad or not variables_to_update:
        raise ValueError(f"Invalid confusion-matrix keys {bad}; valid keys: {[TP, FP, TN, FN]}")
    dtype = next(iter(variables_to_update.values())).dtype
    y_true = ops.cast(ops.convert_to_tensor(y_true), dtype)
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got y_true shape {tuple(y_true.shape)} "
                         f"and y_pred shape {tuple(y_pred.shape)}")
    if sample_weight is not None:
        sample_weight = ops.expand_dims(ops.cast(ops.convert_to_tensor(sample_weight), dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true = ops.expand_dims(y_true[..., class_id], -1)
        y_pred = ops.expand_dims(y_pred[..., class_id], -1)
        if sample_weight is not None and sample_weight.ndim == y_true.ndim and sample_weight.shape[-1] != 1:
            sample_weight = ops.expand_dims(sample_weight[..., class_id], -1)

    weights = None
    if sample_weight is not None:
        try:
            weights = ops.broadcast_to(sample_weight, y_pred.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {tuple(sample_weight.shape)} does not fit y_pred of shape "
                             f"{tuple(y_pred.shape)}") from None
    if label_weights is not None and not multi_label:
        lw = ops.broadcast_to(ops.cast(ops.convert_to_tensor(label_weights), dtype), y_pred.shape)
        weights = lw if weights is None else weights * lw

    labels = ops.not_equal(y_true, 0.0)   # cast to bool, as Keras
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(f"y_pred must have rank 2 when multi_label=True, got shape {y_pred.shape}")
        preds, labels_f = y_pred, ops.cast(labels, dtype)     # (N, L)
        w = weights if weights is not None else ops.ones_like(preds)
    else:
        preds = ops.reshape(y_pred, (-1,))
        labels_f = ops.reshape(ops.cast(labels, dtype), (-1,))
        w = ops.reshape(weights, (-1,)) if weights is not None else ops.ones_like(preds)
    pos_w = labels_f * w
    neg_w = (1.0 - labels_f) * w
    n_thr = len(thresholds)

    if thresholds_distributed_evenly and not multi_label:
        # bucket each prediction by the last threshold it exceeds, then a reversed cumulative sum gives the counts
        # at every threshold: O(N + T) memory instead of O(N * T)
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        bucket = ops.ceil(preds * float(n_thr - 1)) - 1.0
        if with_epsilon:
            bucket = ops.maximum(bucket, 0.0)
        valid = ops.cast(ops.greater_equal(bucket, 0.0), dtype)
        idx = ops.expand_dims(ops.cast(ops.clip(bucket, 0.0, float(n_thr - 1)), "int32"), -1)

        def counts(weight):
            per_bucket = ops.scatter(idx, weight * valid, (n_thr,))
            return ops.flip(ops.cumsum(ops.flip(per_bucket, 0), axis=0), 0)

        tp, fp = counts(pos_w), counts(neg_w)
        total_pos, total_neg = ops.sum(pos_w), ops.sum(neg_w)
    else:
        thr = ops.convert_to_tensor([float(t) for t in thresholds], dtype)
        thr = ops.reshape(thr, (n_thr,) + (1,) * preds.ndim)
        pred_pos = ops.cast(ops.greater(ops.expand_dims(preds, 0), thr), dtype)      # (T, N[, L])
        tp = ops.sum(pred_pos * pos_w, axis=1)
        fp = ops.sum(pred_pos * neg_w, axis=1)
        total_pos, total_neg = ops.sum(pos_w, axis=0), ops.sum(neg_w, axis=0)

    if TP in variables_to_update:
        assign_add(variables_to_update[TP], tp)
    if FP in variables_to_update:
        assign_add(variables_to_update[FP], fp)
    if TN in variables_to_update:
        assign_add(variables_to_update[TN], total_neg - fp)
    if FN in variables_to_update:
        assign_add(variables_to_update[FN], total_pos - tp)


class _ConfusionMatrixConditionCount(Metric):
    _cond = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), initializer="zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables({self._cond: self.accumulator}, y_true, y_pred, self.thresholds,
                                          thresholds_distributed_evenly=self._thresholds_distributed_evenly,
                                          sample_weight=sample_weight)

    def result(self):
        return ops.copy(self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of positives predicted positive (``y_pred > threshold``).

    >>> import kusari
    >>> kusari.metrics.TruePositives()([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0]).item()
    2.0
    """
    _cond = TP


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of negatives predicted positive.

    >>> import kusari
    >>> kusari.metrics.FalsePositives()([0, 1, 0, 0], [0.0, 0.0, 1.0, 1.0]).item()
    2.0
    """
    _cond = FP


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of negatives predicted negative.

    >>> import kusari
    >>> kusari.metrics.TrueNegatives()([0, 1, 0, 0], [1.0, 1.0, 0.0, 0.0]).item()
    2.0
    """
    _cond = TN


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of positives predicted negative.

    >>> import kusari
    >>> kusari.metrics.FalseNegatives()([0, 1, 1, 1], [0.0, 1.0, 0.0, 0.0]).item()
    2.0
    """
    _cond = FN


class _PrecisionRecall(Metric):
    _other = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=default)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name=TP)
        setattr(self, self._other, self.add_variable(shape=(n,), initializer="zeros", name=self._other))

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables(
            {TP: self.true_positives, self._other: getattr(self, self._other)}, y_true, y_pred, self.thresholds,
            top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def result(self):
        r = divide_no_nan(self.true_positives, self.true_positives + getattr(self, self._other))
        return r[0] if len(self.thresholds) == 1 else r

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``TP / (TP + FP)`` at each threshold (default 0.5), optionally over the ``top_k`` scores or one ``class_id``.

    >>> import kusari
    >>> kusari.metrics.Precision()([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0]).item()
    0.6666666865348816
    """
    _other = FP


class Recall(_PrecisionRecall):
    """``TP / (TP + FN)`` at each threshold (default 0.5), optionally over the ``top_k`` scores or one ``class_id``.

    >>> import kusari
    >>> kusari.metrics.Recall()([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0]).item()
    0.6666666865348816
    """
    _other = FN


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from TP/FP/TN/FN counted at ``num_thresholds`` thresholds
    (a Riemann sum; ``"interpolation"`` uses the trapezoid rule, and the Davis & Goadrich interpolation for PR).

    >>> import kusari
    >>> kusari.metrics.AUC(num_thresholds=3)([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]).item()
    0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        key = str(curve).lower()
        if key not in _CURVES:
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: ROC, PR, PRGAIN')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}". Expected one of: '
                             f"{', '.join(_SUMMATIONS)}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(parse_init_thresholds(thresholds))
            self.num_thresholds = len(thresholds) + 2
            self._thresholds_distributed_evenly = is_evenly_distributed_thresholds([0.0] + thresholds + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = config.epsilon()
        self._thresholds = [0.0 - eps] + thresholds + [1.0 + eps]
        self.curve = _CURVES[key]
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else ops.convert_to_tensor(label_weights, self.dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {shape}")
            self._num_labels = shape[1]
            vshape = (self.num_thresholds, self._num_labels)
        else:
            vshape = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape=vshape, initializer="zeros", name=TP)
        self.false_positives = self.add_variable(shape=vshape, initializer="zeros", name=FP)
        self.true_negatives = self.add_variable(shape=vshape, initializer="zeros", name=TN)
        self.false_negatives = self.add_variable(shape=vshape, initializer="zeros", name=FN)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = ops.sigmoid(ops.cast(y_pred, self.dtype))
        update_confusion_matrix_variables(
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives, FN: self.false_negatives},
            y_true, y_pred, self._thresholds, sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def _by_label(self, terms):
        if not self.multi_label:
            return ops.sum(terms)
        by_label = ops.sum(terms, axis=0)
        if self.label_weights is None:
            return ops.mean(by_label)
        return divide_no_nan(ops.sum(by_label * self.label_weights), ops.sum(self.label_weights))

    def interpolate_pr_auc(self):
        """PR-AUC with precision interpolated between thresholds (Davis & Goadrich 2006)."""
        n = self.num_thresholds
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = divide_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = ops.logical_and(ops.greater(p[:n - 1], 0.0), ops.greater(p[1:], 0.0))
        ratio = ops.where(both, divide_no_nan(p[:n - 1], ops.maximum(p[1:], 0.0)), 1.0)
        inc = divide_no_nan(slope * (dtp + intercept * ops.log(ratio)), ops.maximum(tp[1:] + fn[1:], 0.0))
        return self._by_label(inc)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            zero_tp = ops.equal(tp, 0.0)
            x = ops.maximum(ops.where(zero_tp, 0.0, recall_gain), 0.0)
            y = ops.where(zero_tp, 1.0, precision_gain)
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[:n - 1], y[1:])
        else:
            heights = ops.maximum(y[:n - 1], y[1:])
        return self._by_label((x[:n - 1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            for v in (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives):
                v.assign(ops.zeros(v.shape, dtype=v.dtype))

    def get_config(self):
        lw = self.label_weights
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": None if lw is None else lw.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
