"""Losses with Keras 3's names, arguments and defaults: ``Loss`` classes (reduce over the batch) and functions
(per-sample values).

Every loss is built from ``kusari.ops``, so it is differentiable: ``kusari.grad(loss(y, model(x)), weights)``.

>>> import kusari
>>> mse = kusari.losses.MeanSquaredError()
>>> mse([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).item()
0.5
>>> kusari.losses.mean_squared_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).tolist()
[0.5, 0.5]

Differences from Keras 3, on purpose: ``y_true``/``y_pred`` whose shapes still differ after Keras' trailing-1
squeeze/expand raise a ``ValueError`` naming both shapes (Keras broadcasts, which silently turns ``(N,)`` vs ``(N, 3)``
into an ``(N, 3)``-by-``N`` mistake when ``N == 3``); a ``sample_weight`` of lower rank than the per-sample losses
is broadcast from the left (``(N,)`` weights for ``(N, T)`` losses), where Keras raises or mis-broadcasts.
"""
import inspect

from kusari import config, dtypes
from kusari import ops
from kusari.ops.convert import as_tensor

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Hinge", "SquaredHinge", "CategoricalHinge", "CosineSimilarity",
    "Poisson",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "huber", "log_cosh", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity", "poisson",
    "mse", "mae", "mape", "msle", "kld", "bce", "logcosh",
    "squeeze_or_expand_to_same_rank", "reduce_weighted_values", "get", "serialize", "deserialize",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# -- helpers -------------------------------------------------------------------------------------------------------

def _float_tensor(x, dtype=None):
    """``x`` as a float Tensor (``dtype``, else its own float dtype, else floatx)."""
    if dtype is not None:
        return as_tensor(x, dtype)
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        x = ops.cast(x, config.floatx())
    return x


def _pred_true(y_true, y_pred):
    """``y_pred`` as a float Tensor and ``y_true`` cast to its dtype."""
    y_pred = _float_tensor(y_pred)
    y_true = as_tensor(y_true)
    if y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' rule: when the ranks differ by exactly one and the longer one ends in a length-1 axis, squeeze that
    axis (or, when the shorter one is rank 1 and ``expand_rank_1``, give the shorter one a trailing axis).

    >>> import kusari
    >>> a, b = squeeze_or_expand_to_same_rank(kusari.tensor([[1.0], [2.0]]), kusari.tensor([1.0, 2.0]))
    >>> a.shape, b.shape
    ((2, 1), (2, 1))
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def _same_shape(y_true, y_pred, fn):
    """Squeeze/expand a trailing 1 as Keras does, then insist on equal shapes (clear error naming both)."""
    t, p = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if t.shape != p.shape:
        raise ValueError(f"{fn}: y_true and y_pred must have the same shape (up to a trailing axis of length 1), "
                         f"got y_true shape {tuple(y_true.shape)} and y_pred shape {tuple(y_pred.shape)}")
    return t, p


def _check_axis(axis, ndim, fn):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"{fn}: axis must be an int, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ValueError(f"{fn}: axis {axis} is out of range for y_pred with {ndim} dimensions")
    return axis % max(ndim, 1)


def _divide_no_nan(a, b):
    zero = ops.equal(b, 0.0)
    return ops.where(zero, 0.0, a / ops.where(zero, 1.0, b))


def _broadcasts(small, big):
    """Whether ``small`` broadcasts to ``big`` without growing it."""
    if len(small) > len(big):
        return False
    return all(a in (1, b) for a, b in zip(reversed(small), reversed(big)))


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`: {reduction!r}. Expected one of "
                         f"{', '.join(repr(r) for r in REDUCTIONS)}")
    return reduction


def reduce_weighted_values(values, sample_weight=None, reduction="sum_over_batch_size", dtype=None):
    """Weight per-sample ``values`` by ``sample_weight`` and reduce them as ``reduction`` says (Keras' rule)."""
    reduction = standardize_reduction(reduction)
    values = _float_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = as_tensor(sample_weight, values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        sw = sample_weight
        if 0 < sw.ndim < values.ndim:  # (N,) weights for (N, T) losses: broadcast from the left
            sw = ops.reshape(sw, tuple(sw.shape) + (1,) * (values.ndim - sw.ndim))
        if not _broadcasts(sw.shape, values.shape):
            raise ValueError(f"sample_weight of shape {tuple(sample_weight.shape)} does not fit the per-sample "
                             f"losses of shape {tuple(values.shape)}")
        values = values * sw
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    loss = ops.sum(values)
    if reduction == "sum":
        return loss
    if sample_weight is None and values.size:
        # the common case (an unweighted mean over a non-empty batch): the divisor is a positive constant, so
        # divide_no_nan's comparison and two selects (4 graph nodes forwards, more backwards) change nothing
        return loss / as_tensor(float(values.size), loss.dtype)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = ops.sum(sample_weight)
    else:
        divisor = as_tensor(float(values.size), loss.dtype)
    return _divide_no_nan(loss, divisor)


# -- the function forms: per-sample losses --------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``.

    >>> import kusari
    >>> kusari.losses.mean_squared_error([[1.0, 2.0]], [[1.0, 4.0]]).tolist()
    [2.0]
    """
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "mean_squared_error")
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "mean_absolute_error")
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "mean_absolute_percentage_error")
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), config.epsilon()))
    return 100.0 * ops.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(maximum(y_pred, eps) + 1) - log(maximum(y_true, eps) + 1)), axis=-1)``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "mean_squared_logarithmic_error")
    eps = config.epsilon()
    first = ops.log(ops.maximum(y_pred, eps) + 1.0)
    second = ops.log(ops.maximum(y_true, eps) + 1.0)
    return ops.mean(ops.square(first - second), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, axis=-1)`` with ``e = y_pred - y_true``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "huber")
    delta = float(delta)
    error = y_pred - y_true
    abs_error = ops.abs(error)
    quadratic = 0.5 * ops.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return ops.mean(ops.where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably as ``x + softplus(-2x) - log 2``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "log_cosh")
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(x * -2.0) - 0.6931471805599453, axis=-1)


def _hinge_labels(y_true):
    """0/1 labels become -1/+1 (Keras' ``convert_binary_labels_to_hinge``); other labels are left alone."""
    is_binary = ops.all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return 2.0 * y_true - 1.0 if bool(is_binary) else y_true


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/+1."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "hinge")
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``; 0/1 labels are mapped to -1/+1."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "squared_hinge")
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "categorical_hinge")
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[epsilon, 1]``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "kl_divergence")
    y_true = ops.clip(y_true, config.epsilon(), 1.0)
    y_pred = ops.clip(y_pred, config.epsilon(), 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "poisson")
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for parallel vectors, 0 for orthogonal ones
    (or a zero vector)."""
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "cosine_similarity")
    axis = _check_axis(axis, y_pred.ndim, "cosine_similarity")
    eps2 = config.epsilon() ** 2

    def normalize(x):
        return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), eps2))

    return -ops.sum(normalize(y_true) * normalize(y_pred), axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(-(y log p + (1 - y) log(1 - p)), axis)``; labels smoothed towards 0.5 by ``label_smoothing``.

    >>> import kusari
    >>> l = kusari.losses.binary_crossentropy([[0.0, 1.0]], [[0.0, 0.0]], from_logits=True)
    >>> round(l.item(), 4)
    0.6931
    """
    y_true, y_pred = _same_shape(*_pred_true(y_true, y_pred), "binary_crossentropy")
    axis = _check_axis(axis, y_pred.ndim, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log(y_pred), axis)`` with one-hot (or probability) targets; ``label_smoothing`` mixes in
    ``label_smoothing / num_classes`` of the uniform distribution.

    >>> import kusari
    >>> round(kusari.losses.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).item(), 4)
    0.6931
    """
    y_true, y_pred = _pred_true(y_true, y_pred)
    axis = _check_axis(axis, y_pred.ndim, "categorical_crossentropy")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: y_true and y_pred must have the same shape (one-hot targets), "
                         f"got y_true shape {y_true.shape} and y_pred shape {y_pred.shape}; for integer labels "
                         "use sparse_categorical_crossentropy")
    if label_smoothing:
        num_classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy with integer labels: ``y_true`` has ``y_pred``'s shape without the class axis (or with a
    length-1 axis there). Labels equal to ``ignore_class`` give a loss of 0.

    >>> import kusari
    >>> l = kusari.losses.sparse_categorical_crossentropy([1, 0], [[0.0, 0.0], [0.0, 0.0]], from_logits=True)
    >>> [round(v, 4) for v in l.tolist()]
    [0.6931, 0.6931]
    """
    y_pred = _float_tensor(y_pred)
    y_true = as_tensor(y_true)
    fn = "sparse_categorical_crossentropy"
    if y_pred.ndim < 1:
        raise ValueError(f"{fn}: y_pred must have a class axis, got shape {y_pred.shape}")
    axis = _check_axis(axis, y_pred.ndim, fn)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = ops.squeeze(y_true, axis)
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1:]
    if y_true.shape != expected:
        raise ValueError(f"{fn}: y_true shape {y_true.shape} does not fit y_pred shape {y_pred.shape}; y_true must "
                         f"hold one integer label per sample, shape {expected}")
    if dtypes.is_float(y_true.dtype):
        y_true = ops.cast(y_true, "int32")
    if ignore_class is None:
        return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)
    valid = ops.not_equal(y_true, int(ignore_class))
    y_true = ops.where(valid, y_true, 0)
    y_pred = ops.where(ops.expand_dims(valid, axis), y_pred, 0.0 if from_logits else 1.0)
    res = ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)
    return ops.where(valid, res, 0.0)


# short names Keras accepts
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh


# -- Loss classes ----------------------------------------------------------------------------------------------------

class Loss:
    """Base class of losses: subclass and implement ``call(y_true, y_pred)`` returning per-sample losses.

    ``reduction``: ``"sum_over_batch_size"`` (default; also ``"mean"``), ``"sum"``,
    ``"mean_with_sample_weight"`` (sum / sum of weights), ``"none"`` or None (per-sample values).

    >>> import kusari
    >>> class L1(kusari.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return kusari.ops.mean(kusari.ops.abs(y_true - y_pred), axis=-1)
    >>> L1()([[1.0], [2.0]], [[1.5], [2.5]]).item()
    0.5
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = dtypes.standardize(dtype) if dtype is not None else config.floatx()

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = _float_tensor(y_pred, self.dtype)
        y_true = as_tensor(y_true, self.dtype)
        losses = self.call(y_true, y_pred)
        return reduce_weighted_values(losses, sample_weight=sample_weight, reduction=self.reduction,
                                      dtype=self.dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) is not implemented")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} reduction={self.reduction}>"


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a per-sample loss function ``fn(y_true, y_pred, **kwargs)``.

    >>> import kusari
    >>> loss = kusari.losses.LossFunctionWrapper(kusari.losses.mean_absolute_error, reduction="sum")
    >>> loss([[1.0], [2.0]], [[0.0], [0.0]]).item()
    3.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if y_true.ndim != y_pred.ndim:
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _Simple(LossFunctionWrapper):
    """A wrapped loss with no arguments of its own: config is name and reduction (as in Keras)."""
    _fn = None
    _default_name = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(type(self)._fn, name=name or self._default_name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(_Simple):
    """Mean of squares of errors: ``loss = mean(square(y_true - y_pred))``.

    >>> import kusari
    >>> kusari.losses.MeanSquaredError()([[0.0], [1.0]], [[1.0], [1.0]]).item()
    0.5
    """
    _fn = staticmethod(mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_Simple):
    """Mean of absolute errors.

    >>> import kusari
    >>> kusari.losses.MeanAbsoluteError()([[0.0], [1.0]], [[2.0], [1.0]]).item()
    1.0
    """
    _fn = staticmethod(mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_Simple):
    """``100 * mean(abs((y_true - y_pred) / y_true))``.

    >>> import kusari
    >>> kusari.losses.MeanAbsolutePercentageError()([[2.0], [4.0]], [[1.0], [4.0]]).item()
    25.0
    """
    _fn = staticmethod(mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Simple):
    """``mean(square(log(y_true + 1) - log(y_pred + 1)))``.

    >>> import kusari
    >>> kusari.losses.MeanSquaredLogarithmicError()([[0.0]], [[0.0]]).item()
    0.0
    """
    _fn = staticmethod(mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCosh(_Simple):
    """``mean(log(cosh(y_pred - y_true)))``.

    >>> import kusari
    >>> kusari.losses.LogCosh()([[0.0]], [[0.0]]).item()
    0.0
    """
    _fn = staticmethod(log_cosh)
    _default_name = "log_cosh"


class Hinge(_Simple):
    """``maximum(1 - y_true * y_pred, 0)``; labels -1/+1 (0/1 are converted).

    >>> import kusari
    >>> kusari.losses.Hinge()([[1.0], [0.0]], [[0.5], [-2.0]]).item()
    0.25
    """
    _fn = staticmethod(hinge)
    _default_name = "hinge"


class SquaredHinge(_Simple):
    """``square(maximum(1 - y_true * y_pred, 0))``; labels -1/+1 (0/1 are converted).

    >>> import kusari
    >>> kusari.losses.SquaredHinge()([[1.0]], [[0.5]]).item()
    0.25
    """
    _fn = staticmethod(squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_Simple):
    """``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``, ``neg = max((1 - y_true) * y_pred)``.

    >>> import kusari
    >>> kusari.losses.CategoricalHinge()([[0.0, 1.0]], [[0.2, 0.7]]).item()
    0.5
    """
    _fn = staticmethod(categorical_hinge)
    _default_name = "categorical_hinge"


class KLDivergence(_Simple):
    """``y_true * log(y_true / y_pred)`` summed over the last axis.

    >>> import kusari
    >>> kusari.losses.KLDivergence()([[0.5, 0.5]], [[0.5, 0.5]]).item()
    0.0
    """
    _fn = staticmethod(kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_Simple):
    """``y_pred - y_true * log(y_pred)``.

    >>> import kusari
    >>> round(kusari.losses.Poisson()([[1.0]], [[1.0]]).item(), 5)
    1.0
    """
    _fn = staticmethod(poisson)
    _default_name = "poisson"


class Huber(LossFunctionWrapper):
    """Quadratic for ``|error| <= delta``, linear beyond.

    >>> import kusari
    >>> kusari.losses.Huber(delta=1.0)([[0.0], [0.0]], [[0.5], [3.0]]).item()
    1.3125
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)

    def get_config(self):
        config = super().get_config()
        config.pop("fn")
        return config


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis``: -1 when ``y_pred`` points along ``y_true``.

    >>> import kusari
    >>> round(kusari.losses.CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]]).item(), 5)
    -1.0
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)

    def get_config(self):
        config = super().get_config()
        config.pop("fn")
        return config


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 labels; ``from_logits=True`` takes raw scores (stable).

    >>> import kusari
    >>> round(kusari.losses.BinaryCrossentropy(from_logits=True)([[1.0], [0.0]], [[0.0], [0.0]]).item(), 4)
    0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis})
        return config


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with one-hot targets; ``from_logits=True`` takes raw scores (fused, stable).

    >>> import kusari
    >>> round(kusari.losses.CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]).item(), 4)
    0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)   # targets and predictions keep their shapes

    def get_config(self):
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis})
        return config


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with integer labels (``y_true`` of shape ``(N,)`` or ``(N, 1)`` for ``y_pred (N, C)``).

    >>> import kusari
    >>> round(kusari.losses.SparseCategoricalCrossentropy(from_logits=True)([1], [[0.0, 0.0]]).item(), 4)
    0.6931
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = _float_tensor(y_pred, self.dtype)
        y_true = as_tensor(y_true)      # integer labels stay integers
        losses = self.fn(y_true, y_pred, **self._fn_kwargs)
        if self.ignore_class is not None and self.reduction not in (None, "none"):
            # Keras masks ignored entries: "sum_over_batch_size" averages over the valid ones only and
            # "mean_with_sample_weight" divides by the weights of the valid ones
            t = y_true if y_true.ndim < y_pred.ndim else ops.squeeze(y_true, self.axis)
            mask = ops.cast(ops.not_equal(ops.cast(t, "int32"), int(self.ignore_class)), losses.dtype)
            if self.reduction in ("sum_over_batch_size", "mean"):
                mask = mask * _divide_no_nan(as_tensor(float(mask.size), losses.dtype), ops.sum(mask))
            if sample_weight is None:
                sample_weight = mask
            else:
                sample_weight = as_tensor(sample_weight, losses.dtype)
                mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
                sample_weight = sample_weight * mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, reduction=self.reduction,
                                      dtype=self.dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("fn")
        return config


# -- lookup and serialization -----------------------------------------------------------------------------------------

def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


_CLASSES = [Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, Huber, LogCosh, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, KLDivergence, Hinge, SquaredHinge, CategoricalHinge, CosineSimilarity,
            Poisson]
_FUNCTIONS = [mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, huber, log_cosh, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, kl_divergence, hinge, squared_hinge, categorical_hinge,
              cosine_similarity, poisson]

ALL_OBJECTS_DICT = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS_DICT.update({f.__name__: f for f in _FUNCTIONS})
ALL_OBJECTS_DICT.update({
    "bce": binary_crossentropy, "BCE": binary_crossentropy, "kld": kl_divergence, "KLD": kl_divergence,
    "kullback_leibler_divergence": kl_divergence, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error, "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error, "logcosh": log_cosh, "huber_loss": huber,
})


def _unknown(identifier):
    names = sorted(k for k in ALL_OBJECTS_DICT if k not in ("Loss", "LossFunctionWrapper"))
    return ValueError(f"Could not interpret loss identifier: {identifier!r}. Valid names: {', '.join(names)}")


def serialize(loss):
    """A JSON-able dict for a ``Loss`` (class name + config) or a built-in loss function.

    >>> import kusari
    >>> kusari.losses.serialize(kusari.losses.Huber(delta=2.0))["config"]["delta"]
    2.0
    """
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"module": "kusari.losses", "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": None}
    if inspect.isfunction(loss) and ALL_OBJECTS_DICT.get(loss.__name__) is loss:
        return {"module": "kusari.losses", "class_name": "function", "config": loss.__name__,
                "registered_name": "function"}
    if inspect.isfunction(loss):
        return {"module": None, "class_name": "function", "config": loss.__name__,
                "registered_name": loss.__name__}
    raise TypeError(f"serialize: cannot serialize {loss!r}; expected a Loss instance or a loss function")


def deserialize(config, custom_objects=None):
    """The ``Loss`` instance or loss function that ``config`` (from ``serialize``, or a name) describes."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        obj = custom_objects.get(config) or ALL_OBJECTS_DICT.get(config)
        if obj is None:
            raise _unknown(config)
        return obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a loss name or a dict with 'class_name' and 'config', "
                         f"got {config!r}")
    class_name, inner = config["class_name"], config.get("config") or {}
    if class_name == "function":
        name = inner if isinstance(inner, str) else config.get("registered_name")
        return deserialize(name, custom_objects)
    cls = custom_objects.get(class_name) or ALL_OBJECTS_DICT.get(class_name)
    if cls is None or not (inspect.isclass(cls) and issubclass(cls, Loss)):
        raise _unknown(class_name)
    return cls.from_config(inner)


def get(identifier):
    """A loss from a name (``"mse"``, ``"categorical_crossentropy"``, ``"Huber"``…), a config dict, a ``Loss``
    instance or a callable. Names of functions give the function (per-sample values), class names an instance.

    >>> import kusari
    >>> kusari.losses.get("mse") is kusari.losses.mean_squared_error
    True
    >>> type(kusari.losses.get("CategoricalCrossentropy")).__name__
    'CategoricalCrossentropy'
    """
    return _lookup(identifier, ALL_OBJECTS_DICT, deserialize, _unknown)


def _lookup(identifier, objects, deserialize, unknown, not_by_name=()):
    """What ``losses.get`` and ``metrics.get`` share: None stays None; a dict goes through ``deserialize``; a name
    is looked up in ``objects`` (the names in ``not_by_name`` are refused); a class found gives a new instance, a
    callable (found or given) itself; anything else raises ``unknown(identifier)``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = objects.get(identifier)
        if obj is None or identifier in not_by_name:
            raise unknown(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        return obj()
    if callable(obj):
        return obj
    raise unknown(identifier)
