"""The native .kusari format: the three kinds of model, custom objects, metadata, weights files, safe mode, and a
clear error for each kind of bad file."""
import json
import os
import zipfile

import numpy as np
import pytest

import kusari
from kusari.saving import ModelFileError
from tests.saving import _models

X = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")


def _functional():
    a = kusari.Input((6,), name="a")
    b = kusari.Input((6,), name="b")
    h = kusari.layers.Dense(5, activation="tanh")(a)
    g = kusari.layers.Dense(5)(b)
    m = kusari.layers.Concatenate()([h, g])
    out1 = kusari.layers.Dense(2, name="out1")(m)
    out2 = kusari.layers.Add()([h, g])
    return kusari.Model([a, b], [out1, out2])


def _flat(x):
    return [y for v in x for y in _flat(v)] if isinstance(x, (list, tuple)) else [np.asarray(x)]


def test_functional_graph_round_trip(tmp_path):
    model = _functional()
    model.save(tmp_path / "f.kusari")
    again = kusari.models.load_model(tmp_path / "f.kusari")
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    for u, v in zip(_flat(model.predict([X, X], verbose=0)), _flat(again.predict([X, X], verbose=0))):
        np.testing.assert_array_equal(u, v)


def test_sequential_round_trip_with_optimizer_state(tmp_path):
    model = kusari.Sequential([kusari.Input((6,)), kusari.layers.Dense(4, activation="relu"),
                               kusari.layers.BatchNormalization(), kusari.layers.Dense(2)])
    model.compile(kusari.optimizers.Adam(0.01), "mse", metrics=["mae"])
    x, y = _models.data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "s.kusari")
    again = kusari.models.load_model(tmp_path / "s.kusari")
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    for u, v in zip(again.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(u.numpy(), v.numpy())
    assert type(again.optimizer).__name__ == "Adam"
    without = kusari.models.load_model(tmp_path / "s.kusari", compile=False)
    assert not without.compiled


@kusari.saving.register_serializable(package="kusari_tests")
class TwoLayer(kusari.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.a = kusari.layers.Dense(units, activation="relu")
        self.b = kusari.layers.Dense(2)

    def call(self, x):
        return self.b(self.a(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Unregistered(kusari.layers.Layer):
    def call(self, x):
        return x * 3.0


def test_subclassed_model_registered_and_custom_objects(tmp_path):
    model = TwoLayer(units=4)
    model(X)
    model.save(tmp_path / "sub.kusari")
    again = kusari.models.load_model(tmp_path / "sub.kusari")
    assert isinstance(again, TwoLayer) and again.units == 4
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))

    seq = kusari.Sequential([kusari.Input((6,)), Unregistered(), kusari.layers.Dense(1)])
    seq.save(tmp_path / "u.kusari")
    with pytest.raises(ValueError, match=r"u\.kusari.*unknown class 'Unregistered'"):
        kusari.models.load_model(tmp_path / "u.kusari")
    again = kusari.models.load_model(tmp_path / "u.kusari", custom_objects={"Unregistered": Unregistered})
    np.testing.assert_array_equal(again.predict(X, verbose=0), seq.predict(X, verbose=0))


def test_metadata(tmp_path):
    kusari.Sequential([kusari.Input((2,)), kusari.layers.Dense(1)]).save(tmp_path / "m.kusari")
    meta = json.loads(zipfile.ZipFile(tmp_path / "m.kusari").read("metadata.json"))
    assert meta["format"] == "kusari" and meta["kusari_version"] == kusari.__version__
    assert meta["backend"] == "numpy" and meta["date_saved"][:2] == "20"


def test_lambda_needs_safe_mode_off(tmp_path):
    def triple(x):
        return x * 3

    model = kusari.Sequential([kusari.Input((2,)), kusari.layers.Lambda(triple)])
    model.save(tmp_path / "l.kusari")
    with pytest.raises(ValueError, match="safe_mode=False"):
        kusari.models.load_model(tmp_path / "l.kusari")
    with pytest.raises(ValueError, match="needs its function"):
        kusari.models.load_model(tmp_path / "l.kusari", safe_mode=False)
    again = kusari.models.load_model(tmp_path / "l.kusari", safe_mode=False, custom_objects={"triple": triple})
    np.testing.assert_array_equal(again.predict(np.ones((1, 2)), verbose=0), [[3.0, 3.0]])


def test_no_pickle_in_the_file(tmp_path):
    model = _functional()
    model.save(tmp_path / "f.kusari")
    for name in zipfile.ZipFile(tmp_path / "f.kusari").namelist():
        assert name.endswith((".json", ".safetensors")), name


# -- weights files ----------------------------------------------------------------------------------------------

def _mlp(units=(4, 2)):
    return kusari.Sequential([kusari.Input((6,))] + [kusari.layers.Dense(u) for u in units])


def test_weights_by_order_and_by_name(tmp_path):
    src = _mlp()
    src.save_weights(tmp_path / "w.weights.safetensors")
    dst = _mlp()
    dst.load_weights(tmp_path / "w.weights.safetensors")
    np.testing.assert_array_equal(dst.predict(X, verbose=0), src.predict(X, verbose=0))
    # by name: same layer names, any order of creation
    named = kusari.Sequential([kusari.Input((6,)), kusari.layers.Dense(4, name=src.layers[0].name),
                               kusari.layers.Dense(2, name=src.layers[1].name)])
    named.load_weights(tmp_path / "w.weights.safetensors", by_name=True)
    np.testing.assert_array_equal(named.predict(X, verbose=0), src.predict(X, verbose=0))
    # also from a whole-model file
    src.save(tmp_path / "m.kusari")
    dst2 = _mlp()
    dst2.load_weights(tmp_path / "m.kusari")
    np.testing.assert_array_equal(dst2.predict(X, verbose=0), src.predict(X, verbose=0))


def test_weights_skip_mismatch(tmp_path):
    src = _mlp((4, 2))
    src.save_weights(tmp_path / "w.weights.safetensors")
    other = _mlp((4, 3))
    before = other.layers[1].kernel.numpy().copy()
    with pytest.raises(ModelFileError, match=r"w\.weights\.safetensors.*shape \(4, 2\).*\(4, 3\)"):
        other.load_weights(tmp_path / "w.weights.safetensors")
    other = _mlp((4, 3))
    before = other.layers[1].kernel.numpy().copy()
    other.load_weights(tmp_path / "w.weights.safetensors", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), src.layers[0].kernel.numpy())
    np.testing.assert_array_equal(other.layers[1].kernel.numpy(), before)
    bigger = _mlp((4, 2, 2))
    with pytest.raises(ModelFileError, match="holds 4 weights, the model has 6"):
        bigger.load_weights(tmp_path / "w.weights.safetensors")
    bigger.load_weights(tmp_path / "w.weights.safetensors", skip_mismatch=True)


def test_weights_file_name_checked(tmp_path):
    with pytest.raises(ValueError, match=".weights.safetensors"):
        _mlp().save_weights(tmp_path / "w.bin")


# -- bad files ----------------------------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.kusari"
    _mlp().save(path)
    return path


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = change(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return dst


def test_truncated_zip(saved, tmp_path):
    data = saved.read_bytes()
    bad = tmp_path / "cut.kusari"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.kusari: truncated or corrupt zip"):
        kusari.models.load_model(bad)


def test_wrong_magic(tmp_path):
    bad = tmp_path / "notes.kusari"
    bad.write_bytes(b"hello, this is not a model")
    with pytest.raises(ModelFileError, match=r"notes\.kusari: not a kusari model \(starts with b'hell'\)"):
        kusari.models.load_model(bad)


def test_corrupt_entry(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    i = data.find(b'"format"')
    data[i + 1] = ord("F")       # flip a byte inside metadata.json: its CRC no longer matches
    bad = tmp_path / "crc.kusari"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"crc\.kusari: entry 'metadata.json' is corrupt"):
        kusari.models.load_model(bad)


def test_missing_entry(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / "nw.kusari", lambda n, d: None if n == "model.weights.safetensors" else d)
    with pytest.raises(ModelFileError, match=r"nw\.kusari: missing entry 'model.weights.safetensors'"):
        kusari.models.load_model(bad)


def test_missing_weight(saved, tmp_path):
    from safetensors.numpy import load, save

    def drop_bias(name, data):
        if name != "model.weights.safetensors":
            return data
        arrays = load(data)
        key = sorted(k for k in arrays if k.endswith("bias"))[0]
        del arrays[key]
        return save(arrays)
    bad = _rewrite(saved, tmp_path / "mw.kusari", drop_bias)
    with pytest.raises(ModelFileError, match=r"mw\.kusari:model\.weights\.safetensors: the file holds 3 weights"):
        kusari.models.load_model(bad)
    with pytest.raises(ModelFileError, match=r"mw\.kusari:model\.weights\.safetensors: no weights named"):
        _mlp().load_weights(bad, by_name=True)


def test_shape_mismatch(saved, tmp_path):
    def wider(name, data):
        if name != "config.json":
            return data
        return data.decode().replace('"units": 2', '"units": 3').encode()
    bad = _rewrite(saved, tmp_path / "sh.kusari", wider)
    with pytest.raises(ModelFileError, match=r"sh\.kusari:model\.weights\.safetensors: entry '.*kernel' has shape"):
        kusari.models.load_model(bad)


def test_unknown_layer_class(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / "uk.kusari",
                   lambda n, d: d.replace(b'"class_name": "Dense"', b'"class_name": "Densest"')
                   if n == "config.json" else d)
    with pytest.raises(ValueError, match=r"uk\.kusari: entry 'config.json': unknown class 'Densest'"):
        kusari.models.load_model(bad)


def test_newer_format(saved, tmp_path):
    def newer(name, data):
        if name != "metadata.json":
            return data
        meta = json.loads(data)
        meta.update(format_version=99, kusari_version="9.0")
        return json.dumps(meta)
    bad = _rewrite(saved, tmp_path / "new.kusari", newer)
    with pytest.raises(ModelFileError, match=r"new\.kusari: written by kusari 9\.0 in format version 99.*upgrade"):
        kusari.models.load_model(bad)


def test_bad_json(saved, tmp_path):
    bad = _rewrite(saved, tmp_path / "bj.kusari", lambda n, d: b"{nope" if n == "config.json" else d)
    with pytest.raises(ModelFileError, match=r"bj\.kusari: entry 'config.json' is not valid JSON"):
        kusari.models.load_model(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        kusari.models.load_model(tmp_path / "absent.kusari")
