"""``run_layer_test``: the one test every layer goes through — shapes, weights, config round trip, symbolic
call, gradient check (float64 finite differences), and a training step that changes the weights; and, on every
further backend asked for, the same checks plus outputs and gradients against the first backend's.

>>> from kusari import layers
>>> from kusari.testing.layer_test import run_layer_test
>>> _ = run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
...                    expected_num_trainable_weights=2)
>>> import kusari
>>> _ = run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4), backends=kusari.backend.installed())
"""
import numpy as np

import kusari
from kusari import backend as _backend
from kusari.autograd.gradcheck import gradcheck

# Further backends every ``run_layer_test`` call also checks when its ``backends`` argument is left as None
# (tests/layers/conftest.py sets every installed one). Names as ``kusari.set_backend`` takes them.
DEFAULT_BACKENDS = ()

# Tolerances (rtol, atol) for another backend's outputs and gradients against the first backend's: float32 as
# kusari.testing.backends.FLOAT32_TOLERANCE's matmul/conv/normalization rows (accumulation order differs between
# NumPy's BLAS, oneDNN and XLA); float64 far tighter than the finite-difference check the first backend passed.
BACKEND_TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}


def _make_input(input_shape, input_dtype, rng):
    if input_dtype.startswith("int"):
        return rng.integers(0, 5, size=input_shape).astype(input_dtype)
    return rng.uniform(-1, 1, size=input_shape).astype(input_dtype)


def _shapes(out):
    if isinstance(out, (list, tuple)):
        return [tuple(o.shape) for o in out]
    return tuple(out.shape)


def run_layer_test(layer_cls, init_kwargs=None, input_shape=None, input_dtype="float32", input_data=None,
                   expected_output_shape=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, run_gradient_check=True, run_training_check=True,
                   call_kwargs=None, gradcheck_inputs=True, atol=1e-5, rtol=1e-4, seed=0, backends=None):
    """Run the standard checks on ``layer_cls(**init_kwargs)``; raises AssertionError on the first failure.

    The checks run on the current backend. ``backends`` (default ``DEFAULT_BACKENDS``): further backend names; on
    each the layer must give the same shapes and weight counts, survive the config round trip, give the symbolic
    shapes and take a training step, and — with the current backend's weights copied in — give the same inference
    outputs and the same gradients (of ``sum(output * r)`` with respect to the float inputs and the trainable
    weights) in float32 and, where the gradient check runs, in float64 (``BACKEND_TOLERANCE``). The float64
    finite-difference check itself runs on the current backend only (it is one forward pass per input element).
    Every backend's mismatches are collected and reported together, each naming its backend.
    """
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    rng = np.random.default_rng(seed)
    x = input_data if input_data is not None else _make_input(input_shape, input_dtype, rng)
    inputs = [np.asarray(a) for a in x] if isinstance(x, (list, tuple)) else np.asarray(x)
    name = layer_cls.__name__
    expected = {"output_shape": expected_output_shape, "trainable": expected_num_trainable_weights,
                "non_trainable": expected_num_non_trainable_weights}

    # 1-3. eager call (shapes, weight counts), config and weights round trip, symbolic call
    layer, out = _check_structure(layer_cls, init_kwargs, call_kwargs, inputs, expected, name)

    # 4. gradients in float64 against finite differences (inputs and weights)
    g_layer = None
    if run_gradient_check:
        g_layer = layer_cls(**{**init_kwargs, "dtype": "float64"})
        g_in = [kusari.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a) for a in _flat(inputs)]
        g_layer(_unflat(g_in, inputs), **_inference(g_layer, call_kwargs))
        diff_inputs = [t for t in g_in if t.dtype == "float64"] if gradcheck_inputs else []
        for t in diff_inputs:
            t.requires_grad_(True)
        params = list(g_layer.trainable_weights)

        def f_inputs(*tensors):
            return g_layer(_unflat(list(tensors), inputs), **_inference(g_layer, call_kwargs))

        def f_weights(*ws):
            return _weights_call(g_layer, params, ws, g_in, inputs, call_kwargs)

        if diff_inputs:
            assert gradcheck(f_inputs, g_in, atol=atol, rtol=rtol)
        if params:
            ws = [kusari.tensor(p.data, requires_grad=True) for p in params]
            assert gradcheck(f_weights, ws, atol=atol, rtol=rtol)

    # 5. one training step changes the trainable weights and gives a finite loss
    if run_training_check and layer.trainable_weights:
        _check_training_step(layer_cls, init_kwargs, call_kwargs, inputs, name)

    # 6. the other backends: the checks above, and the same numbers as this backend
    names = DEFAULT_BACKENDS if backends is None else backends
    if names:
        _check_backends(names, layer_cls, init_kwargs, call_kwargs, inputs, layer, out, g_layer,
                        run_training_check, gradcheck_inputs, name)
    return layer


def _check_structure(layer_cls, init_kwargs, call_kwargs, inputs, expected, name):
    """Checks 1-3 on the current backend; returns the layer and its eager output."""
    # 1. eager call: output shape, weight counts
    layer = layer_cls(**init_kwargs)
    out = layer(_tensors(inputs), **call_kwargs)
    if expected["output_shape"] is not None:
        assert _shapes(out) == _norm(expected["output_shape"]), \
            f"{name}: output shape {_shapes(out)} != expected {expected['output_shape']}"
    if expected["trainable"] is not None:
        assert len(layer.trainable_weights) == expected["trainable"], \
            f"{name}: {len(layer.trainable_weights)} trainable weights, expected {expected['trainable']}"
    if expected["non_trainable"] is not None:
        assert len(layer.non_trainable_weights) == expected["non_trainable"], \
            f"{name}: {len(layer.non_trainable_weights)} non-trainable weights, expected {expected['non_trainable']}"

    # 2. config and weights round trip: same config, same outputs (inference)
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == {**config, "name": clone.name} or clone.get_config() == config, \
        f"{name}: get_config/from_config round trip changed the config"
    out_ref = layer(_tensors(inputs), **_inference(layer, call_kwargs))
    clone(_tensors(inputs), **call_kwargs)
    clone.set_weights(layer.get_weights())
    out_clone = clone(_tensors(inputs), **_inference(clone, call_kwargs))
    for a, b in zip(_flat(out_ref), _flat(out_clone)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=f"{name}: clone with copied weights differs")
    for w, v in zip(layer.weights, layer.get_weights()):
        assert tuple(v.shape) == w.shape

    # 3. symbolic call gives the eager shapes (batch dim None)
    sym_in = [kusari.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in inputs] \
        if isinstance(inputs, list) else kusari.Input(shape=inputs.shape[1:], dtype=str(inputs.dtype))
    sym_layer = layer_cls(**init_kwargs)
    sym_out = sym_layer(sym_in, **call_kwargs)
    for s, e in zip(_flat(sym_out), _flat(out)):
        assert tuple(s.shape[1:]) == tuple(e.shape[1:]) or None in s.shape[1:], \
            f"{name}: symbolic shape {s.shape} vs eager {e.shape}"
    return layer, out


def _check_training_step(layer_cls, init_kwargs, call_kwargs, inputs, name):
    t_layer = layer_cls(**init_kwargs)
    y0 = t_layer(_tensors(inputs), **call_kwargs)
    before = [w.numpy().copy() for w in t_layer.trainable_weights]
    loss = sum(((o * o).mean() for o in _flat(y0) if o.dtype.startswith("float")), kusari.tensor(0.0))
    loss = loss + sum((l for l in t_layer.losses), kusari.tensor(0.0))
    grads = kusari.grad(loss, t_layer.trainable_weights, allow_unused=True)
    opt = kusari.optimizers.SGD(learning_rate=0.1)
    opt.apply(grads, t_layer.trainable_weights)
    changed = [not np.allclose(b, w.numpy()) for b, w in zip(before, t_layer.trainable_weights)]
    assert np.isfinite(float(loss)), f"{name}: training loss is not finite"
    assert any(changed), f"{name}: a training step left every weight unchanged"


def _values_and_grads(layer, inputs, call_kwargs, diff_inputs, dtype=None):
    """The layer's inference outputs and the gradients of ``sum(output * r)`` (``r`` fixed random) with respect to
    its float inputs (when ``diff_inputs``) and its trainable weights, all as NumPy arrays."""
    flat = [a.astype(dtype) if dtype is not None and a.dtype.kind == "f" else a for a in _flat(inputs)]
    ins = [kusari.tensor(a, requires_grad=diff_inputs and a.dtype.kind == "f") for a in flat]
    outs = _flat(layer(_unflat(ins, inputs), **_inference(layer, call_kwargs)))
    rng = np.random.default_rng(1)
    loss = None
    for o in outs:
        if o.requires_grad and o.dtype.startswith("float"):
            term = (o * kusari.tensor(rng.standard_normal(o.shape).astype(o.dtype))).sum()
            loss = term if loss is None else loss + term
    wrt = [t for t in ins if t.requires_grad] + list(layer.trainable_weights)
    labels = [f"gradient of input {i}" for i, t in enumerate(ins) if t.requires_grad] + \
        [f"gradient of {w.path or w.name}" for w in layer.trainable_weights]
    grads = kusari.grad(loss, wrt, allow_unused=True) if loss is not None and wrt else [None] * len(wrt)
    values = [(f"output {i}", o.detach().numpy()) for i, o in enumerate(outs)]
    values += [(label, None if g is None else g.numpy()) for label, g in zip(labels, grads)]
    return values


def _compare(got, want, rtol, atol, what):
    from kusari.testing.backends import compare_arrays
    problems = []
    for (label, g), (_, w) in zip(got, want):
        if g is None or w is None:
            if (g is None) != (w is None):
                problems.append(f"{what} {label}: {'no gradient' if g is None else 'a gradient where there was none'}")
            continue
        if g.dtype != w.dtype:
            problems.append(f"{what} {label}: dtype {g.dtype} vs {w.dtype}")
        s = compare_arrays(g, w, rtol, atol)
        if not s["ok"]:
            problems.append(f"{what} {label}: max abs error {s['max_abs']:.3g}, max rel error {s['max_rel']:.3g} "
                            f"(rtol {rtol}, atol {atol}) {s.get('note', '')}".rstrip())
    if len(got) != len(want):
        problems.append(f"{what}: {len(got)} outputs and gradients vs {len(want)}")
    return problems


def _check_backends(names, layer_cls, init_kwargs, call_kwargs, inputs, layer, out, g_layer, run_training_check,
                    gradcheck_inputs, name):
    """Check 6: the layer on each backend in ``names`` (the current one is skipped) against the current one."""
    ref = _backend.current()
    weights = layer.get_weights()
    want32 = _values_and_grads(layer, inputs, call_kwargs, True)
    g_weights = g_layer.get_weights() if g_layer is not None else None
    want64 = _values_and_grads(g_layer, inputs, call_kwargs, gradcheck_inputs, "float64") \
        if g_layer is not None else None
    out_dtypes = [o.dtype for o in _flat(out)]
    failures = []
    for bname in names:
        b = _backend.get(bname)
        if b is ref:
            continue
        label = f"{name} on {bname} (vs {ref.name})"
        _backend.set_backend(bname)
        try:
            expected = {"output_shape": _shapes(out), "trainable": len(layer.trainable_weights),
                        "non_trainable": len(layer.non_trainable_weights)}
            b_layer, b_out = _check_structure(layer_cls, init_kwargs, call_kwargs, inputs, expected, label)
            problems = [f"output {i}: dtype {o.dtype} vs {d}" for i, (o, d) in enumerate(zip(_flat(b_out), out_dtypes))
                        if o.dtype != d]
            assert all(w.backend is b for w in b_layer.weights), f"{label}: weights made on another backend"
            b_layer.set_weights(weights)
            got = _values_and_grads(b_layer, inputs, call_kwargs, True)
            problems += _compare(got, want32, *BACKEND_TOLERANCE["float32"], "float32")
            if g_layer is not None:
                b64 = layer_cls(**{**init_kwargs, "dtype": "float64"})
                b64(_tensors(_float64(inputs)), **_inference(b64, call_kwargs))
                b64.set_weights(g_weights)
                got = _values_and_grads(b64, inputs, call_kwargs, gradcheck_inputs, "float64")
                problems += _compare(got, want64, *BACKEND_TOLERANCE["float64"], "float64")
            if run_training_check and layer.trainable_weights:
                _check_training_step(layer_cls, init_kwargs, call_kwargs, inputs, label)
            if problems:
                failures.append(f"{label}:\n  " + "\n  ".join(problems))
        except Exception as e:      # collect: one backend's failure must not hide another's
            failures.append(f"{label}: {type(e).__name__}: {e}")
        finally:
            _backend.set_backend(ref.name, ref.device)
    if failures:
        raise AssertionError("\n".join(failures))


def _weights_call(layer, params, ws, g_in, inputs, call_kwargs):
    """Call ``layer`` with its parameters temporarily replaced by the tensors ``ws`` (for gradcheck)."""
    owners = []
    for owner in layer._flatten_layers():
        for attr, value in list(vars(owner).items()):
            for p, w in zip(params, ws):
                if value is p:
                    owners.append((owner, attr, p))
                    object.__setattr__(owner, attr, w)
    try:
        return layer(_unflat(list(g_in), inputs), **_inference(layer, call_kwargs))
    finally:
        for owner, attr, p in owners:
            object.__setattr__(owner, attr, p)


def _inference(layer, call_kwargs):
    """``call_kwargs`` with ``training=False`` for layers whose call takes it (the caller's value is overridden)."""
    if _takes_training(layer):
        return {**call_kwargs, "training": False}
    return call_kwargs


def _takes_training(layer):
    params, var_kw = layer._call_params()
    return "training" in params


def _float64(inputs):
    """``inputs`` (an array or a list of them) with the float arrays in float64."""
    cast = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in _flat(inputs)]
    return _unflat(cast, inputs)


def _tensors(inputs):
    if isinstance(inputs, list):
        return [kusari.tensor(a) for a in inputs]
    return kusari.tensor(inputs)


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _unflat(flat, like):
    return list(flat) if isinstance(like, list) else flat[0]


def _norm(shape):
    if isinstance(shape, list):
        return [tuple(s) for s in shape]
    return tuple(shape)
