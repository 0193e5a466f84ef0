"""Constructor signatures and ``get_config`` keys of kusari's classes equal Keras 3's.

Where kusari differs on purpose, the difference is listed below with its reason. kusari accepting *more* than Keras
(an extra parameter) never breaks Keras code, so extra parameters are allowed; missing parameters, other defaults
and another order of the shared parameters are not.
"""
import inspect

import pytest

keras = pytest.importorskip("keras")

import kusari  # noqa: E402
from kusari import callbacks, initializers, layers, losses, metrics, optimizers  # noqa: E402

# (module, class, parameter) -> why kusari's constructor differs from Keras'
SIGNATURE_ALLOWED = {
    ("layers", "AveragePooling1D", "pool_size"): "kusari defaults pool_size like MaxPooling1D (2); Keras requires "
                                                 "it. More lenient only: Keras code always passes it",
    ("layers", "AveragePooling2D", "pool_size"): "as AveragePooling1D: default (2, 2) where Keras requires it",
    ("layers", "AveragePooling3D", "pool_size"): "as AveragePooling1D: default (2, 2, 2) where Keras requires it",
    ("layers", "AvgPool1D", "pool_size"): "alias of AveragePooling1D",
    ("layers", "AvgPool2D", "pool_size"): "alias of AveragePooling2D",
    ("layers", "AvgPool3D", "pool_size"): "alias of AveragePooling3D",
    ("callbacks", "TensorBoard", "write_graph"): "a define-by-run model has no static graph; kusari's write_graph "
                                                 "writes a text summary instead and is opt-in (False)",
}

# (class, key) -> why kusari's get_config of a default-constructed layer has a key Keras' lacks, or lacks one
CONFIG_ALLOWED = {
    ("Dense", "activity_regularizer"): "kusari writes every constructor argument; Keras' Dense omits this one "
                                       "(its from_config accepts it)",
    ("Dense", "quantization_config"): "kusari has no quantization (a non-None value raises NotImplementedError)",
    ("Embedding", "quantization_config"): "kusari has no quantization (a non-None value raises NotImplementedError)",
    ("SpatialDropout1D", "trainable"): "kusari writes the base Layer keys for every layer; Keras' SpatialDropout "
                                       "omits trainable (its from_config accepts it)",
    ("SpatialDropout2D", "trainable"): "as SpatialDropout1D",
    ("SpatialDropout3D", "trainable"): "as SpatialDropout1D",
    ("SimpleRNN", "seed"): "kusari writes the dropout seed as LSTM/GRU do; Keras' SimpleRNN omits it",
}
# config keys whose *values* are not compared: dtype (Keras writes a DTypePolicy dict, kusari the dtype name: kusari
# has no dtype policies) and name (per-process counters)
CONFIG_VALUES_SKIPPED = {"dtype", "name"}


def _params(cls):
    out = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            out[p.name] = p.default
    return out


def _positional(cls):
    return [p.name for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _shared_classes(kusari_mod, keras_mod, names):
    rows = []
    for n in sorted(set(names)):
        a, b = getattr(keras_mod, n, None), getattr(kusari_mod, n, None)
        if inspect.isclass(a) and inspect.isclass(b):
            rows.append((n, a, b))
    return rows


def _public(mod):
    return getattr(mod, "__all__", None) or [n for n in dir(mod) if n[:1].isupper()]


CASES = []
for _modname, _mod, _kmod in (("layers", layers, keras.layers), ("optimizers", optimizers, keras.optimizers),
                              ("losses", losses, keras.losses), ("metrics", metrics, keras.metrics),
                              ("callbacks", callbacks, keras.callbacks),
                              ("initializers", initializers, keras.initializers)):
    names = layers.__all__ if _modname == "layers" else _public(_mod)
    for _n, _a, _b in _shared_classes(_mod, _kmod, names):
        CASES.append(pytest.param(_modname, _n, _a, _b, id=f"{_modname}.{_n}"))


def test_enough_classes_are_compared():
    kinds = {c.values[0] for c in CASES}
    assert kinds == {"layers", "optimizers", "losses", "metrics", "callbacks", "initializers"}
    assert len(CASES) > 150


def _same_default(modname, name, param, keras_default, kusari_default, kusari_cls):
    if keras_default is inspect.Parameter.empty or kusari_default is inspect.Parameter.empty:
        return keras_default is kusari_default
    if param == "name" and isinstance(keras_default, str) and kusari_default is None:
        # kusari resolves name=None to the class's default name: compare what an instance gets
        return kusari_cls().name == keras_default
    if isinstance(keras_default, (list, tuple)) and isinstance(kusari_default, (list, tuple)):
        return list(keras_default) == list(kusari_default)
    return type(keras_default) is type(kusari_default) and keras_default == kusari_default or \
        (isinstance(keras_default, float) and isinstance(kusari_default, (int, float)) and
         keras_default == kusari_default and not isinstance(kusari_default, bool))


@pytest.mark.parametrize("modname, name, keras_cls, kusari_cls", CASES)
def test_constructor_signature_matches_keras(modname, name, keras_cls, kusari_cls):
    want, have = _params(keras_cls), _params(kusari_cls)
    problems = []
    for param, default in want.items():
        if (modname, name, param) in SIGNATURE_ALLOWED:
            continue
        if param not in have:
            problems.append(f"missing parameter {param}={default!r}")
        elif not _same_default(modname, name, param, default, have[param], kusari_cls):
            problems.append(f"{param}: Keras default {default!r}, kusari {have[param]!r}")
    # the order matters for arguments that can be passed by position
    shared_keras = [p for p in _positional(keras_cls) if p in have]
    shared_kusari = [p for p in _positional(kusari_cls) if p in want]
    if shared_keras != shared_kusari:
        problems.append(f"parameter order: Keras {shared_keras}, kusari {shared_kusari}")
    assert not problems, f"{modname}.{name}: " + "; ".join(problems)


# -- get_config of a default-constructed layer ---------------------------------------------------------------------
_REQUIRED = {"units": 3, "filters": 2, "kernel_size": 3, "pool_size": 2, "rate": 0.5, "input_dim": 10,
             "output_dim": 4, "num_heads": 2, "key_dim": 4, "activation": "relu", "target_shape": (2,),
             "dims": (1,), "n": 2, "size": 2, "padding": 1, "cropping": 1, "shape": (3,), "stddev": 0.1,
             "axes": 1, "l1": 0.0, "l2": 0.0, "scale": 0.5, "height": 2, "width": 2}
_CONFIG_SKIPPED = {"Lambda": "a Python function: Keras writes marshalled bytecode, kusari refuses to (no pickles)"}


def _make(mod, name):
    cls = getattr(mod, name)
    kwargs = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.default is not inspect.Parameter.empty or \
                p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.name == "cell":
            kwargs["cell"] = mod.SimpleRNNCell(2)
        elif p.name == "layer":
            kwargs["layer"] = mod.LSTM(2)
        else:
            kwargs[p.name] = _REQUIRED[p.name]
    return cls(**kwargs)


LAYER_CASES = [pytest.param(n, id=n) for n in layers.__all__
               if inspect.isclass(getattr(keras.layers, n, None)) and n not in ("Layer", "Input", "InputLayer")
               and n not in _CONFIG_SKIPPED and inspect.isclass(getattr(layers, n))]


def _norm(v):
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        # nested Keras objects: compare class and the config keys both write
        if "class_name" in v:
            return v["class_name"]
        return {k: _norm(x) for k, x in v.items()}
    return v


@pytest.mark.parametrize("name", LAYER_CASES)
def test_get_config_keys_and_values_match_keras(name):
    want, have = _make(keras.layers, name).get_config(), _make(layers, name).get_config()
    problems = [f"Keras-only key {k!r}" for k in want if k not in have and (name, k) not in CONFIG_ALLOWED]
    problems += [f"kusari-only key {k!r}" for k in have if k not in want and (name, k) not in CONFIG_ALLOWED]
    for k in want:
        if k in have and k not in CONFIG_VALUES_SKIPPED and _norm(want[k]) != _norm(have[k]):
            problems.append(f"{k}: Keras {want[k]!r}, kusari {have[k]!r}")
    assert not problems, f"{name}: " + "; ".join(problems)


def test_input_layer_config_matches_keras():
    want = keras.layers.InputLayer(shape=(3,)).get_config()
    have = layers.InputLayer(shape=(3,)).get_config()
    assert set(want) == set(have)
    assert list(want["batch_shape"]) == list(have["batch_shape"])


def test_unsupported_keras_arguments_fail_clearly():
    for make, match in ((lambda: layers.BatchNormalization(renorm=True), "renorm"),
                        (lambda: layers.MultiHeadAttention(2, 4, use_gate=True), "use_gate"),
                        (lambda: layers.MultiHeadAttention(2, 4, sliding_window=8), "sliding_window"),
                        (lambda: layers.Dense(2, quantization_config={}), "quantization"),
                        (lambda: layers.Embedding(4, 2, quantization_config={}), "quantization"),
                        (lambda: kusari.Input((3,), ragged=True), "ragged"),
                        (lambda: kusari.Input((3,), optional=True), "optional"),
                        (lambda: callbacks.BackupAndRestore("x", double_checkpoint=True), "double_checkpoint")):
        with pytest.raises(NotImplementedError, match=match):
            make()


def test_missing_keras_layers_fail_with_a_clear_error():
    missing = sorted(n for n in dir(keras.layers) if n[:1].isupper() and not hasattr(layers, n))
    if not missing:
        pytest.skip("kusari has every Keras layer")
    with pytest.raises(AttributeError, match=f"no {missing[0]!r} yet.*kusari has: .*Dense"):
        getattr(layers, missing[0])


def test_config_functions_keras_has_exist():
    for name in ("floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format", "set_image_data_format",
                 "backend"):
        assert callable(getattr(kusari.config, name)), name
    assert kusari.config.backend() == kusari.backend.current().name
