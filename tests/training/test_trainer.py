import numpy as np
import pytest

import kusari
from kusari import layers


def _digits_flat(n=None):
    (x, y), (xt, yt) = kusari.datasets.digits.load_data()
    x = (x.reshape(len(x), -1) / 16.0).astype("float32")
    xt = (xt.reshape(len(xt), -1) / 16.0).astype("float32")
    return (x[:n], y[:n]), (xt, yt)


def _mlp(units=64, classes=10, inputs=64):
    return kusari.Sequential([kusari.Input((inputs,)), layers.Dense(units, activation="relu"),
                              layers.Dense(classes, activation="softmax")])


def test_digits_mlp_reaches_093_test_accuracy():
    kusari.utils.set_random_seed(0)
    (x, y), (xt, yt) = _digits_flat()
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(xt, yt, verbose=0)
    assert acc >= 0.93, acc


def test_fit_validation_and_history_keys():
    kusari.utils.set_random_seed(1)
    (x, y), _ = _digits_flat(400)
    model = _mlp(16)
    model.compile(optimizer=kusari.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, batch_size=50, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 3 and h.epoch == [0, 1, 2]
    # validation_split takes the LAST samples: evaluating on them reproduces val_loss
    val = model.evaluate(x[300:], y[300:], verbose=0, return_dict=True)
    assert val["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-5)


def test_evaluate_return_forms_and_predict_batches():
    (x, y), _ = _digits_flat(100)
    model = _mlp(8)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out = model.evaluate(x, y, verbose=0, batch_size=7)
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert isinstance(out, list) and out[0] == pytest.approx(d["loss"]) and out[1] == pytest.approx(d["accuracy"])
    p_small = model.predict(x, batch_size=7, verbose=0)
    p_big = model.predict(x, batch_size=100, verbose=0)
    assert p_small.shape == (100, 10)
    np.testing.assert_allclose(p_small, p_big, rtol=1e-5, atol=1e-6)
    manual = model(x).numpy()
    np.testing.assert_allclose(p_big, manual, rtol=1e-5, atol=1e-6)
    # the loss evaluate reports is the mean cross-entropy
    ce = -np.log(manual[np.arange(100), y]).mean()
    assert d["loss"] == pytest.approx(ce, rel=1e-4)


def test_generators_and_datasets_and_steps_per_epoch():
    (x, y), _ = _digits_flat(256)
    model = _mlp(8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    def gen():
        while True:
            for i in range(0, 256, 32):
                yield x[i:i + 32], y[i:i + 32]

    h = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    ds = kusari.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).batch(64)
    h2 = model.fit(ds, epochs=2, verbose=0, validation_data=ds)
    assert "val_loss" in h2.history
    assert model.evaluate(ds, verbose=0) == pytest.approx(h2.history["val_loss"][-1], rel=1e-5)


def test_sample_weight_and_class_weight_change_the_loss():
    (x, y), _ = _digits_flat(64)
    model = _mlp(8)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    base = model.evaluate(x, y, verbose=0, batch_size=64)
    w = np.zeros(64, "float32")
    w[:32] = 2.0
    weighted = model.evaluate(x, y, sample_weight=w, verbose=0, batch_size=64)
    per = -np.log(model.predict(x, verbose=0)[np.arange(64), y])
    assert weighted == pytest.approx((per * w).mean(), rel=1e-4)
    assert base == pytest.approx(per.mean(), rel=1e-4)
    logs = model.train_on_batch(x, y, class_weight={c: 0.0 for c in range(10)}, return_dict=True)
    assert logs["loss"] == pytest.approx(0.0, abs=1e-7)


def test_initial_epoch_and_callbacks_receive_logs():
    (x, y), _ = _digits_flat(64)
    model = _mlp(8)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seen = []
    cb = kusari.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))
    model.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[cb])
    assert seen == [(2, ["accuracy", "loss"]), (3, ["accuracy", "loss"])]


def test_custom_train_step_logs_reach_history_and_callbacks():
    class Custom(kusari.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.tracker = kusari.metrics.Mean(name="my_loss")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            pred = self(x, training=True)
            loss = kusari.ops.mean((pred - y) ** 2)
            grads = kusari.grad(loss, self.trainable_weights)
            self.optimizer.apply(grads, self.trainable_weights)
            self.tracker.update_state(loss)
            return {"my_loss": self.tracker.result(), "constant": 7.0}

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = Custom()
    model.compile(optimizer=kusari.optimizers.SGD(0.1))
    epochs = []
    cb = kusari.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(dict(logs)))
    h = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[cb])
    assert h.history["constant"] == [7.0] * 5
    assert h.history["my_loss"][-1] < h.history["my_loss"][0] / 5
    assert epochs[-1]["my_loss"] == h.history["my_loss"][-1]


def test_trainable_false_takes_effect_at_the_next_step_without_recompiling():
    (x, y), _ = _digits_flat(64)
    model = _mlp(8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    first = model.layers[0]
    model.train_on_batch(x, y)
    first.trainable = False
    frozen = [w.numpy().copy() for w in first.weights]
    head = model.layers[1].kernel.numpy().copy()
    model.train_on_batch(x, y)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen, first.weights))
    assert not np.array_equal(head, model.layers[1].kernel.numpy())
    first.trainable = True
    model.train_on_batch(x, y)
    assert not np.array_equal(frozen[0], first.kernel.numpy())


def test_multi_output_losses_loss_weights_and_named_logs():
    inp = kusari.Input((4,))
    a = layers.Dense(1, name="reg")(inp)
    b = layers.Dense(3, activation="softmax", name="cls")(inp)
    model = kusari.Model(inp, [a, b])
    model.compile(optimizer="sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0}, metrics={"cls": ["accuracy"]})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    ya = rng.normal(size=(16, 1)).astype("float32")
    yb = rng.integers(0, 3, size=16)
    logs = model.test_on_batch(x, {"reg": ya, "cls": yb}, return_dict=True)
    assert {"loss", "reg_loss", "cls_loss", "cls_accuracy"} <= set(logs)
    assert logs["loss"] == pytest.approx(0.5 * logs["reg_loss"] + 2.0 * logs["cls_loss"], rel=1e-5)
    pa, pb = model.predict_on_batch(x)
    assert logs["reg_loss"] == pytest.approx(((pa - ya) ** 2).mean(), rel=1e-5)


def test_unknown_names_list_the_valid_ones():
    model = _mlp(4)
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamx", loss="mse")
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        model.compile(optimizer="sgd", loss="cross_entropy_please")


def test_on_batch_logs_describe_that_batch_alone_like_keras3():
    (x, y), _ = _digits_flat(64)
    model = _mlp(8)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)          # leaves running means in the trackers
    a = model.test_on_batch(x[:32], y[:32])
    b = model.test_on_batch(x[:32], y[:32])
    assert a == b == pytest.approx(model.evaluate(x[:32], y[:32], verbose=0, batch_size=32))


def test_fit_before_compile_is_a_clear_error():
    with pytest.raises(RuntimeError, match="compile"):
        _mlp(4).fit(np.zeros((2, 64)), np.zeros(2), verbose=0)


def test_keras_snippets_run_unchanged():
    keras = kusari  # "import kusari as keras"
    inputs = keras.Input(shape=(64,))
    x = keras.layers.Dense(32, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="digits_mlp")
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train.reshape(-1, 64).astype("float32") / 16
    history = model.fit(x_train, y_train, batch_size=64, epochs=12, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.8
