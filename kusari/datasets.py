"""Keras' ``keras.datasets`` names: ``kusari.datasets.mnist.load_data()``, ``kusari.datasets.digits`` (bundled)."""
from kusari.data.datasets import cifar10, digits, fashion_mnist, imdb, mnist

__all__ = ["cifar10", "digits", "fashion_mnist", "imdb", "mnist"]
