"""Keras files against real Keras 3 (skipped when keras is not installed), and legacy Keras 2 .h5 weights (written
here with h5py in Keras 2's layout)."""
import importlib.util
import os

import numpy as np
import pytest

import kusari

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # from Keras/torch internals

h5py = pytest.importorskip("h5py", reason="Keras files need h5py (pip install kusari[keras-io])")


def _keras():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (optional: pip install keras) — Keras 3 interop not checked")
    # Keras picks its backend at first import; kusari reads KERAS_BACKEND too (and so do the child processes other
    # tests start), so the variable is set only while Keras is imported
    saved = os.environ.get("KERAS_BACKEND")
    if saved is None:
        os.environ["KERAS_BACKEND"] = "torch" if importlib.util.find_spec("torch") else "numpy"
    try:
        import keras
    finally:
        if saved is None:
            os.environ.pop("KERAS_BACKEND", None)
    if not keras.__version__.startswith("3."):
        pytest.skip(f"needs Keras 3, found {keras.__version__}")
    return keras


RNG = np.random.default_rng(0)
IMG = RNG.normal(size=(3, 8, 8, 3)).astype("float32")
TOK = RNG.integers(0, 10, size=(3, 6)).astype("int32")


def _randomize(model):
    """Random weights everywhere (so zero biases and unit BN statistics do not hide a mix-up); variances > 0."""
    rng = np.random.default_rng(1)
    model.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") + 0.5 if "variance" in w.path
                       else rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.weights])


def _cnn(L, Input, Seq):
    return Seq([Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(), L.MaxPooling2D(),
                L.Flatten(), L.Dropout(0.5), L.Dense(5, activation="tanh"), L.Dense(2)])


def _seq_model(L, Input, Model):
    i = Input((6,), dtype="int32")
    h = L.Embedding(10, 4)(i)
    h = L.LSTM(3, return_sequences=True)(h)
    h = L.LSTM(2)(h)
    return Model(i, L.Dense(1)(h))


SEQ = RNG.normal(size=(3, 5, 8)).astype("float32")


def _attention_model(L, Input, Model):
    """MultiHeadAttention, and operator/ops nodes (``h + i``, ``ops.relu``) that Keras writes as operations."""
    ops = getattr(kusari if L is kusari.layers else _keras(), "ops")
    i = Input((5, 8))
    h = L.MultiHeadAttention(2, 4)(i, i)
    h = L.LayerNormalization()(ops.relu(h * 2.0) + i)
    return Model(i, L.Dense(3)(h))


def test_keras_saved_models_load_in_kusari(tmp_path):
    keras = _keras()
    for name, build, x in [("cnn", lambda: _cnn(keras.layers, keras.Input, keras.Sequential), IMG),
                           ("rnn", lambda: _seq_model(keras.layers, keras.Input, keras.Model), TOK),
                           ("mha", lambda: _attention_model(keras.layers, keras.Input, keras.Model), SEQ)]:
        km = build()
        _randomize(km)
        path = str(tmp_path / f"{name}.keras")
        km.save(path)
        mine = kusari.models.load_model(path)
        np.testing.assert_allclose(mine.predict(x, verbose=0), km.predict(x, verbose=0), atol=1e-5, rtol=1e-5)


def test_kusari_saved_models_load_in_keras(tmp_path):
    keras = _keras()
    L = kusari.layers
    for name, build, x in [("cnn", lambda: _cnn(L, kusari.Input, kusari.Sequential), IMG),
                           ("rnn", lambda: _seq_model(L, kusari.Input, kusari.Model), TOK),
                           ("mha", lambda: _attention_model(L, kusari.Input, kusari.Model), SEQ)]:
        mine = build()
        _randomize(mine)
        path = str(tmp_path / f"{name}.keras")
        mine.save(path)
        km = keras.saving.load_model(path)
        np.testing.assert_allclose(km.predict(x, verbose=0), mine.predict(x, verbose=0), atol=1e-5, rtol=1e-5)
        # and back again
        again = kusari.models.load_model(path)
        np.testing.assert_array_equal(again.predict(x, verbose=0), mine.predict(x, verbose=0))


def test_keras_weights_h5_both_ways(tmp_path):
    keras = _keras()
    km = _cnn(keras.layers, keras.Input, keras.Sequential)
    _randomize(km)
    km.save_weights(str(tmp_path / "k.weights.h5"))
    mine = _cnn(kusari.layers, kusari.Input, kusari.Sequential)
    mine.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(mine.predict(IMG, verbose=0), km.predict(IMG, verbose=0), atol=1e-5, rtol=1e-5)
    _randomize(mine)
    mine.save_weights(tmp_path / "m.weights.h5")
    km.load_weights(str(tmp_path / "m.weights.h5"))
    np.testing.assert_allclose(km.predict(IMG, verbose=0), mine.predict(IMG, verbose=0), atol=1e-5, rtol=1e-5)


# -- without Keras ------------------------------------------------------------------------------------------------

def test_kusari_keras_round_trip_without_keras(tmp_path):
    model = _cnn(kusari.layers, kusari.Input, kusari.Sequential)
    _randomize(model)
    model.save(tmp_path / "m.keras")
    again = kusari.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(IMG, verbose=0), model.predict(IMG, verbose=0))
    with h5py.File(__import__("io").BytesIO(__import__("zipfile").ZipFile(tmp_path / "m.keras")
                                            .read("model.weights.h5"))) as f:
        assert f["layers/conv2d/vars/0"].shape == (3, 3, 3, 4)
        assert f["layers/dense_1/vars/0"].shape == (5, 2)
        assert len(f["layers/batch_normalization/vars"]) == 4


def _write_keras2_h5(path, layers, wrap=False):
    """A file in Keras 2's layout: layer groups listed in ``layer_names``, datasets named in ``weight_names``."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if wrap else f
        root.attrs["layer_names"] = [n.encode() for n, _ in layers]
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.15.0"
        for lname, weights in layers:
            g = root.create_group(lname)
            names = [f"{lname}/{w}:0" for w, _ in weights]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, (_, value) in zip(names, weights):
                g.create_dataset(n, data=value)


def test_legacy_keras2_h5(tmp_path):
    rng = np.random.default_rng(2)
    k1, b1 = rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")
    g, be, mm, mv = (rng.normal(size=(4,)).astype("float32") for _ in range(4))
    mv = np.abs(mv) + 0.5
    k2, b2 = rng.normal(size=(4, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    layers = [("input_1", []), ("dense_7", [("kernel", k1), ("bias", b1)]),
              ("batch_normalization_3", [("gamma", g), ("beta", be), ("moving_mean", mm), ("moving_variance", mv)]),
              ("dense_8", [("kernel", k2), ("bias", b2)])]
    for wrap in (False, True):
        path = tmp_path / f"legacy{wrap}.h5"
        _write_keras2_h5(path, layers, wrap)
        model = kusari.Sequential([kusari.Input((6,)), kusari.layers.Dense(4, activation="relu"),
                                   kusari.layers.BatchNormalization(epsilon=1e-3), kusari.layers.Dense(2)])
        model.load_weights(path)
        x = rng.normal(size=(3, 6)).astype("float32")
        h = np.maximum(x @ k1 + b1, 0)
        h = (h - mm) / np.sqrt(mv + 1e-3) * g + be
        np.testing.assert_allclose(model.predict(x, verbose=0), h @ k2 + b2, atol=1e-5, rtol=1e-5)
    # by name, and errors naming the file and the entry
    named = kusari.Sequential([kusari.Input((6,)), kusari.layers.Dense(4, name="dense_7"),
                               kusari.layers.BatchNormalization(name="batch_normalization_3"),
                               kusari.layers.Dense(2, name="dense_8")])
    named.load_weights(tmp_path / "legacyFalse.h5", by_name=True)
    np.testing.assert_array_equal(named.layers[2].kernel.numpy(), k2)
    wrong = kusari.Sequential([kusari.Input((6,)), kusari.layers.Dense(5), kusari.layers.BatchNormalization(),
                               kusari.layers.Dense(2)])
    with pytest.raises(kusari.saving.ModelFileError, match=r"legacyFalse\.h5: entry 'dense_7/kernel:0' has shape"):
        wrong.load_weights(tmp_path / "legacyFalse.h5")
    short = kusari.Sequential([kusari.Input((6,)), kusari.layers.Dense(2)])
    with pytest.raises(kusari.saving.ModelFileError, match="weights for 3 layers"):
        short.load_weights(tmp_path / "legacyFalse.h5")


def test_keras_bad_files(tmp_path):
    import zipfile
    model = kusari.Sequential([kusari.Input((3,)), kusari.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zin, zipfile.ZipFile(tmp_path / "nw.keras", "w") as zout:
        for n in zin.namelist():
            if n != "model.weights.h5":
                zout.writestr(n, zin.read(n))
    with pytest.raises(kusari.saving.ModelFileError, match=r"nw\.keras: missing entry 'model.weights.h5'"):
        kusari.models.load_model(tmp_path / "nw.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zin, zipfile.ZipFile(tmp_path / "uk.keras", "w") as zout:
        for n in zin.namelist():
            d = zin.read(n)
            zout.writestr(n, d.replace(b'"Dense"', b'"Densest"') if n == "config.json" else d)
    with pytest.raises(ValueError, match=r"uk\.keras.*unknown class 'Densest'"):
        kusari.models.load_model(tmp_path / "uk.keras")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(kusari.saving.ModelFileError, match=r"junk\.h5: not a readable HDF5"):
        model.load_weights(tmp_path / "junk.h5")


def test_subclassed_model_refused_for_keras(tmp_path):
    class Sub(kusari.Model):
        def call(self, x):
            return x
    with pytest.raises(ValueError, match="subclassed"):
        Sub().save(tmp_path / "s.keras")
