"""``TerminateOnNaN``: stop training when the loss becomes NaN or infinite."""
import math

from kusari.callbacks.callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's ``loss`` is NaN or infinite.

    Args:
        raise_error: raise ``RuntimeError`` at once instead of setting ``model.stop_training`` (then no other
            callback's ``on_train_end`` runs, which keeps e.g. a backup intact).

    >>> from kusari.callbacks import TerminateOnNaN
    >>> class M:
    ...     stop_training = False
    >>> cb = TerminateOnNaN()
    >>> cb.set_model(M())
    >>> cb.on_train_batch_end(7, {"loss": float("nan")})
    Batch 7: Invalid loss, terminating training
    >>> cb.model.stop_training
    True
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
