"""``MonitorCallback``: the shared "is this value an improvement?" logic of EarlyStopping, ModelCheckpoint and
ReduceLROnPlateau (internal base class, as in Keras)."""
import operator
import warnings

from kusari.callbacks.callback import Callback

# Names whose value should go up. Keras asks the metric object for its direction when it can (so do we), and
# otherwise infers "max" from "acc"/"accuracy"/"auc" in the name; the other names here are Keras metrics whose
# direction is "up" as well.
_MAXIMIZED = ("acc", "auc", "precision", "recall", "f1_score", "fbeta", "iou", "r2_score")


def infer_mode(monitor, model=None):
    """``"max"`` or ``"min"`` for a monitored name in ``mode="auto"``.

    >>> infer_mode("val_accuracy"), infer_mode("val_loss"), infer_mode("mae")
    ('max', 'min', 'min')
    """
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    try:
        metrics = model.metrics if model is not None else None
    except Exception:          # an unbuilt model may refuse; fall back on the name
        metrics = None
    for metric in _flat_metrics(metrics):
        if getattr(metric, "name", None) == name:
            direction = getattr(metric, "direction", None) or getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                return "max" if direction == "up" else "min"
    if any(part in name for part in _MAXIMIZED):
        return "max"
    return "min"


def _flat_metrics(metrics):
    try:
        items = list(metrics or ())
    except TypeError:
        return []
    out = []
    for m in items:
        inner = getattr(m, "metrics", None)
        if inner is not None and not isinstance(m, str) and inner is not metrics:
            out.extend(_flat_metrics(inner))
        out.append(m)
    return out


class MonitorCallback(Callback):
    """Base for callbacks that watch ``logs[monitor]`` and compare it with the best value so far."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        mode = self.mode if self.mode != "auto" else infer_mode(self.monitor, self.model)
        self.monitor_op = operator.lt if mode == "min" else operator.gt
        if mode == "min":
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return self.monitor_op(value - self.min_delta, reference)
