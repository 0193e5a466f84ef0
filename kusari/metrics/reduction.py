"""``Sum``, ``Mean`` and ``MeanMetricWrapper`` (the base of every "mean of a per-sample function" metric)."""
from kusari import ops
from kusari.losses import squeeze_or_expand_to_same_rank
from kusari.metrics.metric import Metric, assign_add, divide_no_nan
from kusari.ops.convert import B
from kusari.tensor import Tensor


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras' rule: weights and values brought to one rank, values reduced to the weights' rank, then weighted;
    finally each value is reduced to one per sample. Returns ``(values, sample_weight)``."""
    values = ops.cast(ops.convert_to_tensor(values), dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(ops.convert_to_tensor(sample_weight), dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        try:
            sample_weight = ops.broadcast_to(sample_weight, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {tuple(sample_weight.shape)} does not fit values of shape "
                             f"{tuple(values.shape)}") from None
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of all values seen.

    >>> import kusari
    >>> m = kusari.metrics.Sum()
    >>> m.update_state([1.0, 3.0, 5.0], sample_weight=[1.0, 0.0, 2.0])
    >>> m.result().item()
    11.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, ops.sum, self.dtype)
        assign_add(self.total, ops.sum(values))

    def result(self):
        return ops.copy(self.total)


class Mean(Metric):
    """The (weighted) mean of all values seen: ``sum(w * v) / sum(w)``.

    >>> import kusari
    >>> m = kusari.metrics.Mean()
    >>> m.update_state([1.0, 3.0, 5.0], sample_weight=[1.0, 0.0, 3.0])
    >>> m.result().item()
    4.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None):
        if (type(sample_weight) is int and isinstance(values, Tensor) and values.ndim == 0
                and values.dtype == self.dtype and abs(sample_weight) < 2 ** 24):
            # fast path for the loss tracker (a scalar loss weighted by the batch size, every step): the same
            # float maths as the general rule below without its casts, rank matching and reductions
            w = Tensor(B().full((), sample_weight, self.dtype))
            assign_add(self.total, values * w)
            assign_add(self.count, w)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, ops.mean, self.dtype)
        assign_add(self.total, ops.sum(values))
        if sample_weight is not None:
            num = ops.sum(sample_weight)
        else:
            num = float(values.shape[0]) if values.ndim >= 1 else 1.0
        assign_add(self.count, num)

    def result(self):
        return divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen (``fn`` gives per-sample values).

    >>> import kusari
    >>> m = kusari.metrics.MeanMetricWrapper(kusari.losses.mean_absolute_error, name="mae")
    >>> m.update_state([[1.0], [2.0]], [[0.0], [0.0]])
    >>> m.result().item()
    1.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None) or getattr(fn, "name", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        from kusari import losses
        config = super().get_config()
        fn = self._fn
        try:
            config["fn"] = losses.serialize(fn)
        except TypeError:
            config["fn"] = getattr(fn, "__name__", repr(fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        from kusari import losses
        config = dict(config)
        if "fn" in config:
            fn = config["fn"]
            config["fn"] = _metric_functions().get(fn, None) if isinstance(fn, str) else losses.deserialize(fn)
        return cls(**config)


def _metric_functions():
    from kusari.metrics import accuracy
    from kusari import losses
    out = {f: getattr(accuracy, f) for f in accuracy.__all__ if f.islower()}
    out.update({k: v for k, v in losses.ALL_OBJECTS_DICT.items() if callable(v) and k.islower()})
    return out
