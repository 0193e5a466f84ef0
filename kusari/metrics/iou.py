"""Intersection-over-union metrics: ``IoU`` (chosen classes) and ``MeanIoU`` (all classes), from an accumulated
confusion matrix."""
from kusari import config, ops
from kusari.metrics.metric import Metric, assign_add

__all__ = ["IoU", "MeanIoU", "confusion_matrix"]


def confusion_matrix(labels, predictions, num_classes, weights=None, dtype="float32"):
    """``(num_classes, num_classes)`` matrix: rows are true labels, columns predictions, entries summed weights.

    >>> import kusari
    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    labels = ops.cast(ops.reshape(ops.convert_to_tensor(labels), (-1,)), "int32")
    predictions = ops.cast(ops.reshape(ops.convert_to_tensor(predictions), (-1,)), "int32")
    if labels.shape != predictions.shape:
        raise ValueError(f"confusion_matrix: labels ({labels.shape[0]} values) and predictions "
                         f"({predictions.shape[0]} values) differ in size")
    values = ops.ones(labels.shape, dtype=dtype) if weights is None else ops.cast(weights, dtype)
    index = ops.stack([labels, predictions], axis=1)
    return ops.scatter(index, values, (int(num_classes), int(num_classes)))


class _IoUBase(Metric):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(self.num_classes, self.num_classes), initializer="zeros",
                                          dtype=self.dtype, name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        y_true = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        y_pred = ops.cast(ops.reshape(y_pred, (-1,)), "int32")
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__}: y_true and y_pred hold {y_true.shape[0]} and "
                             f"{y_pred.shape[0]} labels; they must hold the same number")
        if sample_weight is None:
            sample_weight = ops.ones(y_true.shape, dtype=self.dtype)
        else:
            sample_weight = ops.cast(ops.convert_to_tensor(sample_weight), self.dtype)
            if sample_weight.ndim > 1:
                sample_weight = ops.reshape(sample_weight, (-1,))
            sample_weight = ops.broadcast_to(sample_weight, y_true.shape)
        n = self.num_classes
        in_bounds = ops.logical_and(ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, n)),
                                    ops.logical_and(ops.greater_equal(y_pred, 0), ops.less(y_pred, n)))
        if self.ignore_class is not None:
            in_bounds = ops.logical_and(in_bounds, ops.not_equal(y_true, int(self.ignore_class)))
        y_true = ops.where(in_bounds, y_true, 0)
        y_pred = ops.where(in_bounds, y_pred, 0)
        sample_weight = ops.where(in_bounds, sample_weight, 0.0)
        assign_add(self.total_cm, confusion_matrix(y_true, y_pred, n, weights=sample_weight, dtype=self.dtype))

    def reset_state(self):
        self.total_cm.assign(ops.zeros(self.total_cm.shape, dtype=self.total_cm.dtype))


class IoU(_IoUBase):
    """Mean of ``TP / (TP + FP + FN)`` over ``target_class_ids``; classes never seen are left out of the mean.

    >>> import kusari
    >>> m = kusari.metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> m([0, 0, 1, 1], [0, 1, 0, 1]).item()
    0.3333333134651184
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        cm = ops.cast(self.total_cm, "float32")
        tp = ops.diagonal(cm)
        denominator = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - tp
        ids = ops.convert_to_tensor(self.target_class_ids, "int32")
        tp = ops.take(tp, ids, axis=0)
        denominator = ops.take(denominator, ids, axis=0)
        valid = ops.greater(denominator, 1e-9)
        iou = ops.where(valid, tp / (denominator + config.epsilon()), 0.0)
        return ops.sum(iou) / (ops.sum(ops.cast(valid, "float32")) + config.epsilon())

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class MeanIoU(IoU):
    """Mean intersection-over-union over all ``num_classes`` classes (those that occur).

    >>> import kusari
    >>> m = kusari.metrics.MeanIoU(num_classes=2)
    >>> round(m([0, 0, 1, 1], [0, 1, 0, 1]).item(), 4)
    0.3333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)), name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
