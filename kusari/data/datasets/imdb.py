"""IMDB movie-review sentiment: 25,000 train + 25,000 test reviews as word-index lists.

Words are indexed by frequency (1 = most frequent word in the training set).
The data come from Keras' ``imdb.npz``, whose review arrays are numpy object
arrays, i.e. pickles.  kusari does not unpickle them: ``_object_npy`` reads
them with a restricted parser that builds only ints, lists and numpy arrays,
and the file's SHA-256 is checked first.
"""
import json
import zipfile

import numpy as np

from kusari.data.datasets._download import get_file
from kusari.data.datasets._object_npy import read_npy

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_NAME = "imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"  # sha256, as Keras lists it
WORD_INDEX_NAME = "imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # md5 -- Keras lists only an MD5 for this file


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load IMDB as ``(x_train, y_train), (x_test, y_test)``, with Keras' options.

    ``x``: 1-D object arrays (25,000 entries each) of Python lists of word
    indices; each list starts with ``start_char`` (unless None) and words are
    shifted up by ``index_from``. Words outside ``[skip_top, num_words)`` become
    ``oov_char`` (or are dropped when ``oov_char`` is None); with ``maxlen``, only
    reviews shorter than ``maxlen`` are kept. ``y``: integer labels, 1 positive,
    0 negative. Both splits are shuffled with ``np.random.RandomState(seed)``.

    >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
    >>> len(x_train), x_train[0][:1]  # doctest: +SKIP
    (25000, [1])
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognised arguments {sorted(kwargs)}")
    fpath = get_file(path, origin=ORIGIN_FOLDER + FILE_NAME, file_hash=FILE_HASH)
    x_train, y_train, x_test, y_test = _read_npz(fpath)

    rng = np.random.RandomState(seed)
    order = rng.permutation(len(x_train))
    x_train, y_train = x_train[order], y_train[order]
    order = rng.permutation(len(x_test))
    x_test, y_test = x_test[order], y_test[order]

    x_train = [_shift(x, start_char, index_from) for x in x_train]
    x_test = [_shift(x, start_char, index_from) for x in x_test]
    if maxlen:
        x_train, y_train = _drop_long(x_train, y_train, maxlen)
        x_test, y_test = _drop_long(x_test, y_test, maxlen)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; increase maxlen")

    if not num_words:
        num_words = max(max(x, default=0) for x in x_train + x_test)
    x_train = [_limit(x, skip_top, num_words, oov_char) for x in x_train]
    x_test = [_limit(x, skip_top, num_words, oov_char) for x in x_test]
    return (_object_array(x_train), y_train), (_object_array(x_test), y_test)


def get_word_index(path="imdb_word_index.json"):
    """Download (once) and return the dict mapping each word to its frequency rank.

    Add ``index_from`` (3 by default) to a rank to get the value used in ``load_data``.

    >>> index = get_word_index()  # doctest: +SKIP
    >>> index["the"]  # doctest: +SKIP
    1
    """
    fpath = get_file(path, origin=ORIGIN_FOLDER + WORD_INDEX_NAME, file_hash=WORD_INDEX_HASH)
    with open(fpath, encoding="utf8") as f:
        return json.load(f)


def _read_npz(fpath):
    with zipfile.ZipFile(fpath) as zf:
        names = set(zf.namelist())
        arrays = []
        for key in ("x_train", "y_train", "x_test", "y_test"):
            if key + ".npy" not in names:
                raise ValueError(f"{fpath}: no array {key!r} in the archive")
            with zf.open(key + ".npy") as f:
                arrays.append(read_npy(f))
    return arrays


def _shift(seq, start_char, index_from):
    words = [int(w) + index_from for w in seq]
    return words if start_char is None else [start_char] + words


def _drop_long(seqs, labels, maxlen):
    keep = [i for i, x in enumerate(seqs) if len(x) < maxlen]
    return [seqs[i] for i in keep], labels[keep]


def _limit(seq, skip_top, num_words, oov_char):
    if oov_char is None:
        return [w for w in seq if skip_top <= w < num_words]
    return [w if skip_top <= w < num_words else oov_char for w in seq]


def _object_array(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, seq in enumerate(seqs):
        out[i] = seq
    return out
