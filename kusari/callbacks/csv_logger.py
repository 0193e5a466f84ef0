"""``CSVLogger``: write each epoch's logs as a row of a CSV file.

Durability choice: the whole file is rewritten atomically at every epoch end (``kusari.io_utils.atomic_write``:
temp file in the same folder, fsync, ``os.replace``). Appending and flushing a row is cheaper, but a crash or a
full disk in the middle of ``write`` can leave a torn last row, and ``flush`` alone does not reach the disk.
With the rewrite, a reader (or the next run with ``append=True``) sees the file either before or after the epoch,
never in between. The cost is writing the file once per epoch — a few KB for hundreds of epochs, nothing next to
an epoch of training.
"""
import collections.abc
import csv
import io
import os

from kusari.callbacks.callback import Callback
from kusari.io_utils import atomic_write

__all__ = ["CSVLogger"]


def _handle_value(v):
    if isinstance(v, str):
        return v
    if getattr(v, "ndim", None) == 0:
        return v.item() if hasattr(v, "item") else v
    if isinstance(v, collections.abc.Iterable) or getattr(v, "ndim", 0):
        items = v.tolist() if hasattr(v, "tolist") else list(v)
        return f'"[{", ".join(map(str, items))}]"'
    return v


class CSVLogger(Callback):
    """Stream epoch results to a CSV file: a header ``epoch,<sorted log keys>`` then one row per epoch.

    Args:
        filename: the CSV file, e.g. ``"run/log.csv"``.
        separator: the field separator.
        append: keep an existing file's rows and add to them (no second header); otherwise start afresh.

    As in Keras, the columns are fixed at the first epoch (sorted keys; if there are no ``val_`` keys yet, the
    ``val_`` twins are added so that validation metrics that appear later have a column); a missing value is
    written ``NA``; ``epoch`` is 0-based.

    >>> import os, tempfile
    >>> from kusari.callbacks import CSVLogger
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> logger = CSVLogger(path)
    >>> logger.on_train_begin()
    >>> logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
    >>> logger.on_train_end()
    >>> print(open(path).read(), end="")
    epoch,loss,val_loss
    0,0.5,0.75
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys = None
        self.append_header = True
        self._text = ""

    def on_train_begin(self, logs=None):
        self.keys = None
        self.append_header = True
        self._text = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as f:
                self._text = f.read()
            self.append_header = not self._text.strip()
            if self._text and not self._text.endswith("\n"):
                self._text += "\n"       # never glue our first row onto a line we did not write
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(f"val_{k}" for k in list(self.keys))
        buf = io.StringIO()

        class Dialect(csv.excel):
            delimiter = self.sep

        writer = csv.DictWriter(buf, fieldnames=["epoch"] + self.keys, dialect=Dialect)
        if self.append_header:
            writer.writeheader()
            self.append_header = False
        row = {"epoch": epoch}
        row.update((k, _handle_value(logs.get(k, "NA"))) for k in self.keys)
        writer.writerow(row)
        self._text += buf.getvalue()
        self._write()

    def on_train_end(self, logs=None):
        self.keys = None

    def _write(self):
        with atomic_write(self.filename, "w", newline="") as f:
            f.write(self._text)
