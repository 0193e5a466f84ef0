"""Weight initializers with Keras 3's names and defaults (``"glorot_uniform"``, ``HeNormal(seed=0)``, …).

>>> from kusari import initializers
>>> w = initializers.get("glorot_uniform")((3, 4), "float32")
>>> w.shape
(3, 4)
"""
import math

from kusari import config, dtypes
from kusari.backend import current as _backend


def _random():
    from kusari import random
    return random


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) as Keras computes them: kernels (*k, in, out) multiply by the receptive field; with
    ``input_axes`` and ``output_axes`` (Keras 3.12+), the products of those axes' sizes."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = fan_out = 1
        for axis in input_axes:
            fan_in *= shape[axis]
        for axis in output_axes:
            fan_out *= shape[axis]
        return int(fan_in), int(fan_out)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = 1
    for d in shape[:-2]:
        receptive *= d
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base: ``initializer(shape, dtype=None)`` returns a backend array."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


def _dtype(dtype):
    return dtypes.standardize(dtype) if dtype is not None else config.floatx()


class Zeros(Initializer):
    """Fills with 0: ``kernel_initializer="zeros"``."""

    def __call__(self, shape, dtype=None):
        return _backend().zeros(tuple(shape), _dtype(dtype))


class Ones(Initializer):
    """Fills with 1: ``"ones"``."""

    def __call__(self, shape, dtype=None):
        return _backend().ones(tuple(shape), _dtype(dtype))


class Constant(Initializer):
    """Fills with ``value``.

    >>> from kusari import initializers
    >>> initializers.Constant(3.0)((2,)).tolist()
    [3.0, 3.0]
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return _backend().full(tuple(shape), self.value, _dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def get_config(self):
        return {"seed": self.seed if isinstance(self.seed, int) or self.seed is None else None}


class RandomNormal(_Seeded):
    """Samples from N(mean, stddev²); ``seed`` makes it reproducible."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _random().normal(tuple(shape), self.mean, self.stddev, _dtype(dtype), seed=self.seed).data

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(_Seeded):
    """Samples uniformly from [minval, maxval); ``seed`` makes it reproducible."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return _random().uniform(tuple(shape), self.minval, self.maxval, _dtype(dtype), seed=self.seed).data

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class TruncatedNormal(_Seeded):
    """Samples from N(mean, stddev²), redrawing values more than two stddevs from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _random().truncated_normal(tuple(shape), self.mean, self.stddev, _dtype(dtype), seed=self.seed).data

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class VarianceScaling(_Seeded):
    """Samples with variance ``scale / n`` where n is fan_in, fan_out or their average."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        if (input_axes is None) != (output_axes is None):
            raise ValueError(f"{type(self).__name__}: give both input_axes and output_axes or neither, got "
                             f"input_axes={input_axes!r}, output_axes={output_axes!r}")
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        distribution = distribution.lower()
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        r, dt, shape = _random(), _dtype(dtype), tuple(shape)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / 0.87962566103423978
            return r.truncated_normal(shape, 0.0, stddev, dt, seed=self.seed).data
        if self.distribution == "untruncated_normal":
            return r.normal(shape, 0.0, math.sqrt(scale), dt, seed=self.seed).data
        limit = math.sqrt(3.0 * scale)
        return r.uniform(shape, -limit, limit, dt, seed=self.seed).data

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config(), **self._axes_config()}

    def _axes_config(self):
        # Keras 3.12+ writes input_axes/output_axes always; kusari only when set, so configs stay loadable by
        # earlier Keras 3 releases.
        if self.input_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


def _variance_scaling(name, scale, mode, distribution):
    class Fixed(VarianceScaling):
        def __init__(self, seed=None, input_axes=None, output_axes=None):
            super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

        def get_config(self):
            return {"seed": self.seed if isinstance(self.seed, int) or self.seed is None else None,
                    **self._axes_config()}
    Fixed.__name__ = Fixed.__qualname__ = name
    Fixed.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Fixed


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(_Seeded):
    """A random orthogonal matrix (rows or columns orthonormal) times ``gain``; kernels are flattened to 2-D."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2, got {shape}")
        rows = 1
        for d in shape[:-1]:
            rows *= d
        cols = shape[-1]
        B = _backend()
        a = _random().normal((max(rows, cols), min(rows, cols)), 0.0, 1.0, "float64", seed=self.seed).data
        q, r = B.xp.linalg.qr(a)
        q = q * B.xp.sign(B.xp.linalg.diagonal(r))
        if rows < cols:
            q = B.xp.permute_dims(q, (1, 0))
        return B.cast(B.xp.reshape(self.gain * q, shape), _dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


class Identity(Initializer):
    """The identity matrix times ``gain`` (2-D shapes only).

    >>> from kusari import initializers
    >>> initializers.Identity()((2, 2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {tuple(shape)}")
        B = _backend()
        return B.cast(B.xp.eye(shape[0], shape[1]) * self.gain, _dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


_ALL = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "orthogonal": Orthogonal, "identity": Identity,
}
_ALIASES = {"normal": "random_normal", "uniform": "random_uniform", "xavier_uniform": "glorot_uniform",
            "xavier_normal": "glorot_normal"}


def serialize(initializer):
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config):
    by_class = {cls.__name__: cls for cls in _ALL.values()}
    cls = by_class.get(config["class_name"]) or _ALL.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown initializer class {config['class_name']!r}")
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """An initializer from a Keras name, a class name, a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        key = _ALIASES.get(identifier, identifier)
        if key in _ALL:
            return _ALL[key]()
        by_class = {cls.__name__: cls for cls in _ALL.values()}
        if identifier in by_class:
            return by_class[identifier]()
        raise ValueError(f"unknown initializer {identifier!r}; valid names: {', '.join(sorted(_ALL))}")
    raise TypeError(f"cannot interpret {identifier!r} as an initializer")
