"""Random numbers with explicit, resumable state (keras.random names).

``seed`` may be an int (a fresh generator from it: the same int gives the same numbers), a ``SeedGenerator``
(advanced by each call), or None (the global generator, reset by ``set_seed``).

>>> import kusari
>>> a = kusari.random.normal((2,), seed=1)
>>> b = kusari.random.normal((2,), seed=1)
>>> a.tolist() == b.tolist()
True
"""
from kusari import backend as _backend
from kusari import config, dtypes

__all__ = ["SeedGenerator", "set_seed", "normal", "uniform", "randint", "truncated_normal", "dropout", "shuffle",
           "categorical"]


class SeedGenerator:
    """A backend random generator plus its seed; ``state`` / ``set_state`` give an exact, JSON-serialisable resume.

    >>> import kusari
    >>> g = kusari.random.SeedGenerator(42)
    >>> s = g.state
    >>> a = kusari.random.uniform((3,), seed=g)
    >>> g.set_state(s)
    >>> kusari.random.uniform((3,), seed=g).tolist() == a.tolist()
    True
    """

    def __init__(self, seed=None, name=None):
        if seed is None:
            seed = _fresh_seed()
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"SeedGenerator: seed must be a non-negative int or None, got {seed!r}")
        self.seed = seed
        self.name = name
        self.backend = _backend.current()
        self.generator = self.backend.rng(seed)

    @property
    def state(self):
        return {"seed": self.seed, "generator": self.backend.rng_state(self.generator)}

    def set_state(self, state):
        self.seed = state["seed"]
        self.backend.set_rng_state(self.generator, state["generator"])

    def next(self):
        """A fresh integer seed drawn from this generator (advances it)."""
        return int(self.backend.to_numpy(self.backend.randint(self.generator, (), 0, 2 ** 31 - 1, "int64")))

    def __repr__(self):
        return f"<SeedGenerator seed={self.seed}>"


_global = None


def _fresh_seed():
    """A seed for ``SeedGenerator(None)``: drawn from the global generator once one is set (so
    ``set_seed``/``kusari.utils.set_random_seed`` make seedless layers reproducible), else from Python's ``random``
    (which ``set_random_seed`` also seeds), as Keras does."""
    if _global is not None and _global.backend is _backend.current():
        return int(_global.backend.to_numpy(_global.backend.randint(_global.generator, (), 0, 2 ** 31 - 1,
                                                                      "int64")))
    import random as _py_random
    return _py_random.randint(1, 2 ** 31 - 1)


def set_seed(seed):
    """Reset the global generator used when ``seed=None``."""
    global _global
    _global = SeedGenerator(seed)


def global_seed_generator():
    global _global
    if _global is None or _global.backend is not _backend.current():
        _global = SeedGenerator()
    return _global


def _generator(seed):
    if seed is None:
        return global_seed_generator().generator
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, int) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        return _backend.current().rng(seed)
    raise TypeError(f"seed must be an int, a SeedGenerator or None, got {type(seed).__name__}")


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(s) for s in shape)


def _float_dtype(dtype, op):
    dtype = dtypes.standardize(dtype) or config.floatx()
    if not dtypes.is_float(dtype):
        raise ValueError(f"{op}: dtype must be a float type, got {dtype}")
    return dtype


def _tensor(a):
    from kusari.tensor import Tensor
    return Tensor(a)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from N(mean, stddev**2).

    >>> import kusari
    >>> kusari.random.normal((2, 3), seed=0).shape
    (2, 3)
    """
    dtype = _float_dtype(dtype, "normal")
    return _tensor(_backend.current().normal(_generator(seed), _shape(shape), dtype, float(mean), float(stddev)))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from U[minval, maxval)."""
    dtype = _float_dtype(dtype, "uniform")
    if maxval < minval:
        raise ValueError(f"uniform: maxval {maxval} is below minval {minval}")
    return _tensor(_backend.current().uniform(_generator(seed), _shape(shape), dtype, float(minval), float(maxval)))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval)."""
    dtype = dtypes.standardize(dtype)
    if not dtypes.is_int(dtype):
        raise ValueError(f"randint: dtype must be an integer type, got {dtype}")
    if maxval <= minval:
        raise ValueError(f"randint: maxval {maxval} must be greater than minval {minval}")
    return _tensor(_backend.current().randint(_generator(seed), _shape(shape), int(minval), int(maxval), dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """N(mean, stddev**2) restricted to within two standard deviations (samples outside are redrawn)."""
    dtype = _float_dtype(dtype, "truncated_normal")
    b = _backend.current()
    gen = _generator(seed)
    shape = _shape(shape)
    xp = b.xp
    out = b.normal(gen, shape, dtype)
    bad = xp.abs(out) > 2.0
    while bool(xp.any(bad)):
        out = xp.where(bad, b.normal(gen, shape, dtype), out)
        bad = xp.abs(out) > 2.0
    if stddev != 1.0:
        out = out * b.asarray(stddev, dtype)
    if mean != 0.0:
        out = out + b.asarray(mean, dtype)
    return _tensor(out)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)`` (differentiable
    w.r.t. ``inputs``); ``noise_shape`` broadcasts one mask over some axes."""
    from kusari.ops.random import dropout as _dropout
    return _dropout(inputs, rate, noise_shape=noise_shape, seed=seed)


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order (no gradient)."""
    from kusari.ops.convert import as_tensor, normalize_axis
    x = as_tensor(x)
    (ax,) = normalize_axis(axis, x.ndim, "shuffle")
    b = _backend.current()
    perm = b.permutation(_generator(seed), x.shape[ax])
    return _tensor(b.xp.take(x.data, perm, axis=ax))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """For each row of ``logits`` (batch, classes), ``num_samples`` class indices drawn from softmax(logits)."""
    from kusari.ops.convert import as_tensor
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"categorical: logits must have shape (batch, classes), got {logits.shape}")
    b = _backend.current()
    xp = b.xp
    x = b.cast(logits.data, "float64")
    # Gumbel-max trick: argmax(logits + Gumbel noise) is a sample from softmax(logits)
    u = b.uniform(_generator(seed), (x.shape[0], int(num_samples), x.shape[1]), "float64")
    gumbel = -xp.log(-xp.log(u + 1e-20) + 1e-20)
    idx = xp.argmax(xp.expand_dims(x, axis=1) + gumbel, axis=-1)
    return _tensor(b.cast(idx, dtypes.standardize(dtype)))
