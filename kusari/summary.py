"""TensorBoard summaries from plain Python (custom loops): ``kusari.summary.create_file_writer(log_dir)``.

The writer needs the optional ``tensorboard`` extra (tensorboardX).
"""
from kusari.callbacks.tensorboard import create_file_writer

__all__ = ["create_file_writer"]
