"""``Callback`` (the hooks a training loop calls) and ``CallbackList`` (calls them on a list of callbacks).

The contract is Keras 3's: ``fit`` calls ``on_train_begin``, then per epoch ``on_epoch_begin``,
``on_train_batch_begin/end`` per batch, the ``on_test_*`` hooks for validation, ``on_epoch_end(epoch, logs)`` with
the epoch's metrics (validation ones prefixed ``val_``), and finally ``on_train_end``. ``evaluate`` and ``predict``
call the ``on_test_*`` and ``on_predict_*`` hooks. A callback sees the model through ``self.model`` and the run's
settings (``epochs``, ``steps``, ``verbose``) through ``self.params``; it stops training by setting
``self.model.stop_training = True``.

>>> from kusari.callbacks import Callback, CallbackList
>>> class Printer(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(epoch, logs, self.params["epochs"])
>>> cbs = CallbackList([Printer()], epochs=3)
>>> cbs.on_epoch_end(0, {"loss": 1})
0 {'loss': 1.0} 3
"""
from kusari.tensor import Tensor

__all__ = ["Callback", "CallbackList"]


class Callback:
    """Base class for callbacks: override the hooks you need (each does nothing by default).

    ``set_model(model)`` and ``set_params(params)`` are called by the training loop (or by ``CallbackList``)
    before training starts. ``on_train_batch_begin/end`` call the older ``on_batch_begin/end`` names, so a
    subclass may override either. Every hook receives its logs as Python floats; a batch-end hook that is overridden
    makes ``fit`` read the step's logs back from the device each step (a host sync), so leave them alone unless
    needed. (A built-in callback that reads batch logs only now and then sets ``_supports_backend_logs = True``: its
    batch-end hooks may then get backend scalars, and it converts them with ``_pythonify_logs`` when it reads them.)

    >>> class CountBatches(Callback):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.n = 0
    ...     def on_train_batch_end(self, batch, logs=None):
    ...         self.n += 1
    >>> cb = CountBatches()
    >>> for b in range(4):
    ...     cb.on_train_batch_end(b, {"loss": 0.5})
    >>> cb.n
    4
    """

    _supports_backend_logs = False

    def __init__(self):
        self.params = {}
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    # -- fit --
    def on_train_begin(self, logs=None):
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called once at the end of ``fit`` (also after early stopping)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; ``logs`` holds the epoch's metrics, validation ones prefixed ``val_``."""

    def on_batch_begin(self, batch, logs=None):
        """Older alias of ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Older alias of ``on_train_batch_end``."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before training batch ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch; ``logs`` holds the running metrics of the epoch so far."""
        self.on_batch_end(batch, logs)

    # -- evaluate (and validation inside fit) --
    def on_test_begin(self, logs=None):
        """Called at the start of ``evaluate`` or of a validation pass."""

    def on_test_end(self, logs=None):
        """Called at the end of ``evaluate`` or of a validation pass, with its metrics."""

    def on_test_batch_begin(self, batch, logs=None):
        """Called before an evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after an evaluation batch with the running metrics."""

    # -- predict --
    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a prediction batch; ``logs`` may hold ``{"outputs": ...}``."""


def _pythonify_logs(logs, convert=True):
    """A new dict with the keys sorted (as Keras does) and nested dicts flattened into it. With ``convert``, scalar
    values (one-element Tensors, NumPy and backend scalars) become Python floats and other Tensors NumPy arrays (for
    a device array that is a host sync); other arrays and anything else are passed on unchanged."""
    result = {}
    if not logs:
        return result
    for key in sorted(logs):
        value = logs[key]
        if isinstance(value, dict):
            result.update(_pythonify_logs(value, convert))
            continue
        result[key] = _python_value(value) if convert else value
    return result


def _python_value(value):
    if isinstance(value, Tensor):
        if value.size != 1:
            return value.numpy()
        value = value.item()
    if not isinstance(value, (str, bool)) and getattr(value, "ndim", 0) == 0:
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
    return value


def _overrides(callback, hook):
    fn = getattr(callback, hook)
    return getattr(fn, "__func__", fn) is not getattr(Callback, hook)


def _reads_batch_logs(callback, hooks):
    """Whether ``callback`` needs the batch logs as floats: it overrides one of ``hooks`` (also as an instance
    attribute, as ``LambdaCallback`` does) and does not convert them itself."""
    return not callback._supports_backend_logs and any(_overrides(callback, h) for h in hooks)


_TRAIN_BATCH_END = ("on_train_batch_end", "on_batch_end")


class CallbackList(Callback):
    """Calls each hook on every callback of a list, in order; what a training loop drives.

    Args:
        callbacks: a list of ``Callback`` objects (or None).
        add_history: add a ``History`` callback if the list has none (it becomes ``model.history``).
        add_progbar: add a ``ProgbarLogger`` if the list has none.
        model: the model every callback sees as ``self.model``.
        **params: the run settings handed to each callback's ``set_params`` (``epochs``, ``steps``, ``verbose``).

    Logs passed to a hook are copied into a new dict once (keys sorted, scalars as Python floats) and that one
    dict goes to every callback in turn, so a callback that adds a key (``ReduceLROnPlateau`` adds
    ``learning_rate``) is seen by the ones after it.

    Batch-end logs are the exception (Keras 3 moves the batch-end hooks and their conversion to a worker thread unless
    a callback overrides them, for the same reason): ``fit`` hands over the step's logs as backend arrays, and they
    are converted — which waits for the device to finish the step — only if some callback reads them (it overrides
    ``on_train_batch_end`` / ``on_batch_end`` / ``on_test_batch_end`` and does not set ``_supports_backend_logs``).
    With the default callbacks (History, and a progress bar that converts only the values it prints) a compiled
    train step is dispatched without waiting for the previous one.

    Usable by hand in a custom loop:

    >>> from kusari.callbacks import CallbackList, History
    >>> class M:
    ...     stop_training = False
    >>> m = M()
    >>> cbs = CallbackList(add_history=True, model=m, epochs=2, steps=1, verbose=0)
    >>> cbs.on_train_begin()
    >>> for epoch in range(2):
    ...     cbs.on_epoch_begin(epoch)
    ...     cbs.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    >>> cbs.on_train_end()
    >>> m.history.history
    {'loss': [1.0, 0.5]}
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks = []
        for cb in callbacks:
            self._check(cb)
            self.callbacks.append(cb)
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    @staticmethod
    def _check(cb):
        if not isinstance(cb, Callback):
            raise TypeError(f"CallbackList: every callback must be a kusari.callbacks.Callback, got "
                            f"{type(cb).__name__}")

    def _add_default_callbacks(self, add_history, add_progbar):
        from kusari.callbacks.history import History
        from kusari.callbacks.progbar_logger import ProgbarLogger

        self._history = None
        self._progbar = None
        for cb in self.callbacks:
            if isinstance(cb, History):
                self._history = cb
            elif isinstance(cb, ProgbarLogger):
                self._progbar = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def append(self, callback):
        """Add a callback at the end (it gets the list's model and params)."""
        self._check(callback)
        if self._model is not None:
            callback.set_model(self._model)
        if self.params:
            callback.set_params(self.params)
        self.callbacks.append(callback)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def _call(self, hook, *args, convert=True):
        *head, logs = args
        logs = _pythonify_logs(logs, convert)
        for cb in self.callbacks:
            getattr(cb, hook)(*head, logs)

    def _call_batch_end(self, hook, batch, logs, readers):
        """A batch-end hook: the logs are converted to floats only when a callback reads them (see the class
        docstring)."""
        convert = any(_reads_batch_logs(cb, readers) for cb in self.callbacks)
        self._call(hook, batch, logs, convert=convert)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call_batch_end("on_batch_end", batch, logs, _TRAIN_BATCH_END)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch_end("on_train_batch_end", batch, logs, _TRAIN_BATCH_END)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch_end("on_test_batch_end", batch, logs, ("on_test_batch_end",))

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs, convert=False)     # the outputs, not metrics
