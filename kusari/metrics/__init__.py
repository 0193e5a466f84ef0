"""Metrics with Keras 3's names: stateful ``Metric`` objects (``update_state`` / ``result`` / ``reset_state``) and
the per-sample functions behind them.

>>> import kusari
>>> m = kusari.metrics.get("accuracy")
>>> m.update_state([[1], [2]], [[1], [0]]); m.result().item()
0.5
>>> type(kusari.metrics.resolve_accuracy("sparse_categorical_crossentropy", (32,), (32, 10))).__name__
'SparseCategoricalAccuracy'
"""
import inspect

from kusari.metrics.metric import Metric
from kusari.metrics.reduction import Mean, MeanMetricWrapper, Sum
from kusari.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                     SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy,
                                     binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                     sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from kusari.metrics.confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives,
                                      TruePositives)
from kusari.metrics.iou import IoU, MeanIoU
from kusari.metrics.loss_metrics import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                                         CosineSimilarity, Hinge, KLDivergence, LogCoshError,
                                         MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
                                         MeanSquaredLogarithmicError, Poisson, RootMeanSquaredError,
                                         SparseCategoricalCrossentropy, SquaredHinge)
from kusari.metrics.metric import _snake
from kusari.losses import _lookup
from kusari.losses import (binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge, huber,
                           kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                           mean_squared_error, mean_squared_logarithmic_error, poisson,
                           sparse_categorical_crossentropy, squared_hinge)

_CLASSES = [Metric, Mean, Sum, MeanMetricWrapper, MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, AUC,
            FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives, Hinge, SquaredHinge,
            CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, IoU, MeanIoU]

ALL_OBJECTS_DICT = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS_DICT.update({_snake(c.__name__): c for c in _CLASSES})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy, "kld": KLDivergence, "KLD": KLDivergence, "rmse": RootMeanSquaredError,
    "logcosh": LogCoshError, "log_cosh": LogCoshError,
})
_NOT_BY_NAME = {"Metric", "metric", "MeanMetricWrapper", "mean_metric_wrapper", "IoU", "io_u", "MeanIoU",
                "mean_io_u"}
for _k in ("io_u", "mean_io_u"):
    ALL_OBJECTS_DICT.pop(_k, None)
ALL_OBJECTS_DICT["iou"] = IoU
ALL_OBJECTS_DICT["mean_iou"] = MeanIoU


def _unknown(identifier):
    names = sorted(k for k in ALL_OBJECTS_DICT if k not in _NOT_BY_NAME)
    return ValueError(f"Could not interpret metric identifier: {identifier!r}. Valid names: {', '.join(names)}")


def serialize(metric):
    """A JSON-able dict for a ``Metric`` (class name + config) or a built-in metric function."""
    if isinstance(metric, Metric):
        return {"module": "kusari.metrics", "class_name": type(metric).__name__, "config": metric.get_config(),
                "registered_name": None}
    if inspect.isfunction(metric):
        return {"module": "kusari.metrics", "class_name": "function", "config": metric.__name__,
                "registered_name": "function"}
    raise TypeError(f"serialize: cannot serialize {metric!r}; expected a Metric instance or a metric function")


def deserialize(config, custom_objects=None):
    """The ``Metric`` (or function) that ``config`` from ``serialize`` describes."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(custom_objects.get(config, config))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a metric name or a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    if config["class_name"] == "function":
        name = config.get("config")
        fn = custom_objects.get(name) or globals().get(name)
        if not inspect.isfunction(fn):
            raise _unknown(name)
        return fn
    cls = custom_objects.get(config["class_name"]) or ALL_OBJECTS_DICT.get(config["class_name"])
    if cls is None or not (inspect.isclass(cls) and issubclass(cls, Metric)):
        raise _unknown(config["class_name"])
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """A metric from a Keras name (``"accuracy"``, ``"mse"``, ``"auc"``, ``"precision"``, ``"BinaryAccuracy"``…), a
    config dict, a ``Metric`` instance or a function. Names give a new instance; unknown names raise a
    ``ValueError`` listing the valid ones. (``"accuracy"`` gives plain ``Accuracy``; what ``compile`` does with it is
    ``resolve_accuracy``.)

    >>> import kusari
    >>> type(kusari.metrics.get("mse")).__name__
    'MeanSquaredError'
    """
    return _lookup(identifier, ALL_OBJECTS_DICT, deserialize, _unknown, not_by_name=_NOT_BY_NAME)


_BINARY_LOSSES = {"binary_crossentropy", "bce", "binary_focal_crossentropy"}


def _loss_name(loss):
    if loss is None:
        return None
    if isinstance(loss, str):
        return _snake(loss) if loss[:1].isupper() else loss.lower()
    if inspect.isfunction(loss):
        return loss.__name__
    return _snake(type(loss).__name__)


def is_binary_or_sparse_categorical(y_true_shape, y_pred_shape):
    """Keras 3's test: ``(is_binary, is_sparse_categorical)`` from the label and prediction shapes."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    t_last = y_true_shape[-1] if y_true_shape else None
    p_last = y_pred_shape[-1] if y_pred_shape else None
    is_binary = p_last == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (t_last == 1 and p_last is not None and p_last > 1)
    return is_binary, is_sparse


def resolve_accuracy(loss, y_true_shape, y_pred_shape, name="accuracy"):
    """The metric ``compile(metrics=["accuracy"])`` means, as Keras 3's ``CompileMetrics`` decides it.

    Keras 3 looks only at the shapes: ``y_pred`` ending in 1 -> ``BinaryAccuracy``; ``y_true`` of lower rank, or
    ending in 1 while ``y_pred`` has several classes -> ``SparseCategoricalAccuracy``; otherwise
    ``CategoricalAccuracy``. kusari also reads ``loss`` in the two cases where the shapes alone mislead (Keras 2
    did the same): a binary cross-entropy on equal shapes (multi-label outputs, or rank-1 ``y_pred``) gives
    ``BinaryAccuracy``, and a rank-1 ``y_pred`` (one score per sample) always does, since arg-maxing across the
    batch means nothing. The metric is named ``name``.

    >>> import kusari
    >>> type(resolve_accuracy("categorical_crossentropy", (8, 3), (8, 3))).__name__
    'CategoricalAccuracy'
    >>> type(resolve_accuracy("binary_crossentropy", (8, 1), (8, 1))).__name__
    'BinaryAccuracy'
    """
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
    loss_name = _loss_name(loss)
    if is_binary or len(y_pred_shape) <= 1:
        return BinaryAccuracy(name=name)
    if is_sparse:
        return SparseCategoricalAccuracy(name=name)
    if loss_name in _BINARY_LOSSES and y_true_shape == y_pred_shape:
        return BinaryAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def get_metric(identifier, y_true_shape, y_pred_shape, loss=None):
    """Keras' ``compile_utils.get_metric``: ``"accuracy"``/``"acc"`` resolved from the shapes (and loss), any other
    identifier through ``get``; plain functions are wrapped in ``MeanMetricWrapper``; a string names the metric."""
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if str(identifier).lower() in ("accuracy", "acc"):
        metric = resolve_accuracy(loss, y_true_shape, y_pred_shape, name=str(identifier))
    else:
        metric = get(identifier)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


__all__ = sorted({*ALL_OBJECTS_DICT, "get", "serialize", "deserialize", "resolve_accuracy", "get_metric",
                  "is_binary_or_sparse_categorical", "accuracy", "binary_accuracy", "categorical_accuracy",
                  "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
                  "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge",
                  "squared_hinge", "categorical_hinge", "huber", "kl_divergence", "log_cosh",
                  "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
                  "mean_squared_logarithmic_error", "poisson"} & set(globals()))
