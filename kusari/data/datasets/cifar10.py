"""CIFAR-10: 50,000 train + 10,000 test 32x32 colour images in 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog,
7 horse, 8 ship, 9 truck.

Keras downloads ``cifar-10-python.tar.gz``, whose batches are Python pickles.
kusari avoids unpickling downloaded data, so it fetches the *binary* version
(``cifar-10-binary.tar.gz``, same host, same images) and parses its fixed-size
records with numpy, straight from the archive (nothing is extracted to disk).
"""
import tarfile

import numpy as np

from kusari.data.datasets._download import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
FILE_NAME = "cifar-10-binary.tar.gz"
# Keras lists only the hash of the pickled (python) archive; the binary archive's
# SHA-256 is not known here, so it is not verified (file_hash=None).
FILE_HASH = None
RECORD_BYTES = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue
TRAIN_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_BATCHES = ["test_batch.bin"]


def load_data():
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``.

    ``x``: ``uint8`` arrays of shape ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)``
    (``(n, 3, 32, 32)`` when ``kusari.config.image_data_format()`` is
    ``"channels_first"``), pixels 0..255; ``y``: ``uint8`` labels 0..9 of shape
    ``(50000, 1)`` / ``(10000, 1)``.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1))
    """
    fpath = get_file(FILE_NAME, origin=ORIGIN, file_hash=FILE_HASH)
    with tarfile.open(fpath, "r:gz") as tar:
        x_train, y_train = _read_batches(tar, TRAIN_BATCHES, fpath)
        x_test, y_test = _read_batches(tar, TEST_BATCHES, fpath)
    if _image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (np.ascontiguousarray(x_train), y_train), (np.ascontiguousarray(x_test), y_test)


def _read_batches(tar, names, fpath):
    members = {m.name.rsplit("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
    xs, ys = [], []
    for name in names:
        if name not in members:
            raise ValueError(f"{fpath}: archive has no member {name!r}; is it cifar-10-binary.tar.gz?")
        x, y = parse_records(tar.extractfile(members[name]).read(), name)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def parse_records(data, name="<bytes>"):
    """Split CIFAR-10 binary records into images ``(n, 3, 32, 32)`` and labels ``(n, 1)``.

    >>> x, y = parse_records(bytes(2 * 3073))
    >>> x.shape, y.shape
    ((2, 3, 32, 32), (2, 1))
    """
    if len(data) % RECORD_BYTES:
        raise ValueError(f"{name}: {len(data)} bytes is not a whole number of "
                         f"{RECORD_BYTES}-byte CIFAR-10 records")
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, :1].copy()


def _image_data_format():
    try:
        from kusari import config
    except ImportError:
        return "channels_last"
    return config.image_data_format()
