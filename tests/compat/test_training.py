"""Training semantics equal Keras 3's: optimizer update rules, and the losses compile/evaluate report."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kusari  # noqa: E402


@pytest.mark.parametrize("make", [
    lambda M: M.optimizers.Adam(learning_rate=0.01),
    lambda M: M.optimizers.Adam(learning_rate=0.01, amsgrad=True),
    lambda M: M.optimizers.SGD(learning_rate=0.1),
    lambda M: M.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    lambda M: M.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    lambda M: M.optimizers.RMSprop(learning_rate=0.01),
    lambda M: M.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    lambda M: M.optimizers.AdamW(learning_rate=0.01, weight_decay=0.1),
    lambda M: M.optimizers.Adagrad(learning_rate=0.1),
], ids=["adam", "adam_amsgrad", "sgd", "sgd_momentum", "sgd_nesterov", "rmsprop", "rmsprop_centered", "adamw",
        "adagrad"])
def test_optimizer_steps_match_keras(make):
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in w0] for _ in range(3)]
    kv = [keras.Variable(w) for w in w0]
    mv = [kusari.Variable(kusari.tensor(w)) for w in w0]
    kopt, mopt = make(keras), make(kusari)
    for g in grads:     # three steps: momentum and moment estimates matter
        kopt.apply_gradients(zip([keras.ops.convert_to_tensor(a) for a in g], kv))
        mopt.apply_gradients(zip([kusari.tensor(a) for a in g], mv))
    for a, b in zip(mv, kv):
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


def _model(M, activation):
    return M.Sequential([M.layers.Input((5,)), M.layers.Dense(3, activation=activation)])


@pytest.mark.parametrize("loss, activation", [
    ("sparse_categorical_crossentropy", "softmax"), ("categorical_crossentropy", "softmax"),
    ("binary_crossentropy", "sigmoid"), ("mse", None), ("mae", None)])
def test_evaluate_reports_keras_loss(loss, activation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 5)).astype("float32")
    if loss.startswith("sparse"):
        y = rng.integers(0, 3, size=(25,))
    elif loss == "categorical_crossentropy":
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=(25,))]
    elif loss == "binary_crossentropy":
        y = rng.integers(0, 2, size=(25, 3)).astype("float32")
    else:
        y = rng.normal(size=(25, 3)).astype("float32")
    k, m = _model(keras, activation), _model(kusari, activation)
    k.compile(optimizer="sgd", loss=loss)
    m.compile(optimizer="sgd", loss=loss)
    m.build((None, 5))
    m.set_weights(k.get_weights())
    # batch_size 10 on 25 samples: a partial last batch, weighted as Keras weights it
    want = k.evaluate(x, y, batch_size=10, verbose=0)
    have = m.evaluate(x, y, batch_size=10, verbose=0)
    np.testing.assert_allclose(have, want, rtol=1e-5)


def test_one_fit_epoch_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.integers(0, 3, size=(32,))
    k, m = _model(keras, "softmax"), _model(kusari, "softmax")
    for model, M in ((k, keras), (m, kusari)):
        model.compile(optimizer=M.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    m.build((None, 5))
    m.set_weights(k.get_weights())
    hk = k.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    hm = m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(hm["loss"], hk["loss"], rtol=1e-5)
    np.testing.assert_allclose(hm["accuracy"], hk["accuracy"], rtol=1e-6)
    for a, b in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
