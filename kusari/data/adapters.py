"""Turning what ``fit``/``evaluate``/``predict`` receive into batches: NumPy arrays (and lists/dicts of them),
Tensors, Python generators, ``Dataset``s. Host-side code, so NumPy is allowed here."""
import math

import numpy as np

from kusari import config


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) from a batch given as x, (x,), (x, y) or (x, y, sample_weight) — Keras' rule."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    if y is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _map(fn, s):
    if isinstance(s, tuple):
        return tuple(_map(fn, v) for v in s)
    if isinstance(s, list):
        return [_map(fn, v) for v in s]
    if isinstance(s, dict):
        return {k: _map(fn, v) for k, v in s.items()}
    return None if s is None else fn(s)


def _leaves(s):
    if isinstance(s, (tuple, list)):
        return [x for v in s for x in _leaves(v)]
    if isinstance(s, dict):
        return [x for v in s.values() for x in _leaves(v)]
    return [] if s is None else [s]


def to_host_array(a):
    """A NumPy array; float64 becomes floatx (Keras does the same), other dtypes are kept."""
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        a = a.numpy()
    a = np.asarray(a)
    if a.dtype == np.float64 and config.floatx() != "float64":
        a = a.astype(config.floatx())
    return a


def is_array_like(x):
    leaves = _leaves(x)
    return bool(leaves) and all(hasattr(v, "shape") and hasattr(v, "__len__") or isinstance(v, (list,))
                                for v in leaves) and not hasattr(x, "__next__")


class ArrayAdapter:
    """Batches of in-memory arrays, shuffled per epoch with a generator the trainer owns (for exact resume)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
        self.x = _map(to_host_array, x)
        self.y = _map(to_host_array, y)
        self.sample_weight = _map(to_host_array, sample_weight)
        lengths = {len(v) for v in _leaves((self.x, self.y, self.sample_weight))}
        if len(lengths) != 1:
            raise ValueError(f"x, y and sample_weight must all have the same number of samples; got lengths "
                             f"{sorted(lengths)}")
        self.num_samples = lengths.pop()
        self.batch_size = batch_size or 32
        self.shuffle = shuffle
        self.steps = steps if steps is not None else math.ceil(self.num_samples / self.batch_size)

    def batches(self, rng=None):
        order = None
        if self.shuffle and rng is not None:
            if self.shuffle == "batch":
                nb = math.ceil(self.num_samples / self.batch_size)
                perm = rng.permutation(nb)
                order = np.concatenate([np.arange(b * self.batch_size, min((b + 1) * self.batch_size,
                                                                        self.num_samples)) for b in perm])
            else:
                order = rng.permutation(self.num_samples)
        step = 0
        while step < self.steps:
            start = (step * self.batch_size) % max(self.num_samples, 1)
            idx = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            take = (lambda a: a[idx])
            yield pack_x_y_sample_weight(_map(take, self.x), _map(take, self.y), _map(take, self.sample_weight))
            step += 1


class IterableAdapter:
    """Batches from a ``Dataset`` (re-iterated each epoch) or a Python generator (consumed as it goes)."""

    def __init__(self, source, steps=None):
        self.source = source
        self.steps = steps
        self._iterator = None
        if steps is None:
            try:
                self.steps = len(source)
            except TypeError:
                self.steps = None

    def batches(self, rng=None):
        if hasattr(self.source, "__next__"):
            it = self.source
        else:
            it = iter(self.source)
        for step, batch in enumerate(it):
            yield batch if isinstance(batch, tuple) else (tuple(batch) if isinstance(batch, list) else (batch,))
            if self.steps is not None and step + 1 >= self.steps:
                return


def make_adapter(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not is_array_like(x) and not isinstance(x, dict)):
        if y is not None:
            raise ValueError("when x is a generator or a Dataset, y must be None (the batches carry the targets)")
        return IterableAdapter(x, steps)
    if x is None:
        raise ValueError("no input data given (x is None)")
    return ArrayAdapter(x, y, sample_weight, batch_size, shuffle, steps)


def split_validation(x, y, sample_weight, fraction):
    """Keras' validation_split: the LAST ``fraction`` of the samples, before any shuffling."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_split must be between 0 and 1, got {fraction}")
    n = len(_leaves(x)[0])
    cut = int(n * (1.0 - fraction))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={fraction} leaves no training or no validation samples out of {n}")
    head = (lambda a: to_host_array(a)[:cut])
    tail = (lambda a: to_host_array(a)[cut:])
    return (_map(head, x), _map(head, y), _map(head, sample_weight)), \
        (_map(tail, x), _map(tail, y), _map(tail, sample_weight))
