"""What ``compile(loss=..., metrics=..., loss_weights=...)`` becomes: per-output losses and metrics, matched to the
model's outputs by position or by output name, as Keras does."""
from kusari import ops
from kusari.tensor import Tensor


def _as_list(struct, names, what):
    """A per-output list from a single item, a list or a dict keyed by output name."""
    n = len(names)
    if isinstance(struct, dict):
        unknown = [k for k in struct if k not in names]
        if unknown:
            raise ValueError(f"compile({what}=...) has keys {unknown} that are not output names; outputs: {names}")
        return [struct.get(name) for name in names]
    if isinstance(struct, (list, tuple)) and n > 1:
        if len(struct) != n:
            raise ValueError(f"compile({what}=...) has {len(struct)} entries for a model with {n} outputs ({names})")
        return list(struct)
    return [struct] * n


def _flat_outputs(y):
    if isinstance(y, dict):
        return list(y.values())
    if isinstance(y, (list, tuple)):
        return list(y)
    return [y]


def _match_targets(y_true, y_pred, names):
    """y_true as a list aligned with the flat list of outputs."""
    preds = _flat_outputs(y_pred)
    if isinstance(y_true, dict):
        missing = [k for k in names if k not in y_true]
        if missing:
            raise ValueError(f"y has no targets for outputs {missing}; outputs: {names}")
        trues = [y_true[k] for k in names]
    elif isinstance(y_true, (list, tuple)) and len(preds) > 1:
        trues = list(y_true)
    else:
        trues = [y_true]
    if len(trues) != len(preds):
        raise ValueError(f"got {len(trues)} target(s) for {len(preds)} model output(s)")
    return [t if t is None or isinstance(t, Tensor) else Tensor(t) for t in trues], preds


def _sample_weight_list(sample_weight, names):
    if sample_weight is None:
        return [None] * len(names)
    if isinstance(sample_weight, dict):
        return [sample_weight.get(n) for n in names]
    if isinstance(sample_weight, (list, tuple)) and len(names) > 1:
        return list(sample_weight)
    return [sample_weight] * len(names)


class _FunctionLoss:
    """A per-sample loss function reduced like Keras' ``sum_over_batch_size``."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", "loss")

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.fn(y_true, y_pred)
        if sample_weight is not None:
            sw = sample_weight if isinstance(sample_weight, Tensor) else Tensor(sample_weight)
            sw = ops.cast(sw, values.dtype)
            while sw.ndim < values.ndim:
                sw = ops.expand_dims(sw, -1)
            values = values * sw
        return ops.sum(values) / max(values.size, 1)


class CompileLoss:
    def __init__(self, loss, loss_weights, output_names):
        from kusari import losses
        self.names = list(output_names)
        self.losses = []
        for item in _as_list(loss, self.names, "loss"):
            if item is None:
                self.losses.append(None)
                continue
            obj = losses.get(item)
            if not hasattr(obj, "reduction") and not hasattr(obj, "get_config") and callable(obj):
                obj = _FunctionLoss(obj)
            self.losses.append(obj)
        if all(l is None for l in self.losses):
            raise ValueError("compile(): no loss given for any output")
        weights = _as_list(loss_weights, self.names, "loss_weights") if loss_weights is not None else \
            [None] * len(self.names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.specs = loss

    def __call__(self, y_true, y_pred, sample_weight=None):
        """(total loss, [per-output loss or None])."""
        trues, preds = _match_targets(y_true, y_pred, self.names)
        sws = _sample_weight_list(sample_weight, self.names)
        total, parts = None, []
        for loss, w, t, p, sw in zip(self.losses, self.weights, trues, preds, sws):
            if loss is None or t is None:
                parts.append(None)
                continue
            value = loss(t, p, sample_weight=sw) if sw is not None else loss(t, p)
            parts.append(value)
            term = value * w if w != 1.0 else value
            total = term if total is None else total + term
        return total, parts


class CompileMetrics:
    def __init__(self, metrics, weighted_metrics, output_names, loss_specs):
        self.names = list(output_names)
        self.specs = metrics
        self.weighted_specs = weighted_metrics
        self.loss_specs = loss_specs
        self.built = False
        self.per_output = []

    def build(self, trues, preds):
        from kusari import metrics as M
        per_output = []
        specs = _as_list(self.specs, self.names, "metrics") if self.specs is not None else [None] * len(self.names)
        wspecs = _as_list(self.weighted_specs, self.names, "weighted_metrics") \
            if self.weighted_specs is not None else [None] * len(self.names)
        losses = _as_list(self.loss_specs, self.names, "loss") if self.loss_specs is not None else \
            [None] * len(self.names)
        for i, (spec, wspec, loss, t, p) in enumerate(zip(specs, wspecs, losses, trues, preds)):
            objs = []
            for weighted, group in ((False, spec), (True, wspec)):
                if group is None:
                    continue
                for m in (group if isinstance(group, (list, tuple)) else [group]):
                    if isinstance(m, str) and m in ("accuracy", "acc"):
                        obj = M.resolve_accuracy(loss, tuple(t.shape), tuple(p.shape))
                        obj.name = m
                    elif isinstance(m, str) and m in ("crossentropy", "ce"):
                        obj = M.get("categorical_crossentropy")
                    else:
                        obj = M.get(m)
                    if len(self.names) > 1:
                        obj.name = f"{self.names[i]}_{obj.name}"
                    objs.append((obj, weighted))
            per_output.append(objs)
        self.per_output = per_output
        self.built = True

    @property
    def metrics(self):
        return [m for objs in self.per_output for m, _ in objs]

    def update_state(self, y_true, y_pred, sample_weight=None):
        trues, preds = _match_targets(y_true, y_pred, self.names)
        if not self.built:
            self.build(trues, preds)
        sws = _sample_weight_list(sample_weight, self.names)
        for objs, t, p, sw in zip(self.per_output, trues, preds, sws):
            if t is None:
                continue
            for m, weighted in objs:
                if weighted and sw is not None:
                    m.update_state(t, p, sample_weight=sw)
                else:
                    m.update_state(t, p)
