"""Fashion-MNIST (Zalando): 60,000 train + 10,000 test 28x28 grayscale clothing images.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.  The four gzipped IDX files are
downloaded from the folder Keras uses and cached under
``~/.kusari/datasets/fashion-mnist``.

License: copyright Zalando SE, MIT license.
"""
import gzip
import os

import numpy as np

from kusari.data.datasets._download import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")
# SHA-256 of each archive, as Keras lists them.
FILE_HASHES = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}


def load_data():
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``.

    ``x``: ``uint8`` arrays of shape ``(60000, 28, 28)`` / ``(10000, 28, 28)``;
    ``y``: ``uint8`` labels 0..9 of shape ``(60000,)`` / ``(10000,)``.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    paths = {name: get_file(name, origin=ORIGIN_FOLDER + name, cache_subdir=CACHE_SUBDIR,
                            file_hash=FILE_HASHES[name])
             for name in FILE_HASHES}
    y_train = read_idx(paths["train-labels-idx1-ubyte.gz"])
    x_train = read_idx(paths["train-images-idx3-ubyte.gz"])
    y_test = read_idx(paths["t10k-labels-idx1-ubyte.gz"])
    x_test = read_idx(paths["t10k-images-idx3-ubyte.gz"])
    return (x_train, y_train), (x_test, y_test)


def read_idx(path):
    """Read a (gzipped) IDX file of unsigned bytes into an array of the shape its header gives.

    >>> read_idx("train-images-idx3-ubyte.gz").shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but the file holds "
                         f"{len(data) - header} bytes of data")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()
