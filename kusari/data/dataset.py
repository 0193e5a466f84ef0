"""``Dataset``: a small, re-iterable pipeline of batches (a subset of ``tf.data`` that ``fit`` understands).

>>> import numpy as np
>>> from kusari.data import Dataset
>>> ds = Dataset.from_tensor_slices((np.arange(10.0), np.arange(10))).shuffle(10, seed=0).batch(4)
>>> [len(b[0]) for b in ds]
[4, 4, 2]
"""
import numpy as np


def _slice(structure, index):
    if isinstance(structure, tuple):
        return tuple(_slice(s, index) for s in structure)
    if isinstance(structure, list):
        return [_slice(s, index) for s in structure]
    if isinstance(structure, dict):
        return {k: _slice(v, index) for k, v in structure.items()}
    return structure[index]


def _length(structure):
    if isinstance(structure, (tuple, list)):
        lengths = {_length(s) for s in structure}
    elif isinstance(structure, dict):
        lengths = {_length(v) for v in structure.values()}
    else:
        return len(structure)
    if len(lengths) != 1:
        raise ValueError(f"Dataset.from_tensor_slices: all arrays need the same first dimension, got {sorted(lengths)}")
    return lengths.pop()


def _as_arrays(structure):
    if isinstance(structure, tuple):
        return tuple(_as_arrays(s) for s in structure)
    if isinstance(structure, list):
        return [_as_arrays(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _as_arrays(v) for k, v in structure.items()}
    return np.asarray(structure)


class Dataset:
    """An iterable of batches built by chaining ``from_tensor_slices → shuffle → batch → map → repeat/take``."""

    def __init__(self, make_iter, length=None):
        self._make_iter = make_iter
        self._length = length

    @classmethod
    def from_tensor_slices(cls, tensors):
        arrays = _as_arrays(tensors)
        n = _length(arrays)
        return _Slices(arrays, n)

    @classmethod
    def from_generator(cls, generator_fn, length=None):
        """A dataset that calls ``generator_fn()`` afresh for each pass."""
        return cls(generator_fn, length)

    def __iter__(self):
        return iter(self._make_iter())

    def __len__(self):
        if self._length is None:
            raise TypeError("this Dataset's length is unknown")
        return self._length

    def cardinality(self):
        return -1 if self._length is None else self._length

    def map(self, fn):
        return Dataset(lambda: (fn(*e) if isinstance(e, tuple) else fn(e) for e in self), self._length)

    def repeat(self, count=None):
        def gen():
            i = 0
            while count is None or i < count:
                yield from self
                i += 1
        return Dataset(gen, None if count is None or self._length is None else self._length * count)

    def take(self, count):
        def gen():
            for i, e in enumerate(self):
                if i >= count:
                    return
                yield e
        return Dataset(gen, count if self._length is None else min(count, self._length))

    def prefetch(self, buffer_size=None):
        return self


class _Slices(Dataset):
    """Element-wise slices of arrays; ``batch`` and ``shuffle`` work on whole arrays (fast, vectorised)."""

    def __init__(self, arrays, n, order_seed=None, shuffled=False, batch_size=None, drop_remainder=False):
        self.arrays, self.n = arrays, n
        self.shuffled, self.order_seed = shuffled, order_seed
        self.batch_size, self.drop_remainder = batch_size, drop_remainder
        self._epoch = 0
        if batch_size is None:
            length = n
        else:
            length = n // batch_size if drop_remainder else -(-n // batch_size)
        super().__init__(self._iterate, length)

    def _iterate(self):
        order = np.arange(self.n)
        if self.shuffled:
            rng = np.random.default_rng(None if self.order_seed is None else (self.order_seed, self._epoch))
            order = rng.permutation(self.n)
        self._epoch += 1
        if self.batch_size is None:
            for i in order:
                yield _slice(self.arrays, i)
            return
        stop = self.n - (self.n % self.batch_size if self.drop_remainder else 0)
        for start in range(0, stop, self.batch_size):
            yield _slice(self.arrays, order[start:start + self.batch_size])

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True):
        """Shuffle the elements (the whole set: buffer_size is accepted for tf.data compatibility)."""
        return _Slices(self.arrays, self.n, seed, True, self.batch_size, self.drop_remainder)

    def batch(self, batch_size, drop_remainder=False):
        if self.batch_size is not None:
            raise ValueError("this Dataset is already batched")
        return _Slices(self.arrays, self.n, self.order_seed, self.shuffled, int(batch_size), drop_remainder)
