"""Accuracy metrics (Keras 3 names): per-sample match functions and their ``MeanMetricWrapper`` classes."""
from kusari import config, dtypes, ops
from kusari.losses import squeeze_or_expand_to_same_rank
from kusari.metrics.reduction import MeanMetricWrapper

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy"]


def _floatx(x):
    return ops.cast(x, config.floatx())


def _pred(y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    return y_pred if dtypes.is_float(y_pred.dtype) else _floatx(y_pred)


def _check(y_true, y_pred, fn):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{fn}: y_true and y_pred must have the same shape (up to a trailing axis of length 1), "
                         f"got y_true shape {y_true.shape} and y_pred shape {y_pred.shape}")


def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` elementwise, else 0.0."""
    y_pred = _pred(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    t, p = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check(t, p, "accuracy")
    return _floatx(ops.equal(t, p))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``(y_pred > threshold) == y_true`` elementwise."""
    y_pred = _pred(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    t, p = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check(t, p, "binary_accuracy")
    p = ops.cast(ops.greater(p, threshold), t.dtype)
    return _floatx(ops.equal(t, p))


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` (one-hot targets), one value per sample."""
    y_pred = _pred(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical_accuracy: y_true (one-hot) and y_pred must have the same shape, got y_true "
                         f"shape {y_true.shape} and y_pred shape {y_pred.shape}; for integer labels use "
                         "sparse_categorical_accuracy")
    return _floatx(ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1)))


def _sparse_labels(y_true, y_pred, fn):
    y_true = ops.convert_to_tensor(y_true)
    org_shape = y_true.shape
    if y_true.ndim == y_pred.ndim and y_true.ndim and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"{fn}: y_true shape {org_shape} does not fit y_pred shape {y_pred.shape}; expected one "
                         f"integer label per sample, shape {y_pred.shape[:-1]} (or with a trailing 1)")
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals ``argmax(y_pred)``, one value per sample.

    >>> import kusari
    >>> kusari.metrics.sparse_categorical_accuracy([1, 0], [[0.1, 0.9], [0.2, 0.8]]).tolist()
    [1.0, 0.0]
    """
    y_pred = _pred(y_pred)
    y_true = _sparse_labels(y_true, y_pred, "sparse_categorical_accuracy")
    pred = ops.cast(ops.argmax(y_pred, axis=-1), y_pred.dtype)
    return _floatx(ops.equal(ops.cast(y_true, y_pred.dtype), pred))


def _in_top_k(labels, y_pred, k):
    """Whether each label's score is among the ``k`` largest of its row; ties with the k-th score count as in (the
    rule of TensorFlow's ``in_top_k``)."""
    n = y_pred.shape[-1]
    labels = ops.cast(labels, "int32")
    valid = ops.logical_and(ops.greater_equal(labels, 0), ops.less(labels, n))
    safe = ops.where(valid, labels, 0)
    target = ops.take_along_axis(y_pred, ops.expand_dims(safe, -1), axis=-1)
    higher = ops.sum(_floatx(ops.greater(y_pred, target)), axis=-1)
    return ops.logical_and(valid, ops.less(higher, float(k)))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the ``k`` highest scores."""
    y_pred = _pred(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"top_k_categorical_accuracy: y_true (one-hot) and y_pred must have the same shape, got "
                         f"y_true shape {y_true.shape} and y_pred shape {y_pred.shape}")
    return _floatx(_in_top_k(ops.argmax(y_true, axis=-1), y_pred, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest scores (or, with ``from_sorted_ids``, among the first
    ``k`` ids of ``y_pred``)."""
    y_pred = ops.convert_to_tensor(y_pred)
    if from_sorted_ids:
        y_true = ops.convert_to_tensor(y_true)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, -1)
        ids = y_pred[..., :k]
        return _floatx(ops.any(ops.equal(ops.expand_dims(ops.cast(y_true, ids.dtype), -1), ids), axis=-1))
    y_pred = _pred(y_pred)
    y_true = _sparse_labels(y_true, y_pred, "sparse_top_k_categorical_accuracy")
    return _floatx(_in_top_k(y_true, y_pred, k))


class Accuracy(MeanMetricWrapper):
    """How often ``y_pred`` equals ``y_true`` exactly.

    >>> import kusari
    >>> kusari.metrics.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]).item()
    0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label.

    >>> import kusari
    >>> kusari.metrics.BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1.0], [0.0], [0.6]]).item()
    0.75
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the one-hot target.

    >>> import kusari
    >>> kusari.metrics.CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]).item()
    0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the integer label.

    >>> import kusari
    >>> kusari.metrics.SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]).item()
    0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the ``k`` highest scores.

    >>> import kusari
    >>> m = kusari.metrics.TopKCategoricalAccuracy(k=1)
    >>> m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]).item()
    0.5
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores.

    >>> import kusari
    >>> m = kusari.metrics.SparseTopKCategoricalAccuracy(k=1)
    >>> m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]).item()
    0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
