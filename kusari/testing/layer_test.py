"""``run_layer_test``: the one test every layer goes through — shapes, weights, config round trip, symbolic
call, gradient check (float64 finite differences), and a training step that changes the weights.

>>> from kusari import layers
>>> from kusari.testing.layer_test import run_layer_test
>>> _ = run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
...                    expected_num_trainable_weights=2)
"""
import numpy as np

import kusari
from kusari.autograd.gradcheck import gradcheck


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
                   call_kwargs=None, gradcheck_inputs=True, atol=1e-5, rtol=1e-4, seed=0):
    """Run the standard checks on ``layer_cls(**init_kwargs)``; raises AssertionError on the first failure."""
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    rng = np.random.default_rng(seed)
    x = input_data if input_data is not None else _make_input(input_shape, input_dtype, rng)
    inputs = [np.asarray(a) for a in x] if isinstance(x, (list, tuple)) else np.asarray(x)

    # 1. eager call: output shape, weight counts
    layer = layer_cls(**init_kwargs)
    out = layer(_tensors(inputs), **call_kwargs)
    if expected_output_shape is not None:
        assert _shapes(out) == _norm(expected_output_shape), \
            f"{layer_cls.__name__}: output shape {_shapes(out)} != expected {expected_output_shape}"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, \
            f"{layer_cls.__name__}: {len(layer.trainable_weights)} trainable weights, expected " \
            f"{expected_num_trainable_weights}"
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, \
            f"{layer_cls.__name__}: {len(layer.non_trainable_weights)} non-trainable weights, expected " \
            f"{expected_num_non_trainable_weights}"

    # 2. config and weights round trip: same config, same outputs (inference)
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == {**config, "name": clone.name} or clone.get_config() == config, \
        f"{layer_cls.__name__}: get_config/from_config round trip changed the config"
    out_ref = layer(_tensors(inputs), **_inference(layer, call_kwargs))
    clone(_tensors(inputs), **call_kwargs)
    clone.set_weights(layer.get_weights())
    out_clone = clone(_tensors(inputs), **_inference(clone, call_kwargs))
    for a, b in zip(_flat(out_ref), _flat(out_clone)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=f"{layer_cls.__name__}: clone with copied weights differs")
    for w, v in zip(layer.weights, layer.get_weights()):
        assert tuple(v.shape) == w.shape

    # 3. symbolic call gives the eager shapes (batch dim None)
    sym_in = [kusari.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in inputs] \
        if isinstance(inputs, list) else kusari.Input(shape=inputs.shape[1:], dtype=str(inputs.dtype))
    sym_layer = layer_cls(**init_kwargs)
    sym_out = sym_layer(sym_in, **call_kwargs)
    for s, e in zip(_flat(sym_out), _flat(out)):
        assert tuple(s.shape[1:]) == tuple(e.shape[1:]) or None in s.shape[1:], \
            f"{layer_cls.__name__}: symbolic shape {s.shape} vs eager {e.shape}"

    # 4. gradients in float64 against finite differences (inputs and weights)
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
        t_layer = layer_cls(**init_kwargs)
        y0 = t_layer(_tensors(inputs), **call_kwargs)
        before = [w.numpy().copy() for w in t_layer.trainable_weights]
        loss = sum(((o * o).mean() for o in _flat(y0) if o.dtype.startswith("float")), kusari.tensor(0.0))
        loss = loss + sum((l for l in t_layer.losses), kusari.tensor(0.0))
        grads = kusari.grad(loss, t_layer.trainable_weights, allow_unused=True)
        opt = kusari.optimizers.SGD(learning_rate=0.1)
        opt.apply(grads, t_layer.trainable_weights)
        changed = [not np.allclose(b, w.numpy()) for b, w in zip(before, t_layer.trainable_weights)]
        assert np.isfinite(float(loss)), f"{layer_cls.__name__}: training loss is not finite"
        assert any(changed), f"{layer_cls.__name__}: a training step left every weight unchanged"
    return layer


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
