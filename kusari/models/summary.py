"""The Keras summary table, for every model style.

Functional and Sequential models with an Input report shapes from the graph; subclassed models (and Sequential
without an Input) report the shapes their layers produced in the last real call — so dynamic models get a
summary too.
"""


def _fmt_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024.0


def _layer_shape(layer, model):
    graph_known = getattr(model, "_inputs_struct", None) is not None or getattr(model, "_input_layer", None) is not None
    if layer._inbound_nodes and graph_known:
        outs = layer._inbound_nodes[-1].outputs
        return outs[0].shape if len(outs) == 1 else [o.shape for o in outs]
    if layer._last_output_shape is not None:
        s = layer._last_output_shape
        return (None,) + tuple(s[1:]) if isinstance(s, tuple) and s else s
    return None


def _rows(model):
    layers = list(model.layers)   # Sequential's excludes the InputLayer, as Keras' summary does
    connected = hasattr(model, "_nodes")
    rows = []
    for layer in layers:
        row = [f"{layer.name} ({type(layer).__name__})", _fmt_shape(_layer_shape(layer, model)),
               f"{layer.count_params():,}" if layer.built or layer.weights else "0 (unbuilt)"]
        if connected:
            parents = []
            for node in layer._inbound_nodes:
                if any(node is n for n in model._nodes):
                    parents.extend(f"{t.node.layer.name}[{t.node.index}][{t.index}]" for t in node.inputs)
            row.append(", ".join(parents) if parents else "-")
        rows.append(row)
    return rows, connected


def summary_text(model, line_length=None, show_trainable=False):
    rows, connected = _rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 if rows else len(h) + 2 for i, h in enumerate(headers)]
    widths = [max(w, m) for w, m in zip(widths, [31, 24, 15, 20][:len(headers)])]
    align = ["<", "<", ">", "<"]

    def line(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    def row(cells, sep="│"):
        return sep + sep.join(f" {c:{align[i]}{widths[i] - 2}} " for i, c in enumerate(cells)) + sep

    out = [f'Model: "{model.name}"', line("┏", "┳", "┓", "━"), row(headers, "┃"), line("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        out.append(row(r))
        out.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
    if not rows:
        out.append(line("└", "┴", "┘", "─"))
    weights = model.weights
    trainable = model.trainable_weights
    total = sum(w.size for w in weights)
    n_train = sum(w.size for w in trainable)
    size_total = sum(w.size * w.data.dtype.itemsize for w in weights)
    size_train = sum(w.size * w.data.dtype.itemsize for w in trainable)
    out.append(f" Total params: {total:,} ({_fmt_bytes(size_total)})")
    out.append(f" Trainable params: {n_train:,} ({_fmt_bytes(size_train)})")
    out.append(f" Non-trainable params: {total - n_train:,} ({_fmt_bytes(size_total - size_train)})")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        opt_vars = [v for v in optimizer.variables]
        n_opt = sum(v.size for v in opt_vars)
        out.append(f" Optimizer params: {n_opt:,} ({_fmt_bytes(sum(v.size * v.data.dtype.itemsize for v in opt_vars))})")
    return "\n".join(out)
