"""Weight regularizers (L1, L2, L1L2): ``kernel_regularizer=regularizers.L2(1e-4)`` or ``"l2"``.

>>> import kusari
>>> from kusari import regularizers
>>> float(regularizers.L2(0.5)(kusari.tensor([1.0, 2.0])))
2.5
"""
from kusari import ops


class Regularizer:
    """Base: ``regularizer(weight)`` returns a scalar penalty added to the loss."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w²)``.

    >>> import kusari
    >>> float(kusari.regularizers.L1L2(l1=1.0, l2=1.0)(kusari.tensor([1.0, -2.0])))
    8.0
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = 0.0
        if self.l1:
            total = total + self.l1 * ops.sum(ops.abs(x))
        if self.l2:
            total = total + self.l2 * ops.sum(x * x)
        return total if not isinstance(total, float) else ops.sum(x * 0.0)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)``: pushes weights to exactly zero (``"l1"``)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w²)``: weight decay through the loss (``"l2"``)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_ALL = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def serialize(reg):
    return {"class_name": type(reg).__name__, "config": reg.get_config()}


def get(identifier):
    """A regularizer from ``"l1"``, ``"l2"``, ``"l1_l2"``, a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, Regularizer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, dict):
        by_class = {"L1": L1, "L2": L2, "L1L2": L1L2}
        return by_class[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in _ALL:
        return _ALL[identifier.lower()]()
    raise ValueError(f"unknown regularizer {identifier!r}; valid names: l1, l2, l1_l2")
