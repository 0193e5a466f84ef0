"""Same numbers on every backend: run one model with the same weights on several backends and compare.

>>> import numpy as np
>>> import kusari
>>> from kusari import layers
>>> from kusari.testing import check_backends
>>> kusari.set_backend("numpy")  # doctest: +ELLIPSIS
<kusari backend 'numpy' on cpu>
>>> model = kusari.Sequential([layers.Input((4,)), layers.Dense(3, activation="tanh"), layers.Dense(2)])
>>> x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
>>> report = check_backends(model, x)          # every installed backend against the first (numpy)
>>> report["reference"], report["ok"]
('numpy', True)
>>> sorted(report["backends"]["numpy"])
['grads', 'output']
"""
import numpy as np

__all__ = ["check_backends", "compare_arrays"]

# float32 tolerances by op family; check_backends' default is the loosest that a model mixing them needs
FLOAT32_TOLERANCE = {
    "elementwise": (1e-6, 1e-6),     # (rtol, atol): add, exp, tanh, … (libm differences, 1-2 ulp)
    "reduction": (1e-5, 1e-6),       # sum/mean/softmax/logsumexp: summation order differs
    "matmul": (1e-4, 1e-5),          # dot/dense/einsum: blocked accumulation order (BLAS, oneDNN, XLA)
    "conv": (1e-4, 1e-5),            # conv/pool: different algorithms (im2col vs direct vs XLA)
    "normalization": (1e-4, 1e-5),   # batch/layer norm: variance of a reduction
    "training": (1e-3, 1e-5),        # 20 optimizer steps: the differences above, compounded
}


def _tree_map(fn, x):
    if isinstance(x, dict):
        return {k: _tree_map(fn, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_tree_map(fn, v) for v in x)
    return fn(x)


def _leaves(x):
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in _leaves(x[k])]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def compare_arrays(got, want, rtol, atol):
    """``{"max_abs", "max_rel", "ok"}`` for two arrays (``ok``: ``|got - want| <= atol + rtol * |want|``)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return {"max_abs": float("inf"), "max_rel": float("inf"), "ok": False,
                "note": f"shape {got.shape} vs {want.shape}"}
    if got.size == 0:
        return {"max_abs": 0.0, "max_rel": 0.0, "ok": True}
    diff = np.abs(got - want)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / np.abs(want))
    same_nan = np.isnan(got) == np.isnan(want)
    ok = bool(np.all(same_nan) and np.all((diff <= atol + rtol * np.abs(want)) | np.isnan(want)))
    return {"max_abs": float(np.nanmax(diff)) if np.any(~np.isnan(diff)) else 0.0,
            "max_rel": float(np.nanmax(rel)) if np.any(~np.isnan(rel)) else 0.0, "ok": ok}


def _run(model, x, cotangent_seed, grads):
    import kusari
    xt = _tree_map(lambda a: kusari.tensor(a), x)
    weights = model.trainable_weights
    if not grads or not weights:
        with kusari.no_grad():
            y = model(xt, training=False)
        return [o.numpy() for o in _leaves(y)], {}
    y = model(xt, training=False)
    outs = _leaves(y)
    rng = np.random.default_rng(cotangent_seed)
    loss = None
    for o in outs:
        if not kusari.dtypes.is_float(o.dtype):
            continue
        w = kusari.tensor(rng.standard_normal(o.shape).astype(o.numpy().dtype))
        term = (o * w).sum()
        loss = term if loss is None else loss + term
    if loss is None or not loss.requires_grad:
        return [o.numpy() for o in outs], {}
    gs = kusari.grad(loss, weights, allow_unused=True)
    names = _weight_names(weights)
    return [o.detach().numpy() for o in outs], {n: (None if g is None else g.numpy()) for n, g in zip(names, gs)}


def _weight_names(weights):
    names, seen = [], {}
    for i, w in enumerate(weights):
        n = getattr(w, "path", None) or w.name or f"weight_{i}"
        seen[n] = seen.get(n, 0) + 1
        names.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return names


def check_backends(model, x, backends=None, rtol=1e-4, atol=1e-5, grads=True, raise_on_mismatch=True):
    """Run ``model(x, training=False)`` with the same weights on each backend and compare with the first.

    ``x``: NumPy array(s) (an array, or a list/tuple/dict of them, as the model takes). ``backends``: names
    (``"numpy"``, ``"torch"``, ``"torch:cuda"``, ``"jax"`` …); default: every installed backend, numpy first.
    With ``grads=True`` the gradients of ``sum(output * r)`` (``r`` a fixed random cotangent) with respect to
    every trainable weight are compared too. The model's weights are moved to each backend in turn and put back
    afterwards; the current backend is restored.

    Returns ``{"reference", "ok", "backends": {name: {"output": [stats per output], "grads": {weight: stats}}},
    "worst": {...}}`` where stats are ``compare_arrays``' dicts. Raises ``AssertionError`` naming the worst
    mismatch (backend, output or weight, max abs / rel error) unless ``raise_on_mismatch=False``.
    """
    import kusari
    from kusari import backend as _backend
    names = list(backends) if backends is not None else list(_backend.installed())
    if not names:
        raise ValueError("check_backends: no backends to compare")
    x = _tree_map(lambda a: a.numpy() if isinstance(a, kusari.Tensor) else np.asarray(a), x)
    weights = model.weights
    saved = [w.data for w in weights]
    values = [w.numpy().copy() for w in weights]
    previous = _backend.current()
    results = {}
    try:
        for name in names:
            b = _backend.set_backend(name)
            for w, v in zip(weights, values):
                w.data = b.asarray(v)
            results[name] = _run(model, x, 0, grads)
    finally:
        for w, a in zip(weights, saved):
            w.data = a
        _backend.set_backend(previous.name, previous.device)
    ref_name = names[0]
    ref_out, ref_grads = results[ref_name]
    report = {"reference": ref_name, "rtol": rtol, "atol": atol, "backends": {}, "ok": True, "worst": None}
    worst_score = -1.0
    for name in names:
        outs, gs = results[name]
        entry = {"output": [compare_arrays(o, r, rtol, atol) for o, r in zip(outs, ref_out)], "grads": {}}
        for wname, g in gs.items():
            r = ref_grads.get(wname)
            if g is None or r is None:
                entry["grads"][wname] = {"max_abs": 0.0, "max_rel": 0.0, "ok": (g is None) == (r is None)}
            else:
                entry["grads"][wname] = compare_arrays(g, r, rtol, atol)
        report["backends"][name] = entry
        checks = [(f"output {i}", s) for i, s in enumerate(entry["output"])] + \
            [(f"gradient of {w}", s) for w, s in entry["grads"].items()]
        for what, s in checks:
            score = s["max_abs"] / (atol + rtol) if s["ok"] else float("inf") if s["max_abs"] == float("inf") \
                else 1e30 + s["max_abs"]
            if score > worst_score:
                worst_score = score
                report["worst"] = {"backend": name, "what": what, **s}
            if not s["ok"]:
                report["ok"] = False
    if not report["ok"] and raise_on_mismatch:
        w = report["worst"]
        raise AssertionError(
            f"check_backends: {w['backend']} differs from {ref_name} in {w['what']}: max abs error {w['max_abs']:.3g}, "
            f"max rel error {w['max_rel']:.3g} (rtol={rtol}, atol={atol}){' — ' + w['note'] if 'note' in w else ''}")
    return report
