"""``Metric``: a stateful, streaming measurement (Keras 3 ``keras.metrics.Metric``).

State lives in non-trainable ``kusari.Parameter`` s made with ``add_variable``; ``metric.variables`` lists them (for
checkpoints). ``update_state``, ``result`` and ``reset_state`` always run under ``kusari.no_grad()`` and change the
state only with ``variable.assign`` / ``assign_add``.

>>> import kusari
>>> class Total(kusari.metrics.Metric):
...     def __init__(self, name="total", dtype=None):
...         super().__init__(name=name, dtype=dtype)
...         self.total = self.add_variable(shape=(), initializer="zeros", name="total")
...     def update_state(self, values):
...         self.total.assign_add(kusari.ops.sum(kusari.ops.cast(values, self.dtype)))
...     def result(self):
...         return kusari.ops.copy(self.total)
>>> m = Total()
>>> m.update_state([1.0, 2.0]); m([3.0]).item()
6.0
>>> [v.path for v in m.variables]
['total/total']
"""
import functools

from kusari import config, dtypes, ops
from kusari.autograd.mode import no_grad
from kusari.tensor import Parameter

_NO_GRAD_METHODS = ("update_state", "result", "reset_state")


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _without_grad(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with no_grad():
            return fn(*args, **kwargs)
    wrapper._kusari_no_grad = True
    return wrapper


class Metric:
    """Base class: create state in ``__init__`` with ``self.add_variable(...)``, accumulate it in
    ``update_state(...)``, compute the value in ``result()``. ``metric(...)`` = ``update_state(...)`` then
    ``result()``.

    >>> import kusari
    >>> m = kusari.metrics.Mean()
    >>> m.update_state([1.0, 3.0]); m.result().item()
    2.0
    >>> m.reset_state(); m.result().item()
    0.0
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in _NO_GRAD_METHODS:   # metric updates never enter the autograd graph
            fn = cls.__dict__.get(name)
            if fn is not None and not getattr(fn, "_kusari_no_grad", False):
                setattr(cls, name, _without_grad(fn))

    def __init__(self, dtype=None, name=None):
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_metrics", [])
        self.name = name or _snake(type(self).__name__)
        self._dtype = dtypes.standardize(dtype) if dtype is not None else config.floatx()

    def __setattr__(self, name, value):
        if isinstance(value, Metric) and value is not self and "_metrics" in self.__dict__ \
                and value not in self._metrics:
            self._metrics.append(value)
        object.__setattr__(self, name, value)

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() before adding state")

    @property
    def dtype(self):
        return self._dtype

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable state ``Parameter`` of ``shape`` filled by ``initializer`` (a name such as ``"zeros"``, an
        initializer, a callable ``(shape, dtype) -> array`` or a number); listed in ``self.variables``."""
        self._check_super_called()
        shape = tuple(int(s) for s in shape)
        dtype = dtypes.standardize(dtype) if dtype is not None else self.dtype
        if isinstance(initializer, (int, float)) and not isinstance(initializer, bool):
            value = ops.full(shape, initializer, dtype=dtype)
        else:
            from kusari import initializers
            value = initializers.get(initializer if initializer is not None else "zeros")(shape, dtype=dtype)
        var = Parameter(value, dtype=dtype, trainable=False, name=name)
        var.path = f"{self.name}/{name}" if name else self.name
        self._variables.append(var)
        return var

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """Every state variable of this metric and of the metrics it holds, in creation order."""
        out = list(self._variables)
        for m in self._metrics:
            out.extend(m.variables)
        return out

    def reset_state(self):
        """Set every state variable back to zeros (called between epochs)."""
        for v in self.variables:
            v.assign(ops.zeros(v.shape, dtype=v.dtype))

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.update_state() is not implemented")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}.result() is not implemented")

    def __call__(self, *args, **kwargs):
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


def divide_no_nan(a, b):
    """``a / b``, 0 where ``b == 0``."""
    zero = ops.equal(b, 0)
    return ops.where(zero, 0.0, ops.divide(a, ops.where(zero, 1.0, b)))


def assign_add(var, value):
    """``var += value`` in var's dtype (the only way metrics change state besides ``assign``)."""
    value = ops.convert_to_tensor(value)
    if value.dtype != var.dtype:
        value = ops.cast(value, var.dtype)
    var.assign_add(value)
