"""UCI optical recognition of handwritten digits: 1,797 8x8 images, bundled (no download).

The data ship inside kusari (``digits.npz``, taken from scikit-learn's copy);
see ``DIGITS_LICENSE.txt`` for attribution (CC BY 4.0).
"""
import os

import numpy as np

DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
NUM_SAMPLES = 1797


def load_data(test_split=0.2, seed=113):
    """Load the digits as ``(x_train, y_train), (x_test, y_test)``.

    ``x``: ``uint8`` arrays of shape ``(n, 8, 8)`` holding the pixel counts as
    stored, integers in ``0..16`` (not rescaled to 0..255 -- divide by 16.0 to
    get ``[0, 1]``). ``y``: ``uint8`` labels ``0..9`` of shape ``(n,)``.

    The samples are shuffled with ``np.random.RandomState(seed)`` and the last
    ``round(test_split * 1797)`` of them form the test set, so the split is
    the same for the same ``seed`` (it is not stratified).

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape, int(x_train.max())
    ((1438, 8, 8), (359, 8, 8), 16)
    """
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"digits.load_data: test_split must be in [0, 1), got {test_split!r}")
    with np.load(DATA_PATH) as f:
        x, y = f["x"], f["y"]
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_train = len(x) - int(round(test_split * len(x)))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
