"""Data: ``Dataset`` pipelines, the adapters ``fit`` uses, and the datasets (``kusari.data.datasets``)."""
from kusari.data.dataset import Dataset

__all__ = ["Dataset"]
