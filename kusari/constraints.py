"""Weight constraints, applied after each optimizer step: MaxNorm, NonNeg, UnitNorm, MinMaxNorm.

>>> import kusari
>>> from kusari import constraints
>>> constraints.NonNeg()(kusari.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
from kusari import config, ops


class Constraint:
    """Base: ``constraint(weight)`` returns the projected weight; the default leaves it unchanged."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w, axis):
    return ops.sqrt(ops.sum(w * w, axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales each slice along ``axis`` whose L2 norm exceeds ``max_value`` down to it."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return ops.relu(w)


class UnitNorm(Constraint):
    """Rescales each slice along ``axis`` to L2 norm 1.

    >>> import kusari
    >>> kusari.constraints.UnitNorm()(kusari.tensor([[3.0], [4.0]])).tolist()
    [[0.6...], [0.8...]]
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keeps the L2 norm of each slice along ``axis`` in [min_value, max_value]; ``rate`` < 1 moves part way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * ops.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


_ALL = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, Constraint) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, dict):
        by_class = {cls.__name__: cls for cls in _ALL.values()}
        return by_class[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _ALL:
        return _ALL[identifier]()
    raise ValueError(f"unknown constraint {identifier!r}; valid names: {', '.join(_ALL)}")
