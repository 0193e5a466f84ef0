"""``LambdaCallback``: a callback made of plain functions."""
from kusari.callbacks.callback import Callback

__all__ = ["LambdaCallback"]

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin",
          "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
          "on_predict_batch_end")


class LambdaCallback(Callback):
    """Build a callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Functions get the hook's positional arguments: ``(epoch, logs)`` for epoch hooks, ``(logs)`` for
    begin/end hooks, ``(batch, logs)`` for batch hooks. Any other hook name may be given as a keyword.

    >>> from kusari.callbacks import LambdaCallback
    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: print("epoch", epoch, logs["loss"]))
    >>> cb.on_epoch_end(0, {"loss": 0.25})
    epoch 0 0.25
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        unknown = [k for k in kwargs if k not in _HOOKS]
        if unknown:
            raise ValueError(f"LambdaCallback: unknown hook name(s) {unknown}; valid names: {list(_HOOKS)}")
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got {type(fn).__name__}")
            setattr(self, name, fn)
