"""The fused whole-sequence LSTM (kusari.ops.recurrent.lstm_sequence, used by layers.LSTM when there is no mask
and no dropout): same values and gradients as looping the per-step cell, gradcheck, double backprop, and the
generic (xp-only) backend kernels equal to the NumPy ones."""
import numpy as np
import pytest

import kusari
from kusari import layers, ops
from kusari.autograd.gradcheck import gradcheck, gradgradcheck
from kusari import backend as _backend
from kusari.backend.base import Backend
from kusari.backend.numpy_backend import NumpyBackend
from kusari.ops.recurrent import lstm_cell, lstm_sequence

BATCH, T, F, U = 3, 5, 4, 6


def _inputs(seed=0, bias=True, batch=BATCH, t=T, f=F, u=U):
    rng = np.random.default_rng(seed)
    shapes = [(batch, t, f), (batch, u), (batch, u), (f, 4 * u), (u, 4 * u)] + ([(4 * u,)] if bias else [])
    return [kusari.tensor(rng.normal(size=s), requires_grad=True) for s in shapes]


def _per_step(x, h0, c0, kernel, r, bias=None, go_backwards=False):
    """The reference: input projection then ``lstm_cell`` once per step (the unfused layer path)."""
    xz = ops.matmul(x, kernel)
    if bias is not None:
        xz = xz + bias
    steps = ops.unstack(xz, axis=1)
    order = range(len(steps) - 1, -1, -1) if go_backwards else range(len(steps))
    h, c, hs = h0, c0, []
    for t in order:
        h, c = lstm_cell(steps[t], h, c, r)
        hs.append(h)
    return ops.stack(hs, axis=1), h, c


def _loss(outs, seed=5):
    rng = np.random.default_rng(seed)
    return sum((o * kusari.tensor(rng.normal(size=o.shape))).sum() for o in outs)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_equals_per_step_float64(go_backwards, bias):
    ins = _inputs(bias=bias)
    fused = lstm_sequence(*ins[:5], ins[5] if bias else None, go_backwards=go_backwards)
    ref = _per_step(*ins, go_backwards=go_backwards)
    for a, b in zip(fused, ref):
        assert a.dtype == "float64"
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-10)
    g_fused = kusari.grad(_loss(fused), ins)
    g_ref = kusari.grad(_loss(ref), ins)
    for a, b in zip(g_fused, g_ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-10)


def test_only_some_outputs_used_and_some_inputs_constant():
    x, h0, c0, k, r, b = _inputs(seed=1)
    h0c, c0c = h0.detach(), c0.detach()
    _, h, _ = lstm_sequence(x, h0c, c0c, k, r, b)
    _, h_ref, _ = _per_step(x, h0c, c0c, k, r, b)
    for a, ref in zip(kusari.grad(h.sum(), [x, k, r, b]), kusari.grad(h_ref.sum(), [x, k, r, b])):
        np.testing.assert_allclose(a.numpy(), ref.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradcheck_and_double_backprop(go_backwards):
    ins = _inputs(seed=2, batch=2, t=3, f=2, u=3)

    def fn(*a):
        return lstm_sequence(*a, go_backwards=go_backwards)
    assert gradcheck(fn, ins)
    assert gradgradcheck(fn, ins)


def test_double_backprop_equals_per_step():
    ins = _inputs(seed=3, batch=2, t=3, f=2, u=3)

    def second(fn):
        g = kusari.grad(_loss(fn(*ins)), ins, create_graph=True)
        return kusari.grad(sum((gi * gi).sum() for gi in g), ins)
    for a, b in zip(second(lstm_sequence), second(_per_step)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_generic_backend_kernels_equal_numpy(go_backwards, dtype):
    be = NumpyBackend()
    rng = np.random.default_rng(4)
    arrays = [rng.normal(size=s).astype(dtype) for s in [(BATCH, T, F), (BATCH, U), (BATCH, U), (F, 4 * U),
                                                          (U, 4 * U), (4 * U,)]]
    grads_out = [rng.normal(size=s).astype(dtype) for s in [(BATCH, T, U), (BATCH, U), (BATCH, U)]]
    tol = 1e-12 if dtype == "float64" else 2e-5
    fast = be.lstm_sequence_forward(*arrays, go_backwards)
    generic = Backend.lstm_sequence_forward(be, *arrays, go_backwards)
    for a, b in zip(fast[:3], generic[:3]):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=0, atol=tol)
    need = (True,) * 6
    gf = be.lstm_sequence_backward(fast[3], *arrays, *grads_out, need, go_backwards)
    gg = Backend.lstm_sequence_backward(be, generic[3], *arrays, *grads_out, need, go_backwards)
    for a, b, src in zip(gf, gg, arrays):
        assert a.shape == src.shape and a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * 10)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("need", [tuple(bool(m >> i & 1) for i in range(6)) for m in range(64)])
def test_numpy_kernels_give_exactly_the_gradients_asked_for(need, bias):
    """Each subset of wanted gradients (x, h0, c0, kernel, recurrent kernel, bias) comes back as with all of them
    wanted (the weight gradients share one product per step, over only the rows the wanted ones need), and the
    others come back None."""
    be = NumpyBackend()
    rng = np.random.default_rng(6)
    arrays = [rng.normal(size=s) for s in [(BATCH, T, F), (BATCH, U), (BATCH, U), (F, 4 * U), (U, 4 * U)]]
    b = rng.normal(size=4 * U) if bias else None
    grads_out = [rng.normal(size=s) for s in [(BATCH, T, U), (BATCH, U), (BATCH, U)]]
    saved = be.lstm_sequence_forward(*arrays, b, False)[3]
    full = be.lstm_sequence_backward(saved, *arrays, b, *grads_out, (True,) * 6, False)
    some = be.lstm_sequence_backward(saved, *arrays, b, *grads_out, need, False)
    for j, (a, want) in enumerate(zip(some, full)):
        if need[j] and (j < 5 or bias):
            np.testing.assert_allclose(a, want, rtol=0, atol=1e-12)
        else:
            assert a is None


def test_errors():
    x, h0, c0, k, r, b = _inputs()
    with pytest.raises(ValueError, match="lstm_sequence"):
        lstm_sequence(x, h0, c0, k[:, :8], r, b)
    with pytest.raises(ValueError, match="lstm_sequence"):
        lstm_sequence(x[:, :, 0], h0, c0, k, r, b)
    with pytest.raises(ValueError, match="lstm_sequence"):
        lstm_sequence(x, h0, c0, k, r, b[:4])
    with pytest.raises(ValueError, match="no time steps"):
        lstm_sequence(x[:, :0], h0, c0, k, r, b)
    with pytest.raises(ValueError, match="dtype"):
        lstm_sequence(ops.cast(x, "float32"), h0, c0, k, r, b)


# -- the LSTM layer uses it (and falls back to the per-step path where it must) -----------------------------------

def _layer_run(lstm, x, initial_state=None):
    xt = kusari.tensor(x, requires_grad=True)
    states = None if initial_state is None else [kusari.tensor(s, requires_grad=True) for s in initial_state]
    out = lstm(xt, initial_state=states) if states is not None else lstm(xt)
    outs = out if isinstance(out, list) else [out]
    wrt = [xt] + list(lstm.weights) + (states or [])
    return [o.numpy() for o in outs] + [g.numpy() for g in kusari.grad(_loss(outs), wrt)]


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_layer_fused_equals_per_step(monkeypatch, return_sequences, return_state, go_backwards):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(BATCH, T, F))
    init = [rng.normal(size=(BATCH, U)) for _ in range(2)] if return_state else None
    lstm = layers.LSTM(U, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                       dtype="float64")
    lstm(kusari.tensor(x))
    lstm.cell.bias.assign(rng.normal(size=4 * U))
    calls = []
    orig = layers.RNN._fused_lstm

    def spy(self, *a, **k):
        out = orig(self, *a, **k)
        calls.append(out is not None)
        return out
    monkeypatch.setattr(layers.RNN, "_fused_lstm", spy)
    fused = _layer_run(lstm, x, init)
    assert calls == [True]
    monkeypatch.setattr(layers.RNN, "_fused_lstm", lambda self, *a, **k: None)
    for a, b in zip(fused, _layer_run(lstm, x, init)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_layer_falls_back_with_mask_and_dropout(monkeypatch):
    seen = []
    orig = layers.RNN._fused_lstm
    monkeypatch.setattr(layers.RNN, "_fused_lstm", lambda self, *a, **k: seen.append(1) or orig(self, *a, **k))
    x = kusari.tensor(np.random.default_rng(7).normal(size=(BATCH, T, F)).astype("float32"))
    mask = np.ones((BATCH, T), bool)
    mask[0, 3:] = False
    lstm = layers.LSTM(U)
    lstm(x, mask=kusari.tensor(mask))
    assert seen == []          # a mask: per-step path
    drop = layers.LSTM(U, dropout=0.5, recurrent_dropout=0.5, seed=1)
    drop(x, training=True)     # dropout in use: not fused
    assert seen == [1]
    drop(x, training=False)    # inference: fused
    assert len(seen) == 2


@pytest.mark.parametrize("name", [b for b in _backend.installed() if b != "numpy"] or
                         [pytest.param("none", marks=pytest.mark.skip(reason="no other backend installed"))])
def test_other_backends_use_the_generic_kernels(name):
    rng = np.random.default_rng(8)
    arrays = [rng.normal(size=s).astype("float32") for s in [(2, 4, 3), (2, 5), (2, 5), (3, 20), (5, 20), (20,)]]

    def run():
        ins = [kusari.tensor(a, requires_grad=True) for a in arrays]
        out = lstm_sequence(*ins, go_backwards=True)
        return [np.asarray(t.numpy()) for t in list(out) + kusari.grad(_loss(out), ins)]
    kusari.set_backend("numpy")
    ref = run()
    kusari.set_backend(name)
    try:
        got = run()
    finally:
        kusari.set_backend("numpy")
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
