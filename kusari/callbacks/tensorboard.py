"""``TensorBoard`` callback and ``create_file_writer`` for custom loops, on tensorboardX (the optional
``kusari[tensorboard]`` extra; imported only when something is written).

Event layout is Keras': ``<log_dir>/train`` and ``<log_dir>/validation`` runs, scalars ``epoch_<metric>`` per epoch
(validation ones without the ``val_`` prefix, in the validation run), ``batch_<metric>`` per batch when
``update_freq`` asks for it, ``epoch_learning_rate``, and weight histograms tagged ``<weight path>/histogram``.

>>> import tempfile
>>> from kusari.callbacks import create_file_writer
>>> with create_file_writer(tempfile.mkdtemp()) as w:
...     for step in range(3):
...         w.scalar("loss", 1.0 / (step + 1), step=step)
"""
import os
import time

from kusari.callbacks.callback import Callback, _pythonify_logs

__all__ = ["TensorBoard", "create_file_writer", "SummaryFileWriter"]

_INSTALL_HINT = 'TensorBoard logging needs tensorboardX: pip install "kusari[tensorboard]"'


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return SummaryWriter


def _to_numpy(values):
    if hasattr(values, "numpy"):
        return values.numpy()
    import numpy   # only for lists / scalars; tensorboardX needs numpy anyway

    return numpy.asarray(values)


def _to_scalar(value):
    if hasattr(value, "numpy") and not isinstance(value, (int, float)):
        value = value.numpy()
    return float(value)


class SummaryFileWriter:
    """Writes TensorBoard events into one run folder; made by ``create_file_writer(log_dir)``.

    ``scalar(name, value, step)``, ``histogram(name, values, step)`` (a tensor, array or list), ``text``,
    ``image``, ``flush()``, ``close()``; also a context manager (closes on exit).

    >>> import tempfile
    >>> from kusari.callbacks import create_file_writer
    >>> w = create_file_writer(tempfile.mkdtemp())
    >>> w.histogram("weights", [0.1, 0.2, 0.2, 0.5], step=0)
    >>> w.close()
    """

    def __init__(self, log_dir, flush_secs=120, max_queue=10, filename_suffix=""):
        self.log_dir = os.fspath(log_dir)
        self._writer = _summary_writer_class()(logdir=self.log_dir, flush_secs=flush_secs, max_queue=max_queue,
                                               filename_suffix=filename_suffix)
        self._closed = False

    def scalar(self, name, value, step):
        """Record a scalar (a number or one-element tensor) at ``step``."""
        self._writer.add_scalar(name, _to_scalar(value), global_step=int(step))

    def histogram(self, name, values, step, bins="tensorflow"):
        """Record the distribution of ``values`` at ``step``."""
        self._writer.add_histogram(name, _to_numpy(values).reshape(-1), global_step=int(step), bins=bins)

    def text(self, name, text, step=0):
        """Record a piece of text (Markdown) at ``step``."""
        self._writer.add_text(name, str(text), global_step=int(step))

    def image(self, name, image, step, dataformats="HWC"):
        """Record an image (values in [0, 1] for floats) at ``step``; ``dataformats`` as in tensorboardX."""
        self._writer.add_image(name, _to_numpy(image), global_step=int(step), dataformats=dataformats)

    def images(self, name, images, step, dataformats="NHWC"):
        """Record a batch of images at ``step``."""
        self._writer.add_images(name, _to_numpy(images), global_step=int(step), dataformats=dataformats)

    def flush(self):
        """Write pending events to disk."""
        if not self._closed:
            self._writer.flush()

    def close(self):
        """Flush and close the event file (idempotent)."""
        if not self._closed:
            self._writer.close()
            self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def create_file_writer(log_dir, flush_secs=120, max_queue=10, filename_suffix=""):
    """A ``SummaryFileWriter`` on ``log_dir`` (created if missing), like ``tf.summary.create_file_writer``.

    >>> import tempfile
    >>> from kusari.callbacks import create_file_writer
    >>> writer = create_file_writer(tempfile.mkdtemp())
    >>> writer.scalar("loss", 0.5, step=1)
    >>> writer.close()
    """
    return SummaryFileWriter(log_dir, flush_secs=flush_secs, max_queue=max_queue, filename_suffix=filename_suffix)


class TensorBoard(Callback):
    """Log metrics, the learning rate and weight histograms for TensorBoard (``tensorboard --logdir logs``).

    Args:
        log_dir: the folder; runs go to ``log_dir/train`` and ``log_dir/validation``.
        histogram_freq: every this many epochs, log a histogram of each weight (0: never).
        write_graph: log the model's text summary (a define-by-run model has no static graph to draw).
        write_images: with ``histogram_freq``, also log 1-D/2-D/3-D weights as images.
        write_steps_per_second: log ``epoch_steps_per_second`` (and ``batch_steps_per_second`` per batch).
        update_freq: ``"epoch"``, ``"batch"`` or an integer N: also log ``batch_<metric>`` every N batches
            (the step is the global batch count since the start of training, 1-based).
        profile_batch, embeddings_freq, embeddings_metadata: accepted for Keras compatibility; profiling and
            embeddings are not supported (a non-zero value raises ``ValueError``).

    Event files are created lazily, on the first write. The model is expected to have ``optimizer``
    (``learning_rate``) and ``weights`` (with ``.path`` / ``.name`` and ``.numpy()``); both are optional.

    >>> import os, tempfile
    >>> from kusari.callbacks import TensorBoard
    >>> tb = TensorBoard(log_dir=tempfile.mkdtemp())
    >>> tb.on_train_begin()
    >>> tb.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.7})
    >>> tb.on_train_end()
    >>> sorted(os.listdir(tb.log_dir))
    ['train', 'validation']
    """

    _supports_backend_logs = True     # batch logs are converted only on the batches that use them

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=False, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        _summary_writer_class()   # fail early, with the install hint, if tensorboardX is missing
        if update_freq != "epoch" and update_freq != "batch" and (
                not isinstance(update_freq, int) or isinstance(update_freq, bool) or update_freq <= 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, got "
                             f"{update_freq!r}")
        if profile_batch:
            raise ValueError("TensorBoard: profiling is not supported by kusari; use profile_batch=0")
        if embeddings_freq:
            raise ValueError("TensorBoard: embeddings are not supported by kusari; use embeddings_freq=0")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start_time = None
        self._epoch_batches = 0
        self._batch_start_time = None
        self._graph_written = False

    # -- writers --
    def _writer(self, which):
        if which not in self._writers:
            folder = self._train_dir if which == "train" else self._val_dir
            self._writers[which] = create_file_writer(folder)
        return self._writers[which]

    def _close_writers(self):
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def set_model(self, model):
        super().set_model(model)
        self._graph_written = False

    # -- hooks --
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.write_graph and not self._graph_written:
            self._write_model_summary()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = time.time()
        self._epoch_batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        self._epoch_batches += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        logs = _pythonify_logs(logs)       # read only on the batches it writes (see _supports_backend_logs)
        writer = self._writer("train")
        step = self._global_train_batch
        if self.write_steps_per_second and self._batch_start_time is not None:
            elapsed = time.time() - self._batch_start_time
            if elapsed > 0:
                writer.scalar("batch_steps_per_second", 1.0 / elapsed, step)
        for name, value in (logs or {}).items():
            if _is_scalar(value):
                writer.scalar(f"batch_{name}", value, step)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        if not logs or iterations is None:
            return
        step = int(_to_scalar(iterations))
        writer = self._writer("val")
        for name, value in logs.items():
            if _is_scalar(value):
                writer.scalar(f"evaluation_{name}_vs_iterations", value, step)

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for w in self._writers.values():
            w.flush()

    # -- writing --
    def _log_epoch_metrics(self, epoch, logs):
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_") and _is_scalar(v)}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_") and _is_scalar(v)}
        lr = self._learning_rate()
        if lr is not None:
            train_logs.setdefault("learning_rate", lr)
        if self.write_steps_per_second and self._epoch_start_time is not None:
            elapsed = time.time() - self._epoch_start_time
            if elapsed > 0:
                train_logs["steps_per_second"] = self._epoch_batches / elapsed
        if train_logs:
            writer = self._writer("train")
            for name, value in train_logs.items():
                writer.scalar(f"epoch_{name}", value, epoch)
        if val_logs:
            writer = self._writer("val")
            for name, value in val_logs.items():
                writer.scalar(f"epoch_{name}", value, epoch)

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        lr = getattr(optimizer, "learning_rate", None)
        if lr is None:
            return None
        try:
            return float(_to_scalar(lr))
        except (TypeError, ValueError):
            return None

    def _log_weights(self, epoch):
        weights = getattr(self.model, "weights", None) or []
        writer = self._writer("train")
        seen = {}
        for i, w in enumerate(weights):
            name = getattr(w, "path", None) or getattr(w, "name", None) or f"weight_{i}"
            name = str(name).replace(":", "_")
            if name in seen:            # two weights with one name: keep both
                seen[name] += 1
                name = f"{name}_{seen[name]}"
            else:
                seen[name] = 0
            values = _to_numpy(w)
            if values.size == 0:
                continue
            writer.histogram(f"{name}/histogram", values, epoch)
            if self.write_images:
                self._log_weight_as_image(writer, values, f"{name}/image", epoch)

    @staticmethod
    def _log_weight_as_image(writer, w, name, epoch):
        w = w.squeeze()
        if w.ndim == 1:                 # bias: a 1-pixel-high strip
            w = w.reshape(1, -1)
        if w.ndim == 2:                 # dense kernel, wide side horizontal
            if w.shape[0] > w.shape[1]:
                w = w.T
            imgs = w[None, :, :, None]
        elif w.ndim == 3:               # conv1d kernel (k, in, out): one image per output channel
            imgs = w.transpose(2, 0, 1)[:, :, :, None]
        else:
            return                      # 4-D and up: no sensible image (as in Keras)
        lo, hi = float(imgs.min()), float(imgs.max())
        imgs = (imgs - lo) / (hi - lo) if hi > lo else imgs * 0.0
        writer.images(name, imgs.astype("float32"), epoch, dataformats="NHWC")

    def _write_model_summary(self):
        summary = getattr(self.model, "summary", None)
        if summary is None:
            return
        lines = []
        try:
            summary(print_fn=lambda line="", *a, **k: lines.append(str(line)))
        except Exception:
            return
        if lines:
            text = "\n".join(lines)
            self._writer("train").text("keras", "```\n" + text + "\n```", 0)
            self._graph_written = True


def _is_scalar(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return getattr(value, "ndim", None) == 0 or getattr(value, "size", None) == 1
