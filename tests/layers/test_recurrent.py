"""Recurrent layers: the standard layer test for each, then values and gradients against PyTorch on the same
weights, masking, go_backwards, return_state, wrappers, and a tiny learning task."""
import numpy as np
import pytest
import torch

import kusari
from kusari import layers, ops
from kusari.testing.layer_test import run_layer_test

B, T, F, U = 2, 3, 2, 3


def _x(shape=(B, T, F), seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape)


# -- run_layer_test for every layer -----------------------------------------------------------------------------

class _TDDense(layers.TimeDistributed):
    """TimeDistributed(Dense) whose inner Dense takes the wrapper's dtype (so the float64 gradient check runs)."""

    def __init__(self, units=3, **kwargs):
        super().__init__(layers.Dense(units, dtype=kwargs.get("dtype")), **kwargs)
        self.units = units

    def get_config(self):
        cfg = super().get_config()
        del cfg["layer"]
        return {**cfg, "units": self.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _BiLSTM(layers.Bidirectional):
    def __init__(self, units=3, return_sequences=False, merge_mode="concat", **kwargs):
        super().__init__(layers.LSTM(units, return_sequences=return_sequences, dtype=kwargs.get("dtype")),
                         merge_mode=merge_mode, **kwargs)
        self.units, self.rs = units, return_sequences

    def get_config(self):
        cfg = super().get_config()
        del cfg["layer"]
        return {**cfg, "units": self.units, "return_sequences": self.rs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _RNNOfCell(layers.RNN):
    def __init__(self, units=3, **kwargs):
        kwargs.pop("return_sequences", None)
        super().__init__(layers.LSTMCell(units, dtype=kwargs.get("dtype")), return_sequences=True, **kwargs)
        self.units = units

    def get_config(self):
        cfg = super().get_config()
        del cfg["cell"]
        return {**cfg, "units": self.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@pytest.mark.parametrize("cls,kwargs,out_shape,n_weights", [
    (layers.SimpleRNN, {"units": U}, (B, U), 3),
    (layers.SimpleRNN, {"units": U, "return_sequences": True, "go_backwards": True}, (B, T, U), 3),
    (layers.LSTM, {"units": U}, (B, U), 3),
    (layers.LSTM, {"units": U, "return_sequences": True, "return_state": True},
     [(B, T, U), (B, U), (B, U)], 3),
    (layers.LSTM, {"units": U, "use_bias": False, "go_backwards": True}, (B, U), 2),
    (layers.GRU, {"units": U}, (B, U), 3),
    (layers.GRU, {"units": U, "reset_after": False, "return_sequences": True}, (B, T, U), 3),
    (layers.GRU, {"units": U, "return_state": True}, [(B, U), (B, U)], 3),
    (_RNNOfCell, {"units": U}, (B, T, U), 3),
    (_BiLSTM, {"units": U}, (B, 2 * U), 6),
    (_BiLSTM, {"units": U, "return_sequences": True, "merge_mode": "sum"}, (B, T, U), 6),
    (_TDDense, {"units": 4}, (B, T, 4), 2),
])
def test_layer(cls, kwargs, out_shape, n_weights):
    run_layer_test(cls, kwargs, input_shape=(B, T, F), expected_output_shape=out_shape,
                   expected_num_trainable_weights=n_weights, expected_num_non_trainable_weights=0)


@pytest.mark.parametrize("cls", [layers.SimpleRNNCell, layers.LSTMCell, layers.GRUCell])
def test_cells_step_like_rnn(cls):
    cell = cls(U)
    x = kusari.tensor(_x().astype("float32"))
    rnn = layers.RNN(cell, return_sequences=True)
    seq = rnn(x).numpy()
    n_states = len(rnn.state_size)
    states = [ops.zeros((B, U)) for _ in range(n_states)]
    for t in range(T):
        out, states = cell(x[:, t, :], states)
    np.testing.assert_allclose(out.numpy(), seq[:, -1], rtol=1e-5, atol=1e-6)


# -- against PyTorch ----------------------------------------------------------------------------------------------

def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)


def _lstm_to_torch(k, rk, b, tl, suffix=""):
    with torch.no_grad():
        getattr(tl, "weight_ih_l0" + suffix).copy_(torch.tensor(k.T))
        getattr(tl, "weight_hh_l0" + suffix).copy_(torch.tensor(rk.T))
        getattr(tl, "bias_ih_l0" + suffix).copy_(torch.tensor(b))
        getattr(tl, "bias_hh_l0" + suffix).zero_()


def _kusari_out_and_grad(layer, x, pick=lambda o: o):
    xt = kusari.tensor(x, requires_grad=True)
    out = pick(layer(xt))
    g = kusari.grad((out * out).sum(), [xt])[0]
    return out.numpy(), g.numpy()


def _torch_grad(out, xt):
    (out * out).sum().backward()
    return xt.grad.numpy()


def test_lstm_matches_torch():
    x = _x((3, 5, 4))
    lstm = layers.LSTM(6, return_sequences=True, dtype="float64")
    lstm(kusari.tensor(x))
    rng = np.random.default_rng(1)
    lstm.cell.bias.assign(rng.normal(size=24))
    k, rk, b = lstm.get_weights()
    out, gx = _kusari_out_and_grad(lstm, x)
    tl = torch.nn.LSTM(4, 6, batch_first=True).double()
    _lstm_to_torch(k, rk, b, tl)
    xt = _t(x)
    tout, _ = tl(xt)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, _torch_grad(tout, xt), rtol=1e-9, atol=1e-11)


def test_lstm_weight_gradients_match_torch():
    x = _x((3, 4, 2))
    lstm = layers.LSTM(3, dtype="float64")
    xt = kusari.tensor(x)
    h = lstm(xt)
    loss = (h * h).sum()
    gk, grk, gb = kusari.grad(loss, lstm.weights)
    tl = torch.nn.LSTM(2, 3, batch_first=True).double()
    _lstm_to_torch(*lstm.get_weights(), tl)
    _, (th, _) = tl(torch.tensor(x))
    (th[0] ** 2).sum().backward()
    np.testing.assert_allclose(gk.numpy(), tl.weight_ih_l0.grad.numpy().T, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(grk.numpy(), tl.weight_hh_l0.grad.numpy().T, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gb.numpy(), tl.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-11)


def _keras_gru_to_torch(k, rk, b, tg):
    # Keras gates z, r, h; torch r, z, n
    def reorder(w):
        z, r, h = np.split(w, 3, axis=-1)
        return np.concatenate([r, z, h], axis=-1)
    with torch.no_grad():
        tg.weight_ih_l0.copy_(torch.tensor(reorder(k).T))
        tg.weight_hh_l0.copy_(torch.tensor(reorder(rk).T))
        tg.bias_ih_l0.copy_(torch.tensor(reorder(b[0])))
        tg.bias_hh_l0.copy_(torch.tensor(reorder(b[1])))


def test_gru_matches_torch():
    x = _x((3, 5, 4))
    gru = layers.GRU(6, return_sequences=True, return_state=True, dtype="float64")
    gru(kusari.tensor(x))
    gru.cell.bias.assign(np.random.default_rng(2).normal(size=(2, 18)))
    k, rk, b = gru.get_weights()
    assert k.shape == (4, 18) and rk.shape == (6, 18) and b.shape == (2, 18)
    out, gx = _kusari_out_and_grad(gru, x, pick=lambda o: o[0])
    tg = torch.nn.GRU(4, 6, batch_first=True).double()
    _keras_gru_to_torch(k, rk, b, tg)
    xt = _t(x)
    tout, _ = tg(xt)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, _torch_grad(tout, xt), rtol=1e-9, atol=1e-11)


def test_gru_reset_before_reference():
    """reset_after=False: hh = tanh(x Wh + (r * h) Uh + b_h), one bias vector (Keras' original GRU)."""
    x = _x((2, 4, 3))
    gru = layers.GRU(5, reset_after=False, return_sequences=True, dtype="float64")
    gru(kusari.tensor(x))
    gru.cell.bias.assign(np.random.default_rng(3).normal(size=15))
    k, rk, b = gru.get_weights()
    assert b.shape == (15,)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = np.zeros((2, 5))
    outs = []
    for t in range(4):
        xz, xr, xh = np.split(x[:, t] @ k + b, 3, axis=-1)
        z = sig(xz + h @ rk[:, :5])
        r = sig(xr + h @ rk[:, 5:10])
        hh = np.tanh(xh + (r * h) @ rk[:, 10:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    np.testing.assert_allclose(gru(kusari.tensor(x)).numpy(), np.stack(outs, 1), rtol=1e-10, atol=1e-12)


def test_simple_rnn_matches_torch():
    x = _x((3, 5, 4))
    rnn = layers.SimpleRNN(6, return_sequences=True, dtype="float64")
    rnn(kusari.tensor(x))
    rnn.cell.bias.assign(np.random.default_rng(4).normal(size=6))
    k, rk, b = rnn.get_weights()
    out, gx = _kusari_out_and_grad(rnn, x)
    tr = torch.nn.RNN(4, 6, batch_first=True, nonlinearity="tanh").double()
    with torch.no_grad():
        tr.weight_ih_l0.copy_(torch.tensor(k.T))
        tr.weight_hh_l0.copy_(torch.tensor(rk.T))
        tr.bias_ih_l0.copy_(torch.tensor(b))
        tr.bias_hh_l0.zero_()
    xt = _t(x)
    tout, _ = tr(xt)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, _torch_grad(tout, xt), rtol=1e-9, atol=1e-11)


def test_bidirectional_lstm_matches_torch():
    x = _x((3, 5, 4))
    bi = layers.Bidirectional(layers.LSTM(6, return_sequences=True, dtype="float64"), dtype="float64")
    bi(kusari.tensor(x))
    assert [w.path for w in bi.weights] == [
        "lstm_cell/kernel", "lstm_cell/recurrent_kernel", "lstm_cell/bias"] * 2
    assert bi.forward_layer.name.startswith("forward_") and bi.backward_layer.name.startswith("backward_")
    w = bi.get_weights()
    out, gx = _kusari_out_and_grad(bi, x)
    tl = torch.nn.LSTM(4, 6, batch_first=True, bidirectional=True).double()
    _lstm_to_torch(*w[:3], tl)
    _lstm_to_torch(*w[3:], tl, suffix="_reverse")
    xt = _t(x)
    tout, _ = tl(xt)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, _torch_grad(tout, xt), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", ["sum", "mul", "ave", None])
def test_bidirectional_merge_modes(mode):
    x = kusari.tensor(_x())
    bi = layers.Bidirectional(layers.GRU(U, return_sequences=True, dtype="float64"), merge_mode=mode,
                              dtype="float64")
    out = bi(x)
    f = bi.forward_layer(x).numpy()
    b = bi.backward_layer(x).numpy()[:, ::-1]
    want = {"sum": f + b, "mul": f * b, "ave": (f + b) / 2}.get(mode)
    if mode is None:
        np.testing.assert_allclose(out[0].numpy(), f)
        np.testing.assert_allclose(out[1].numpy(), b)
    else:
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)


def test_bidirectional_return_state_and_errors():
    bi = layers.Bidirectional(layers.LSTM(U, return_state=True))
    out = bi(kusari.tensor(_x().astype("float32")))
    assert [tuple(o.shape) for o in out] == [(B, 2 * U)] + [(B, U)] * 4
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(U), merge_mode="max")
    with pytest.raises(ValueError, match="Layer"):
        layers.Bidirectional("lstm")
    back = layers.LSTM(U, go_backwards=True)
    bi2 = layers.Bidirectional(layers.LSTM(U), backward_layer=back)
    assert bi2.backward_layer is back
    assert "backward_layer" in bi2.get_config()
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(U), backward_layer=layers.LSTM(U))


# -- semantics ----------------------------------------------------------------------------------------------------

def test_return_state_and_go_backwards():
    x = _x((2, 4, 3))
    lstm = layers.LSTM(5, return_sequences=True, return_state=True, dtype="float64")
    seq, h, c = lstm(kusari.tensor(x))
    np.testing.assert_allclose(seq.numpy()[:, -1], h.numpy())
    back = layers.LSTM(5, return_sequences=True, go_backwards=True, dtype="float64")
    back(kusari.tensor(x))
    back.set_weights(lstm.get_weights())
    # go_backwards == the forward layer on the time-reversed input; the sequence stays in processing order
    seq_b = back(kusari.tensor(x)).numpy()
    seq_r, _, _ = lstm(kusari.tensor(x[:, ::-1].copy()))
    np.testing.assert_allclose(seq_b, seq_r.numpy(), rtol=1e-12)


def test_initial_state_is_used():
    x = kusari.tensor(_x())
    gru = layers.GRU(U, dtype="float64")
    h0 = kusari.tensor(np.full((B, U), 0.5))
    a = gru(x, initial_state=h0).numpy()
    b = gru(x).numpy()
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="initial state"):
        layers.LSTM(U)(kusari.tensor(_x().astype("float32")), initial_state=[ops.zeros((B, U))])


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_masking_padded_equals_unpadded(cls):
    rng = np.random.default_rng(5)
    lengths = [4, 2, 3]
    x = np.zeros((3, 5, 2))
    for i, n in enumerate(lengths):
        x[i, :n] = rng.normal(size=(n, 2))
    mask = np.zeros((3, 5), bool)
    for i, n in enumerate(lengths):
        mask[i, :n] = True
    layer = cls(4, return_sequences=True, return_state=True, dtype="float64")
    seq, *states = layer(kusari.tensor(x), mask=kusari.tensor(mask))
    assert seq._keras_mask is not None
    for i, n in enumerate(lengths):
        ref, *ref_states = layer(kusari.tensor(x[i:i + 1, :n]))
        np.testing.assert_allclose(seq.numpy()[i, :n], ref.numpy()[0], rtol=1e-12)
        # masked steps repeat the last output (Keras 3 backend.rnn, zero_output_for_mask=False)
        np.testing.assert_allclose(seq.numpy()[i, n:], np.repeat(ref.numpy()[0, -1:], 5 - n, 0), rtol=1e-12)
        for s, r in zip(states, ref_states):
            np.testing.assert_allclose(s.numpy()[i], r.numpy()[0], rtol=1e-12)


def test_masking_zero_output_and_gradients():
    x = _x((2, 4, 2))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    layer = layers.RNN(layers.GRUCell(3, dtype="float64"), return_sequences=True, zero_output_for_mask=True,
                       dtype="float64")
    out = layer(kusari.tensor(x), mask=kusari.tensor(mask)).numpy()
    assert np.all(out[0, 2:] == 0) and np.all(out[1] != 0)
    xt = kusari.tensor(x, requires_grad=True)
    last = layers.LSTM(3, dtype="float64")
    g = kusari.grad(last(xt, mask=kusari.tensor(mask)).sum(), [xt])[0].numpy()
    assert np.all(g[0, 2:] == 0) and np.all(g[0, :2] != 0)


def test_mask_from_upstream_layer_is_used():
    x = _x((2, 4, 2))
    x[0, 2:] = 0.0
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    t = kusari.tensor(x)
    t._keras_mask = kusari.tensor(mask)
    lstm = layers.LSTM(3, dtype="float64")
    np.testing.assert_allclose(lstm(t).numpy(), lstm(kusari.tensor(x), mask=kusari.tensor(mask)).numpy())
    assert lstm(t)._keras_mask is None if hasattr(lstm(t), "_keras_mask") else True


def test_time_distributed_equals_per_step_dense():
    x = kusari.tensor(_x((2, 4, 3)))
    dense = layers.Dense(5, dtype="float64")
    td = layers.TimeDistributed(dense, dtype="float64")
    out = td(x).numpy()
    for t in range(4):
        np.testing.assert_allclose(out[:, t], dense(x[:, t]).numpy(), rtol=1e-12)
    assert td.weights[0] is dense.kernel
    with pytest.raises(ValueError, match="rank"):
        layers.TimeDistributed(layers.Dense(2))(kusari.tensor(np.ones((2, 3), "float32")))
    clone = layers.TimeDistributed.from_config(td.get_config())
    assert isinstance(clone.layer, layers.Dense) and clone.layer.units == 5


def test_configs_and_defaults_match_keras():
    lstm = layers.LSTM(4)
    cfg = lstm.get_config()
    for k, v in {"units": 4, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                 "unit_forget_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0, "return_sequences": False,
                 "return_state": False, "go_backwards": False, "stateful": False, "unroll": False,
                 "zero_output_for_mask": False, "seed": None}.items():
        assert cfg[k] == v, k
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert "cell" not in cfg
    gru_cfg = layers.GRU(4).get_config()
    assert gru_cfg["reset_after"] is True and gru_cfg["recurrent_activation"] == "sigmoid"
    rebuilt = layers.LSTM.from_config(cfg)
    assert rebuilt.units == 4 and rebuilt.cell.name == "lstm_cell"
    rnn = layers.RNN(layers.LSTMCell(3), return_sequences=True)
    rnn2 = layers.RNN.from_config(rnn.get_config())
    assert isinstance(rnn2.cell, layers.LSTMCell) and rnn2.return_sequences
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(3))


def test_unit_forget_bias_and_recurrent_init():
    lstm = layers.LSTM(3)
    lstm(kusari.tensor(_x().astype("float32")))
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    rk = layers.SimpleRNN(4)
    rk(kusari.tensor(_x().astype("float32")))
    r = rk.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(r @ r.T, np.eye(4), atol=1e-5)


def test_dropout_only_in_training():
    x = kusari.tensor(np.ones((4, 3, 5), "float32"))
    lstm = layers.LSTM(6, dropout=0.5, recurrent_dropout=0.5, seed=1)
    a = lstm(x, training=False).numpy()
    np.testing.assert_allclose(a, lstm(x).numpy())
    b = lstm(x, training=True).numpy()
    assert not np.allclose(a, b)
    assert lstm.cell._dropout_mask is None


def test_stateful_carries_state():
    x = kusari.tensor(_x())
    layer = layers.GRU(U, stateful=True, dtype="float64")
    a = layer(x).numpy()
    b = layer(x).numpy()
    assert not np.allclose(a, b)
    layer.reset_state()
    np.testing.assert_allclose(layer(x).numpy(), a)


def test_in_sequential_model_learns_sign_of_sum():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 6, 1)).astype("float32")
    y = (x.sum(axis=(1, 2)) > 0).astype("float32")[:, None]
    kusari.random.set_seed(0)
    model = kusari.models.Sequential([kusari.Input((6, 1)), layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=kusari.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    xt = rng.normal(size=(256, 6, 1)).astype("float32")
    yt = (xt.sum(axis=(1, 2)) > 0)
    acc = ((model.predict(xt, verbose=0)[:, 0] > 0.5) == yt).mean()
    assert acc > 0.9, acc


# -- the fused LSTM step (kusari.ops.recurrent.lstm_cell) ---------------------------------------------------------

def test_fused_lstm_step_gradients_and_double_backprop():
    from kusari.autograd.gradcheck import gradcheck, gradgradcheck
    from kusari.ops.recurrent import lstm_cell
    rng = np.random.default_rng(0)
    ins = [kusari.tensor(rng.normal(size=s), requires_grad=True) for s in [(2, 12), (2, 3), (2, 3), (3, 12)]]
    assert gradcheck(lstm_cell, ins)
    assert gradgradcheck(lstm_cell, ins)
    with pytest.raises(ValueError, match="lstm_cell"):
        lstm_cell(ins[0], ins[1], ins[2], ins[3][:, :8])


def test_fused_lstm_equals_unfused(monkeypatch):
    x = _x((2, 4, 3))
    lstm = layers.LSTM(5, return_sequences=True, dtype="float64")
    lstm(kusari.tensor(x))
    lstm.cell.bias.assign(np.random.default_rng(9).normal(size=20))

    def run():
        xt = kusari.tensor(x, requires_grad=True)
        out = lstm(xt)
        return [out.numpy()] + [g.numpy() for g in kusari.grad((out * out).sum(), [xt] + lstm.weights)]
    fused = run()
    monkeypatch.setattr(layers.LSTMCell, "_fusable", lambda self: False)
    for a, b in zip(fused, run()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
