"""Small datasets: ``digits`` ships with kusari; the others download on first use.

>>> from kusari.data.datasets import digits
>>> (x_train, y_train), (x_test, y_test) = digits.load_data()
>>> x_train.shape
(1438, 8, 8)
"""
from kusari.data.datasets import cifar10, digits, fashion_mnist, imdb, mnist
from kusari.data.datasets._download import ChecksumError, DownloadError, get_file

__all__ = ["cifar10", "digits", "fashion_mnist", "imdb", "mnist", "get_file", "DownloadError", "ChecksumError"]
