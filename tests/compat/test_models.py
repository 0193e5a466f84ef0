"""Whole models written once against a ``keras``-like module and built both in Keras 3 and in kusari: the same
weights give the same predictions, and the parameter totals agree."""
import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kusari  # noqa: E402


def mnist_cnn(K):
    # examples/mnist_cnn.py's architecture (the seed Keras 3 script)
    L = K.layers
    return K.Sequential([
        L.Input(shape=(28, 28, 1)),
        L.Conv2D(32, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])


def multi_io(K):
    L = K.layers
    text = L.Input(shape=(6,), dtype="int32", name="text")
    image = L.Input(shape=(8, 8, 3), name="image")
    t = L.Embedding(20, 4)(text)
    t = L.LSTM(5)(t)
    i = L.Conv2D(4, 3, activation="relu")(image)
    i = L.GlobalAveragePooling2D()(i)
    h = L.Concatenate()([t, i])
    h = L.Dense(8, activation="relu")(h)
    h = L.BatchNormalization()(h)
    out_class = L.Dense(3, activation="softmax", name="cls")(h)
    out_reg = L.Dense(1, name="reg")(L.Add()([h, L.Dense(8)(i)]))
    return K.Model(inputs=[text, image], outputs=[out_class, out_reg])


def subclassed(K):
    class Net(K.Model):
        def __init__(self):
            super().__init__()
            self.hidden = K.layers.Dense(8, activation="relu")
            self.norm = K.layers.LayerNormalization()
            self.out = K.layers.Dense(3)

        def call(self, x, training=False):
            return self.out(self.norm(self.hidden(x)))
    return Net()


def _inputs(name, rng):
    if name == "mnist_cnn":
        return rng.uniform(size=(4, 28, 28, 1)).astype("float32")
    if name == "multi_io":
        return [rng.integers(0, 20, size=(4, 6)).astype("int32"), rng.normal(size=(4, 8, 8, 3)).astype("float32")]
    return rng.normal(size=(4, 5)).astype("float32")


def _total_params(summary_text):
    m = re.search(r"Total params:\s*([\d,]+)", summary_text)
    assert m, summary_text
    return int(m.group(1).replace(",", ""))


@pytest.mark.parametrize("build", [mnist_cnn, multi_io, subclassed], ids=lambda f: f.__name__)
def test_same_weights_same_predictions(build):
    x = _inputs(build.__name__, np.random.default_rng(0))
    k = build(keras)
    k.predict(x, verbose=0)
    rng = np.random.default_rng(1)
    k.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) if "variance" in v.path
                   else rng.normal(0, 0.3, w.shape).astype(w.dtype) for v, w in zip(k.weights, k.get_weights())])
    want = k.predict(x, verbose=0)

    m = build(kusari)
    m.predict(x, verbose=0)
    assert [tuple(w.shape) for w in m.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    m.set_weights(k.get_weights())
    have = m.predict(x, verbose=0)
    want, have = (want, have) if isinstance(want, list) else ([want], [have])
    assert len(have) == len(want)
    for a, b in zip(have, want):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-5)

    assert m.count_params() == k.count_params()
    lines = []
    m.summary(print_fn=lines.append)
    assert _total_params("\n".join(lines)) == k.count_params()
