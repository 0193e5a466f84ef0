"""Same layer, same input shape in Keras 3 and kusari: same weights (number, shapes, order) and, after
``set_weights(keras_layer.get_weights())``, the same outputs in inference mode. This is what lets saved weights
carry over."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kusari  # noqa: E402
from kusari import layers  # noqa: E402
from tests.compat._util import random_weights  # noqa: E402

# (name, constructor taking the layers module, input shape or list of shapes, input kind)
CASES = [
    ("Dense", lambda L: L.Dense(4, activation="tanh"), (3, 5), "float"),
    ("Conv1D", lambda L: L.Conv1D(4, 3, padding="same"), (2, 7, 3), "float"),
    ("Conv1D_causal_dilated", lambda L: L.Conv1D(2, 2, padding="causal", dilation_rate=2), (2, 7, 3), "float"),
    ("Conv2D", lambda L: L.Conv2D(4, 3, strides=2), (2, 7, 7, 3), "float"),
    ("Conv2D_groups", lambda L: L.Conv2D(4, 3, groups=2, padding="same"), (2, 5, 5, 4), "float"),
    ("Conv3D", lambda L: L.Conv3D(2, 2), (1, 4, 4, 4, 2), "float"),
    ("Conv2DTranspose", lambda L: L.Conv2DTranspose(3, 3, strides=2), (2, 4, 4, 2), "float"),
    ("Conv2DTranspose_same", lambda L: L.Conv2DTranspose(3, 3, strides=2, padding="same"), (2, 4, 4, 2), "float"),
    ("DepthwiseConv2D", lambda L: L.DepthwiseConv2D(3, depth_multiplier=2), (2, 5, 5, 3), "float"),
    ("SeparableConv2D", lambda L: L.SeparableConv2D(4, 3, depth_multiplier=2), (2, 5, 5, 3), "float"),
    ("BatchNormalization", lambda L: L.BatchNormalization(), (4, 3, 5), "float"),
    ("LayerNormalization", lambda L: L.LayerNormalization(), (4, 3, 5), "float"),
    ("GroupNormalization", lambda L: L.GroupNormalization(groups=2), (2, 3, 4), "float"),
    ("Embedding", lambda L: L.Embedding(10, 4), (3, 5), "int"),
    ("SimpleRNN", lambda L: L.SimpleRNN(4, return_sequences=True), (2, 5, 3), "float"),
    ("LSTM", lambda L: L.LSTM(4), (2, 5, 3), "float"),
    ("GRU", lambda L: L.GRU(4, return_sequences=True), (2, 5, 3), "float"),
    ("GRU_reset_before", lambda L: L.GRU(4, reset_after=False), (2, 5, 3), "float"),
    ("Bidirectional_LSTM", lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True)), (2, 5, 3), "float"),
    ("MultiHeadAttention", lambda L: L.MultiHeadAttention(2, 4), [(2, 5, 6), (2, 3, 6)], "float"),
    ("PReLU", lambda L: L.PReLU(), (2, 3, 4), "float"),
    ("PReLU_shared", lambda L: L.PReLU(shared_axes=[1]), (2, 3, 4), "float"),
    ("ReLU", lambda L: L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2), (2, 3, 4), "float"),
    ("LeakyReLU", lambda L: L.LeakyReLU(), (2, 3, 4), "float"),
    ("ELU", lambda L: L.ELU(alpha=0.7), (2, 3, 4), "float"),
    ("Softmax", lambda L: L.Softmax(), (2, 3, 4), "float"),
    ("Softmax_axes", lambda L: L.Softmax(axis=[1, 2]), (2, 3, 4), "float"),
    ("Rescaling", lambda L: L.Rescaling(1 / 255, offset=-1.0), (2, 3, 4), "float"),
    ("CenterCrop", lambda L: L.CenterCrop(2, 3), (2, 5, 6, 3), "float"),
    ("Normalization_given", lambda L: L.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 0.5]),
     (2, 3, 4), "float"),
]


def test_normalization_adapt_matches_keras():
    data = np.random.default_rng(1).normal(2.0, 3.0, size=(40, 3, 4)).astype("float32")
    k = keras.layers.Normalization(axis=-1)
    k.adapt(data)
    m = layers.Normalization(axis=-1)
    m.adapt(data)
    assert [tuple(w.shape) for w in m.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    np.testing.assert_allclose(m.adapt_mean.numpy(), keras.ops.convert_to_numpy(k.adapt_mean), rtol=1e-5)
    np.testing.assert_allclose(m.adapt_variance.numpy(), keras.ops.convert_to_numpy(k.adapt_variance), rtol=1e-4)
    np.testing.assert_allclose(m(data).numpy(), keras.ops.convert_to_numpy(k(data)), rtol=1e-4, atol=1e-4)


def _inputs(shapes, kind, rng):
    if isinstance(shapes, list):
        return [_inputs(s, kind, rng) for s in shapes]
    if kind == "int":
        return rng.integers(0, 10, size=shapes).astype("int32")
    return rng.normal(size=shapes).astype("float32")


def _call(layer, x, training_arg):
    kw = {"training": False} if training_arg else {}
    if isinstance(x, list):
        return layer(*x, **kw)
    return layer(x, **kw)


@pytest.mark.parametrize("name, make, shapes, kind", CASES, ids=[c[0] for c in CASES])
def test_weights_and_outputs_match_keras(name, make, shapes, kind):
    if not hasattr(layers, type(make(keras.layers)).__name__):
        pytest.skip(f"kusari has no {type(make(keras.layers)).__name__}")
    rng = np.random.default_rng(0)
    x = _inputs(shapes, kind, rng)
    training_arg = name in ("BatchNormalization",)
    k = make(keras.layers)
    y_keras = keras.ops.convert_to_numpy(_call(k, x, training_arg))
    random_weights(k)
    y_keras = keras.ops.convert_to_numpy(_call(k, x, training_arg))

    m = make(layers)
    xk = [kusari.tensor(a) for a in x] if isinstance(x, list) else kusari.tensor(x)
    _call(m, xk, training_arg)
    want = k.get_weights()
    have = m.get_weights()
    assert len(have) == len(want), f"{name}: {len(have)} weights, Keras {len(want)}"
    assert [tuple(w.shape) for w in have] == [tuple(w.shape) for w in want], \
        f"{name}: weight shapes {[w.shape for w in have]}, Keras {[w.shape for w in want]}"
    assert len(m.trainable_weights) == len(k.trainable_weights)
    m.set_weights(want)
    y = _call(m, xk, training_arg).numpy()
    np.testing.assert_allclose(y, y_keras, rtol=1e-5, atol=1e-5, err_msg=name)
