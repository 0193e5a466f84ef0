"""Attention layers: the standard layer test, values and gradients against PyTorch's scaled_dot_product_attention
on the same projections (plain, causal, attention_mask), Keras masks, attention_axes, dropout, config."""
import numpy as np
import pytest
import torch

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test


class _MHAList(layers.MultiHeadAttention):
    """MultiHeadAttention called on [query, value] (run_layer_test passes one argument)."""

    def __init__(self, causal=False, **kwargs):
        super().__init__(**kwargs)
        self.causal = causal

    def _build_from(self, args, kwargs):
        q, v = args[0]
        self.build(tuple(q.shape), tuple(v.shape))

    def call(self, inputs, training=None):
        return super().call(inputs[0], inputs[1], training=training, use_causal_mask=self.causal)

    def get_config(self):
        return {**super().get_config(), "causal": self.causal}


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, size=s).astype("float32") for s in shapes]


@pytest.mark.parametrize("kwargs", [
    {"num_heads": 2, "key_dim": 2},
    {"num_heads": 2, "key_dim": 2, "value_dim": 3, "output_shape": 4, "causal": True},
    {"num_heads": 1, "key_dim": 3, "use_bias": False},
])
def test_multi_head_attention_layer(kwargs):
    out_dim = kwargs.get("output_shape", 3)
    n_w = 8 if kwargs.get("use_bias", True) else 4
    run_layer_test(_MHAList, kwargs, input_data=_data((2, 3, 3), (2, 3, 3)), expected_output_shape=(2, 3, out_dim),
                   expected_num_trainable_weights=n_w, expected_num_non_trainable_weights=0)


@pytest.mark.parametrize("cls,kwargs,n_w", [
    (layers.Attention, {}, 0),
    (layers.Attention, {"use_scale": True}, 1),
    (layers.Attention, {"score_mode": "concat", "use_scale": True}, 2),
    (layers.AdditiveAttention, {}, 1),
    (layers.AdditiveAttention, {"use_scale": False}, 0),
])
def test_dense_attention_layers(cls, kwargs, n_w):
    run_layer_test(cls, kwargs, input_data=_data((2, 3, 4), (2, 5, 4)), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=n_w, expected_num_non_trainable_weights=0)


# -- against PyTorch ----------------------------------------------------------------------------------------------

def _torch_mha(W, q, v, key=None, mask=None, causal=False):
    key = v if key is None else key
    Q = torch.einsum("btd,dnh->bnth", q, W[0]) + W[1][None, :, None, :]
    K = torch.einsum("bsd,dnh->bnsh", key, W[2]) + W[3][None, :, None, :]
    V = torch.einsum("bsd,dnh->bnsh", v, W[4]) + W[5][None, :, None, :]
    o = torch.nn.functional.scaled_dot_product_attention(Q, K, V, attn_mask=mask, is_causal=causal)
    return torch.einsum("bnth,nho->bto", o, W[6]) + W[7]


@pytest.mark.parametrize("case", ["plain", "causal", "mask", "key"])
def test_mha_matches_torch_sdpa(case):
    rng = np.random.default_rng(0)
    B, T, S, D, N, K = 2, 4, 4, 6, 3, 2
    q, v, kk = rng.normal(size=(B, T, D)), rng.normal(size=(B, S, D)), rng.normal(size=(B, S, 5))
    mha = layers.MultiHeadAttention(N, K, dtype="float64")
    use_key = case == "key"
    mha(kusari.tensor(q), kusari.tensor(v), key=kusari.tensor(kk) if use_key else None)
    for w in mha.weights:
        w.assign(rng.normal(size=w.shape))
    W = [torch.tensor(w) for w in mha.get_weights()]
    mask = None
    if case == "mask":
        mask = rng.uniform(size=(B, T, S)) > 0.4
        mask[:, :, 0] = True
    qt, vt = kusari.tensor(q, requires_grad=True), kusari.tensor(v, requires_grad=True)
    out = mha(qt, vt, key=kusari.tensor(kk) if use_key else None,
              attention_mask=None if mask is None else kusari.tensor(mask), use_causal_mask=case == "causal")
    gq, gv = kusari.grad((out * out).sum(), [qt, vt])
    tq, tv = torch.tensor(q, requires_grad=True), torch.tensor(v, requires_grad=True)
    tout = _torch_mha(W, tq, tv, key=torch.tensor(kk) if use_key else None,
                      mask=None if mask is None else torch.tensor(mask)[:, None], causal=case == "causal")
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gq.numpy(), tq.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gv.numpy(), tv.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_mha_matches_torch_multihead_attention_module():
    rng = np.random.default_rng(3)
    B, T, E, N = 2, 5, 6, 2
    x = rng.normal(size=(B, T, E))
    tm = torch.nn.MultiheadAttention(E, N, batch_first=True).double()
    mha = layers.MultiHeadAttention(N, E // N, dtype="float64")
    mha(kusari.tensor(x), kusari.tensor(x))
    wq, wk, wv = tm.in_proj_weight.detach().numpy().reshape(3, N, E // N, E)
    with torch.no_grad():
        tm.in_proj_bias.copy_(torch.tensor(rng.normal(size=3 * E)))
        tm.out_proj.bias.copy_(torch.tensor(rng.normal(size=E)))
    bq, bk, bv = tm.in_proj_bias.detach().numpy().reshape(3, N, E // N)
    wo = tm.out_proj.weight.detach().numpy()            # (E_out, N * H)
    mha.set_weights([wq.transpose(2, 0, 1), bq, wk.transpose(2, 0, 1), bk, wv.transpose(2, 0, 1), bv,
                     wo.T.reshape(N, E // N, E), tm.out_proj.bias.detach().numpy()])
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    tout, tw = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), attn_mask=causal, average_attn_weights=False)
    out, scores = mha(kusari.tensor(x), kusari.tensor(x), use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scores.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- masks, axes, dropout -----------------------------------------------------------------------------------------

def test_mha_keras_masks_padded_equals_unpadded():
    rng = np.random.default_rng(4)
    q, v = rng.normal(size=(1, 3, 4)), rng.normal(size=(1, 5, 4))
    mha = layers.MultiHeadAttention(2, 3, dtype="float64")
    ref = mha(kusari.tensor(q), kusari.tensor(v[:, :3])).numpy()
    vt = kusari.tensor(v)
    vt._keras_mask = kusari.tensor(np.array([[1, 1, 1, 0, 0]], bool))
    np.testing.assert_allclose(mha(kusari.tensor(q), vt).numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(mha(kusari.tensor(q), kusari.tensor(v),
                                   value_mask=kusari.tensor(np.array([[1, 1, 1, 0, 0]]))).numpy(), ref, rtol=1e-12)
    qt = kusari.tensor(q)
    qm = np.array([[1, 1, 0]], bool)
    qt._keras_mask = kusari.tensor(qm)
    out = mha(qt, kusari.tensor(v))
    np.testing.assert_array_equal(out._keras_mask.numpy(), qm)


def test_mha_attention_axes_2d_equals_flattened():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5))
    mha2 = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), dtype="float64")
    out2, sc2 = mha2(kusari.tensor(x), kusari.tensor(x), return_attention_scores=True)
    assert sc2.shape == (2, 2, 3, 4, 3, 4)
    mha1 = layers.MultiHeadAttention(2, 3, dtype="float64")
    flat = x.reshape(2, 12, 5)
    mha1(kusari.tensor(flat), kusari.tensor(flat))
    mha1.set_weights(mha2.get_weights())
    np.testing.assert_allclose(out2.numpy().reshape(2, 12, 5), mha1(kusari.tensor(flat), kusari.tensor(flat)).numpy(),
                               rtol=1e-10, atol=1e-12)
    assert mha2.get_config()["attention_axes"] == [1, 2]


def test_mha_dropout_and_config():
    x = kusari.tensor(np.random.default_rng(6).normal(size=(2, 4, 4)).astype("float32"))
    mha = layers.MultiHeadAttention(2, 2, dropout=0.5, seed=0)
    a = mha(x, x).numpy()
    np.testing.assert_allclose(a, mha(x, x, training=False).numpy())
    assert not np.allclose(a, mha(x, x, training=True).numpy())
    cfg = mha.get_config()
    for k, v in {"num_heads": 2, "key_dim": 2, "value_dim": 2, "dropout": 0.5, "use_bias": True,
                 "output_shape": None, "attention_axes": None, "seed": 0}.items():
        assert cfg[k] == v, k
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    clone = layers.MultiHeadAttention.from_config(cfg)
    assert clone.key_dim == 2 and clone.value_dim == 2
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="key"):
        layers.MultiHeadAttention(2, 2)(x, x, key=kusari.tensor(np.ones((2, 3, 4), "float32")))


def test_mha_in_functional_model():
    inp = kusari.Input((4, 6))
    out = layers.MultiHeadAttention(2, 3)(inp, inp, use_causal_mask=True)
    model = kusari.models.Model(inp, out)
    x = np.random.default_rng(7).normal(size=(2, 4, 6)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 4, 6)
    # causal: the first position only sees itself, so changing later positions leaves it unchanged
    x2 = x.copy()
    x2[:, 1:] += 1.0
    np.testing.assert_allclose(model.predict(x2, verbose=0)[:, 0], y[:, 0], rtol=1e-5, atol=1e-6)


# -- Attention / AdditiveAttention values -------------------------------------------------------------------------

def test_attention_values_and_masks():
    rng = np.random.default_rng(8)
    q, v, k = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 4))
    layer = layers.Attention(dtype="float64")
    vmask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    qmask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    out, w = layer([kusari.tensor(q), kusari.tensor(v), kusari.tensor(k)],
                   mask=[kusari.tensor(qmask), kusari.tensor(vmask)], return_attention_scores=True)
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), attn_mask=torch.tensor(vmask)[:, None, :], scale=1.0)
    np.testing.assert_allclose(out.numpy(), ref.numpy() * qmask[..., None], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy()[0, :, 3:], 0.0, atol=1e-12)
    causal = layers.Attention(dtype="float64")([kusari.tensor(q), kusari.tensor(v[:, :3])], use_causal_mask=True)
    ref = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(v[:, :3]),
                                                           torch.tensor(v[:, :3]), is_causal=True, scale=1.0)
    np.testing.assert_allclose(causal.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    add = layers.AdditiveAttention(dtype="float64")
    out = add([kusari.tensor(q), kusari.tensor(v)]).numpy()
    s = add.scale.numpy()
    scores = (s * np.tanh(q[:, :, None, :] + v[:, None, :, :])).sum(-1)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(out, (e / e.sum(-1, keepdims=True)) @ v, rtol=1e-10)
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="list"):
        layers.Attention()(kusari.tensor(q))
