"""MNIST handwritten digits (60,000 train + 10,000 test 28x28 grayscale images).

Downloaded on first use from the URL Keras uses and cached under
``~/.kusari/datasets`` (see ``kusari.data.datasets._download``).

License: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative
of NIST data, made available under CC BY-SA 3.0.
"""
import numpy as np

from kusari.data.datasets._download import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_NAME = "mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # sha256, as Keras lists it


def load_data(path="mnist.npz"):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``.

    ``path`` is the file name in the cache folder. ``x``: ``uint8`` arrays of
    shape ``(60000, 28, 28)`` / ``(10000, 28, 28)``, pixels 0..255; ``y``:
    ``uint8`` labels 0..9 of shape ``(60000,)`` / ``(10000,)``.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_test.shape  # doctest: +SKIP
    ((60000, 28, 28), (10000,))
    """
    fpath = get_file(path, origin=ORIGIN_FOLDER + FILE_NAME, file_hash=FILE_HASH)
    with np.load(fpath) as f:  # plain uint8 arrays: no pickle needed
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
