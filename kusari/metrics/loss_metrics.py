"""Metrics that report the mean of a loss function (regression, probabilistic, hinge), plus
``RootMeanSquaredError``. Keras 3 names and defaults."""
from kusari import losses, ops
from kusari.losses import squeeze_or_expand_to_same_rank
from kusari.metrics.reduction import Mean, MeanMetricWrapper

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "RootMeanSquaredError", "CosineSimilarity", "LogCoshError", "KLDivergence", "Poisson",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge",
           "SquaredHinge", "CategoricalHinge", "cosine_similarity"]


def cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine similarity along ``axis`` (the metric's sign: +1 for parallel vectors)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class _Simple(MeanMetricWrapper):
    _fn = None
    _default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(fn=type(self)._fn, name=name or self._default_name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_Simple):
    """Mean of ``mean(square(y_true - y_pred), axis=-1)`` over all samples.

    >>> import kusari
    >>> kusari.metrics.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).item()
    0.25
    """
    _fn = staticmethod(losses.mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_Simple):
    """Mean absolute error over all samples.

    >>> import kusari
    >>> kusari.metrics.MeanAbsoluteError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).item()
    0.25
    """
    _fn = staticmethod(losses.mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_Simple):
    """Mean absolute percentage error.

    >>> import kusari
    >>> kusari.metrics.MeanAbsolutePercentageError()([[2.0]], [[1.0]]).item()
    50.0
    """
    _fn = staticmethod(losses.mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Simple):
    """Mean squared logarithmic error.

    >>> import kusari
    >>> kusari.metrics.MeanSquaredLogarithmicError()([[1.0]], [[1.0]]).item()
    0.0
    """
    _fn = staticmethod(losses.mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCoshError(_Simple):
    """Mean of ``log(cosh(y_pred - y_true))``.

    >>> import kusari
    >>> kusari.metrics.LogCoshError()([[1.0]], [[1.0]]).item()
    0.0
    """
    _fn = staticmethod(losses.log_cosh)
    _default_name = "logcosh"


class KLDivergence(_Simple):
    """Mean Kullback-Leibler divergence.

    >>> import kusari
    >>> kusari.metrics.KLDivergence()([[0.5, 0.5]], [[0.5, 0.5]]).item()
    0.0
    """
    _fn = staticmethod(losses.kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_Simple):
    """Mean Poisson loss.

    >>> import kusari
    >>> round(kusari.metrics.Poisson()([[1.0]], [[1.0]]).item(), 5)
    1.0
    """
    _fn = staticmethod(losses.poisson)
    _default_name = "poisson"


class Hinge(_Simple):
    """Mean hinge loss.

    >>> import kusari
    >>> kusari.metrics.Hinge()([[1.0]], [[0.5]]).item()
    0.5
    """
    _fn = staticmethod(losses.hinge)
    _default_name = "hinge"


class SquaredHinge(_Simple):
    """Mean squared hinge loss.

    >>> import kusari
    >>> kusari.metrics.SquaredHinge()([[1.0]], [[0.5]]).item()
    0.25
    """
    _fn = staticmethod(losses.squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_Simple):
    """Mean categorical hinge loss.

    >>> import kusari
    >>> kusari.metrics.CategoricalHinge()([[0.0, 1.0]], [[0.2, 0.7]]).item()
    0.5
    """
    _fn = staticmethod(losses.categorical_hinge)
    _default_name = "categorical_hinge"


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of squared errors over all elements seen.

    >>> import kusari
    >>> kusari.metrics.RootMeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).item()
    0.5
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(ops.convert_to_tensor(y_true), self.dtype)
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"RootMeanSquaredError: y_true shape {y_true.shape} and y_pred shape {y_pred.shape} "
                             "differ")
        return super().update_state(ops.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return ops.sqrt(super().result())


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between ``y_true`` and ``y_pred`` along ``axis``.

    >>> import kusari
    >>> round(kusari.metrics.CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]]).item(), 5)
    1.0
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary cross-entropy.

    >>> import kusari
    >>> round(kusari.metrics.BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]]).item(), 4)
    0.6931
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy (one-hot targets).

    >>> import kusari
    >>> round(kusari.metrics.CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]).item(), 4)
    0.6931
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical cross-entropy (integer labels); ``ignore_class`` entries are left out of the mean.

    >>> import kusari
    >>> round(kusari.metrics.SparseCategoricalCrossentropy()([1], [[0.5, 0.5]]).item(), 4)
    0.6931
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.ignore_class is not None:   # Keras masks ignored labels out of the mean (weight 0)
            t = ops.convert_to_tensor(y_true)
            p = ops.convert_to_tensor(y_pred)
            if t.ndim == p.ndim:
                t = ops.squeeze(t, self.axis)
            mask = ops.cast(ops.not_equal(ops.cast(t, "int32"), int(self.ignore_class)), self.dtype)
            if sample_weight is None:
                sample_weight = mask
            else:
                sw = ops.cast(ops.convert_to_tensor(sample_weight), self.dtype)
                mask, sw = squeeze_or_expand_to_same_rank(mask, sw)
                sample_weight = sw * mask
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}
