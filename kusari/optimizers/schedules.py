"""Learning-rate schedules with Keras 3's names, arguments and formulas (``keras.optimizers.schedules``).

A schedule is a callable ``schedule(step) -> learning rate`` (a 0-d float32 Tensor); pass one as an optimizer's
``learning_rate`` and it is evaluated at ``optimizer.iterations`` on every step. The built-in schedules compute with
backend array ops in float64 (no Python control flow on the step), so they also run on the traced ``iterations`` of
a ``jit_compile=True`` train step.

>>> from kusari.optimizers import schedules
>>> s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(float(s(10)), 6)
0.05
"""
import math

from kusari import backend as _backend
from kusari import config
from kusari.tensor import Tensor

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]


def _step(step):
    """``(xp, step)``: the step (an int, a Tensor or Parameter such as ``optimizer.iterations``, possibly holding a
    traced array) as a float64 0-d array of its backend, and that backend's array namespace."""
    if isinstance(step, Tensor):
        b = step.backend
        return b.xp, b.cast(step.data, "float64")
    b = _backend.current()
    return b.xp, b.asarray(step, "float64")


def _out(value):
    """The learning rate as a 0-d ``floatx`` Tensor (rounded from float64, as a Python float would be)."""
    b = _backend.of(value) or _backend.current()
    return Tensor._wrap(b.cast(value, config.floatx()))


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(self, step)`` and ``get_config()``.

    >>> from kusari.optimizers import schedules
    >>> class Halving(schedules.LearningRateSchedule):
    ...     def __init__(self, lr):
    ...         self.lr = lr
    ...     def __call__(self, step):
    ...         return self.lr / (step + 1)
    ...     def get_config(self):
    ...         return {"lr": self.lr}
    >>> Halving(1.0)(1)
    0.5
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_steps(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class _RateDecay(LearningRateSchedule):
    """What ``ExponentialDecay`` and ``InverseTimeDecay`` share: their arguments and config, and the decay
    progress ``step / decay_steps`` (floored if ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_steps("decay_steps", decay_steps)

    def _progress(self, step):
        xp, s = _step(step)
        p = s / self.decay_steps
        if self.staircase:
            p = xp.floor(p)
        return p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (integer division if ``staircase``).

    >>> from kusari.optimizers.schedules import ExponentialDecay
    >>> s = ExponentialDecay(0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
    >>> round(float(s(250000)), 7)
    0.09216
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _out(self.initial_learning_rate * self.decay_rate ** self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < step <=
    boundaries[i]``, ``values[-1]`` after the last boundary.

    >>> from kusari.optimizers.schedules import PiecewiseConstantDecay
    >>> s = PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    >>> [float(s(k)) for k in (0, 100000, 100001, 110001)]
    [1.0, 1.0, 0.5, 0.10000000149011612]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        xp, s = _step(step)
        value = float(self.values[-1])
        for b, v in reversed(list(zip(self.boundaries, self.values))):      # the first boundary >= step wins
            value = xp.where(s <= b, float(v), value)
        return _out(value)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``; with ``cycle`` the decay
    restarts over the first multiple of ``decay_steps`` beyond ``step``.

    >>> from kusari.optimizers.schedules import PolynomialDecay
    >>> s = PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=1.0)
    >>> round(float(s(50)), 6), round(float(s(500)), 6)
    (0.055, 0.01)
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _check_steps("decay_steps", decay_steps)

    def __call__(self, step):
        xp, s = _step(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * xp.where(s == 0, 1.0, xp.ceil(s / decay_steps))
        else:
            s = xp.minimum(s, decay_steps)
        p = s / decay_steps
        return _out((self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power
                    + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio if ``staircase``).

    >>> from kusari.optimizers.schedules import InverseTimeDecay
    >>> round(float(InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)(2)), 6)
    0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _out(self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step)))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, with ``warmup_target``, a linear warmup over
    ``warmup_steps`` to ``warmup_target`` first) down to ``alpha`` times that over ``decay_steps``.

    >>> from kusari.optimizers.schedules import CosineDecay
    >>> s = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=10)
    >>> [round(float(s(k)), 6) for k in (0, 5, 10, 15, 20, 30)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _check_steps("decay_steps", decay_steps)

    def _decay(self, xp, step, decay_from):
        cosine = 0.5 * (1.0 + xp.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        xp, s = _step(step)
        if self.warmup_target is None:
            return _out(self._decay(xp, xp.minimum(s, float(self.decay_steps)), self.initial_learning_rate))
        s = xp.minimum(s, float(self.decay_steps + self.warmup_steps))
        # both branches are computed and one is selected (no Python `if` on the step); the divisor only guards
        # warmup_steps=0, where the warmup branch is never selected
        frac = s / (self.warmup_steps or 1)
        warmup = (self.warmup_target - self.initial_learning_rate) * frac + self.initial_learning_rate
        return _out(xp.where(s < self.warmup_steps, warmup,
                             self._decay(xp, s - self.warmup_steps, self.warmup_target)))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay over ``first_decay_steps``, then warm restarts each ``t_mul`` times longer with
    ``m_mul`` times the previous peak.

    >>> from kusari.optimizers.schedules import CosineDecayRestarts
    >>> s = CosineDecayRestarts(1.0, first_decay_steps=10)
    >>> [round(float(s(k)), 6) for k in (0, 5, 10, 20)]
    [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        _check_steps("first_decay_steps", first_decay_steps)

    def __call__(self, step):
        xp, s = _step(step)
        frac = s / self.first_decay_steps
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            i_restart = xp.floor(frac)
            frac = frac - i_restart
        else:
            i_restart = xp.floor(xp.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            # on a restart boundary the rounding of log (which differs between libm and a compiler's fused code)
            # can land one period off: settle it with the exact period starts
            i_restart = xp.where(frac >= (1.0 - t_mul ** (i_restart + 1)) / (1.0 - t_mul), i_restart + 1, i_restart)
            i_restart = xp.where(frac < (1.0 - t_mul ** i_restart) / (1.0 - t_mul), i_restart - 1, i_restart)
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            frac = (frac - sum_r) / t_mul ** i_restart
        cosine = 0.5 * float(self._m_mul) ** i_restart * (1.0 + xp.cos(math.pi * frac))
        return _out(self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                       InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def is_builtin(obj):
    """Whether ``obj`` is one of the schedules above (they compute with backend ops, so a compiled step can trace
    them)."""
    return _SCHEDULES.get(type(obj).__name__) is type(obj)


def serialize(learning_rate_schedule):
    """A JSON-compatible dict: ``{"module", "class_name", "config", "registered_name"}`` (Keras' layout).

    >>> from kusari.optimizers import schedules
    >>> schedules.serialize(schedules.InverseTimeDecay(0.1, 1, 0.5))["class_name"]
    'InverseTimeDecay'
    """
    cls = type(learning_rate_schedule)
    builtin = _SCHEDULES.get(cls.__name__) is cls
    return {"module": "kusari.optimizers.schedules" if builtin else cls.__module__,
            "class_name": cls.__name__, "config": learning_rate_schedule.get_config(),
            "registered_name": None if builtin else cls.__name__}


def deserialize(config, custom_objects=None):
    """The schedule a ``serialize`` dict (or Keras' ``{"class_name", "config"}``) describes.

    >>> from kusari.optimizers import schedules
    >>> s = schedules.deserialize({"class_name": "PolynomialDecay",
    ...                            "config": {"initial_learning_rate": 0.1, "decay_steps": 10}})
    >>> type(s).__name__
    'PolynomialDecay'
    """
    if isinstance(config, LearningRateSchedule):
        return config
    name = config.get("class_name")
    objects = dict(_SCHEDULES)
    objects.update(custom_objects or {})
    key = config.get("registered_name") or name
    cls = objects.get(key) or objects.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule {name!r}; known: {sorted(objects)}")
    return cls.from_config(dict(config.get("config", {})))
