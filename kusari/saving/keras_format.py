"""Keras files: read and write Keras 3 ``.keras`` archives, read Keras 3 ``.weights.h5`` and legacy Keras 2 ``.h5``
weight files. Needs ``h5py`` (``pip install kusari[keras-io]``); Keras itself is never imported.

A Keras 3 archive is a zip of ``metadata.json``, ``config.json`` (the same ``class_name``/``config`` layout kusari
uses) and ``model.weights.h5``. In the weights file each layer's variables sit at ``layers/<key>/vars/0, 1, …`` in
the layer's creation order, where ``<key>`` is the snake-cased *class* name, numbered ``_1``, ``_2``… among layers of
the same class in the model's ``layers`` list (not the layer's own name); a sub-layer held in an attribute goes under
the attribute name (an LSTM's weights are at ``layers/lstm/cell/vars/…``).

>>> import os, tempfile, numpy as np, kusari
>>> model = kusari.Sequential([kusari.Input((3,)), kusari.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
>>> model.save(path)                      # a Keras 3 archive: keras.saving.load_model(path) reads it
>>> again = kusari.models.load_model(path)
>>> bool(np.array_equal(again.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0)))
True
"""
import datetime
import inspect
import io
import json
import os
import re
import warnings
import zipfile

import numpy as np

from kusari.io_utils import atomic_write
from kusari.saving.archive import ModelFileError

__all__ = ["load_keras", "save_keras", "load_weights_h5", "save_weights_h5"]

KERAS_WEIGHTS = "model.weights.h5"
KERAS_VERSION = "3.0.0"   # what we write in metadata.json: the oldest Keras 3 whose layout we follow


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading or writing Keras .keras/.h5 files needs h5py: pip install 'kusari[keras-io]'") \
            from None
    return h5py


def keras_snake_case(name):
    """Keras' ``naming.to_snake_case`` (``"MaxPooling2D"`` -> ``"max_pooling2d"``).

    >>> keras_snake_case("MaxPooling2D"), keras_snake_case("BatchNormalization")
    ('max_pooling2d', 'batch_normalization')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


# -- where each variable lives in a Keras 3 weights file ------------------------------------------------------------

def _container(layers, path):
    used = {}
    for layer in layers:
        key = keras_snake_case(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        yield from _walk(layer, f"{path}/{key}" if path else key)


_BOOKKEEPING = {"_layers", "_trainable_vars", "_non_trainable_vars", "_inbound_nodes", "_stack", "_input_layer",
                "_tracked_metrics", "_regularizers", "_losses"}


def _walk(layer, path):
    """``(group path, layer, own variables)`` for ``layer`` and its sub-layers, in Keras 3's layout."""
    from kusari.layers.layer import Layer
    from kusari.models.functional import Functional
    from kusari.models.sequential import Sequential
    own = list(layer._trainable_vars) + list(layer._non_trainable_vars)
    yield path, layer, own
    if isinstance(layer, (Sequential, Functional)):
        yield from _container(layer.layers, f"{path}/layers" if path else "layers")
        return
    # Keras 3 walks the attribute names (dunders and bookkeeping lists aside); a sub-layer reachable under a
    # private and a public name (MultiHeadAttention's _key_dense / key_dense) is stored under the public one
    chosen = {}
    base_names = set(dir(Layer))  # the base class's own API (layers, weights, …) is not part of the layout
    for attr in dir(type(layer)) + list(vars(layer)):
        if attr.startswith("__") or attr in _BOOKKEEPING or attr in base_names:
            continue
        try:
            value = getattr(layer, attr)
        except Exception:
            continue
        if isinstance(value, Layer) and value is not layer:
            prev = chosen.get(id(value))
            if prev is None or (prev[0].startswith("_") and not attr.startswith("_")):
                chosen[id(value)] = (attr, value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value) \
                and not attr.startswith("_"):
            chosen.setdefault(("list", attr), (attr, value))
    for attr, value in sorted(chosen.values(), key=lambda item: item[0]):
        sub = f"{path}/{attr}" if path else attr
        if isinstance(value, Layer):
            yield from _walk(value, sub)
        else:
            yield from _container(value, sub)


def _check_model(model, what):
    from kusari.models.functional import Functional
    from kusari.models.sequential import Sequential
    if not isinstance(model, (Sequential, Functional)) or type(model) not in (Sequential, Functional):
        raise ValueError(f"{what}: only Sequential and functional models map onto Keras files; save the subclassed "
                         f"model {type(model).__name__!r} as .kusari (or build it functionally)")


# -- weights: Keras 3 layout ----------------------------------------------------------------------------------------

def _write_weights(model, f):
    root = f.create_group("vars")
    root.attrs["name"] = model.name
    for path, layer, own in _walk(model, ""):
        if not path:
            continue
        g = f.require_group(path).create_group("vars")
        g.attrs["name"] = layer.name
        for i, v in enumerate(own):
            g.create_dataset(str(i), data=np.asarray(v.numpy()))


def _read_weights(model, f, where, skip_mismatch=False):
    from kusari.autograd.mode import no_grad
    assignments = []
    for path, layer, own in _walk(model, ""):
        if not path or not own:
            continue
        group = f.get(f"{path}/vars")
        if group is None or len(group) != len(own):
            found = 0 if group is None else len(group)
            if skip_mismatch:
                warnings.warn(f"{where}: skipping layer {layer.name!r}: entry '{path}/vars' holds {found} weights, "
                              f"the layer has {len(own)}", stacklevel=3)
                continue
            raise ModelFileError(f"{where}: entry '{path}/vars' holds {found} weights but layer {layer.name!r} "
                                 f"({type(layer).__name__}) has {len(own)}")
        for i, v in enumerate(own):
            value = np.asarray(group[str(i)])
            if tuple(value.shape) != tuple(v.shape):
                if skip_mismatch:
                    continue
                raise ModelFileError(f"{where}: entry '{path}/vars/{i}' has shape {tuple(value.shape)} but weight "
                                     f"{v.path!r} has shape {tuple(v.shape)}")
            assignments.append((v, value))
    with no_grad():
        for v, value in assignments:
            v.assign(value.astype(v.numpy().dtype, copy=False))


# -- weights: legacy Keras 2 layout ---------------------------------------------------------------------------------

def _decode(names):
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for n in names]


def _read_legacy(model, f, where, skip_mismatch=False, by_name=False):
    """Keras 2's ``save_weights``/``save`` h5: ``[model_weights/]<layer>`` groups listed in the ``layer_names``
    attribute, each with a ``weight_names`` attribute (``"dense/kernel:0"``…) naming its datasets."""
    from kusari.autograd.mode import no_grad
    if "model_weights" in f:
        f = f["model_weights"]
    if "layer_names" not in f.attrs:
        raise ModelFileError(f"{where}: neither a Keras 3 weights file (no 'layers'/'vars' groups) nor a Keras 2 "
                             "one (no 'layer_names' attribute)")
    saved = []
    for name in _decode(f.attrs["layer_names"]):
        g = f[name]
        weight_names = _decode(g.attrs.get("weight_names", []))
        if weight_names:
            saved.append((name, [(wn, np.asarray(g[wn])) for wn in weight_names]))
    layers = [l for l in model.layers if l.weights]
    if by_name:
        table = dict(saved)
        pairs = [(l, table[l.name]) for l in layers if l.name in table]
        if not skip_mismatch:
            missing = [l.name for l in layers if l.name not in table]
            if missing:
                raise ModelFileError(f"{where}: no layer groups named {missing}")
    else:
        if len(saved) != len(layers) and not skip_mismatch:
            raise ModelFileError(f"{where}: the file holds weights for {len(saved)} layers "
                                 f"({[n for n, _ in saved]}), the model has {len(layers)} layers with weights")
        pairs = [(l, values) for l, (_, values) in zip(layers, saved)]
    assignments = []
    for layer, values in pairs:
        mine = layer.weights
        if len(values) != len(mine):
            if skip_mismatch:
                continue
            raise ModelFileError(f"{where}: entry {values[0][0].split('/')[0]!r} holds {len(values)} weights but "
                                 f"layer {layer.name!r} has {len(mine)}")
        for v, (wn, value) in zip(mine, values):
            if tuple(value.shape) != tuple(v.shape):
                if skip_mismatch:
                    continue
                raise ModelFileError(f"{where}: entry {wn!r} has shape {tuple(value.shape)} but weight {v.path!r} "
                                     f"has shape {tuple(v.shape)}")
            assignments.append((v, value))
    with no_grad():
        for v, value in assignments:
            v.assign(value.astype(v.numpy().dtype, copy=False))


def load_weights_h5(model, filepath, skip_mismatch=False, by_name=False):
    """Load a Keras ``.weights.h5`` (Keras 3 layout) or legacy Keras 2 ``.h5`` weights file into ``model``.

    Keras 3 files are matched by the layout described in the module docstring; Keras 2 files by the order of the
    layers that have weights (or by layer name with ``by_name=True``).
    """
    h5py = _h5py()
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"no weights file at {filepath}")
    try:
        f = h5py.File(filepath, "r")
    except OSError as e:
        raise ModelFileError(f"{filepath}: not a readable HDF5 file ({e})") from e
    with f:
        if "layers" in f or "vars" in f:
            _check_model(model, "load_weights")
            _read_weights(model, f, filepath, skip_mismatch)
        else:
            _read_legacy(model, f, filepath, skip_mismatch, by_name)


def save_weights_h5(model, filepath, overwrite=True):
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file (atomically)."""
    h5py = _h5py()
    _check_model(model, "save_weights")
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists; pass overwrite=True to replace it")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _write_weights(model, f)
    with atomic_write(filepath, "wb") as out:
        out.write(buf.getvalue())


# -- configs: Keras <-> kusari --------------------------------------------------------------------------------------

_DROP_SILENTLY = {"sparse", "ragged", "optional", "quantization_config", "renorm", "renorm_clipping",
                  "renorm_momentum", "lora_rank", "lora_alpha", "zero_output_for_mask", "input_tensor"}


def _accepted(cls):
    """Keyword arguments ``cls(...)`` takes: its ``__init__``'s, and — when that has ``**kwargs`` — those of the
    classes above it (a layer's ``**kwargs`` end in ``Layer.__init__``: name, dtype, trainable…)."""
    from kusari.layers.layer import _ALLOWED_KWARGS
    params = inspect.signature(cls.__init__).parameters
    names = {p for p in params if p != "self"}
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for klass in cls.__mro__[1:]:
            init = klass.__dict__.get("__init__")
            if init is not None and klass is not object:
                names.update(p for p in inspect.signature(init).parameters if p != "self")
        names |= set(_ALLOWED_KWARGS)
    return names - {"args", "kwargs"}


def _object_from_keras(value, module):
    """An initializer/regularizer/constraint dict in Keras' layout, trimmed to what kusari's class accepts."""
    if not (isinstance(value, dict) and "class_name" in value):
        return value
    cls = getattr(module, value["class_name"], None)
    cfg = dict(value.get("config") or {})
    if isinstance(cls, type):
        ok = _accepted(cls)
        cfg = {k: v for k, v in cfg.items() if k in ok or v is not None}
    return {"class_name": value["class_name"], "config": cfg}


def _layer_from_keras(entry, where, custom_objects):
    """One Keras layer entry rewritten for kusari's deserializer (recursing into models' layers)."""
    from kusari import constraints, initializers, regularizers
    from kusari.saving import registry
    entry = dict(entry)
    if str(entry.get("module", "")).startswith("keras.src.ops"):
        return entry  # an operation node (x + y, ops.relu(x)): kusari's deserializer maps it to kusari.ops
    entry.pop("module", None)
    if entry.get("registered_name") in (None, entry.get("class_name"), "Functional"):
        entry["registered_name"] = None
    cfg = dict(entry.get("config") or {})
    if isinstance(cfg.get("dtype"), dict):      # a DTypePolicy: keep its name
        cfg["dtype"] = (cfg["dtype"].get("config") or {}).get("name", "float32")
    if "layers" in cfg and entry["class_name"] in ("Sequential", "Functional", "Model"):
        cfg["layers"] = [_layer_from_keras(e, where, custom_objects) for e in cfg["layers"]]
        cfg.pop("dtype", None)
        if entry["class_name"] == "Model":
            entry["class_name"] = "Functional"
        entry["config"] = cfg
        return entry
    for key, value in list(cfg.items()):
        if key.endswith("_initializer"):
            cfg[key] = _object_from_keras(value, initializers)
        elif key.endswith("_regularizer"):
            cfg[key] = _object_from_keras(value, regularizers)
        elif key.endswith("_constraint"):
            cfg[key] = _object_from_keras(value, constraints)
        elif isinstance(value, dict) and "class_name" in value and "config" in value and key in ("layer",
                                                                                                 "backward_layer"):
            cfg[key] = _layer_from_keras(value, where, custom_objects)
    try:
        cls = registry.lookup(entry["class_name"], entry.get("registered_name"), custom_objects)
    except ValueError as e:
        raise ValueError(f"{where}: layer {cfg.get('name')!r}: {e}") from None
    ok = _accepted(cls)
    for key in [k for k in cfg if k not in ok]:
        value = cfg.pop(key)
        if key not in _DROP_SILENTLY and value not in (None, False):
            warnings.warn(f"{where}: layer {cfg.get('name')!r} ({entry['class_name']}): Keras option "
                          f"{key}={value!r} is not supported by kusari and is ignored", stacklevel=4)
    entry["config"] = cfg
    return entry


def _object_to_keras(value, module):
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        return {"module": module, "class_name": value["class_name"], "config": value["config"],
                "registered_name": None}
    return value


def _jsonable_shape_none_batch(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [_jsonable_shape_none_batch(s) for s in shape]
    return [None] + list(shape[1:]) if isinstance(shape, list) and shape else shape


def _layer_to_keras(entry):
    """kusari's serialized layer rewritten in Keras 3's layout (``module`` names Keras')."""
    entry = dict(entry)
    cfg = dict(entry.get("config") or {})
    name = entry["class_name"]
    if str(entry.get("module", "")).startswith("keras.src.ops"):
        return entry
    if name in ("Sequential", "Functional"):
        cfg["layers"] = [_layer_to_keras(e) for e in cfg["layers"]]
        entry["module"] = "keras" if name == "Sequential" else "keras.src.models.functional"
        entry["registered_name"] = "Functional" if name == "Functional" else None
    else:
        if entry.get("registered_name") not in (None, name):
            raise ValueError(f"cannot save layer {cfg.get('name')!r} for Keras: custom class "
                             f"{entry['registered_name']!r} has no Keras equivalent; save as .kusari instead")
        entry["module"] = "keras.layers"
        entry["registered_name"] = None
        for key, value in list(cfg.items()):
            if key.endswith("_initializer"):
                cfg[key] = _object_to_keras(value, "keras.initializers")
            elif key.endswith("_regularizer"):
                cfg[key] = _object_to_keras(value, "keras.regularizers")
            elif key.endswith("_constraint"):
                cfg[key] = _object_to_keras(value, "keras.constraints")
    if "build_config" in entry:
        entry["build_config"] = {"input_shape": _jsonable_shape_none_batch(entry["build_config"]["input_shape"])}
    entry["config"] = cfg
    return entry


# -- whole models ---------------------------------------------------------------------------------------------------

def save_keras(model, filepath):
    """Write ``model`` (Sequential or functional) as a Keras 3 ``.keras`` archive, atomically.

    Keras 3 loads it with ``keras.saving.load_model(filepath)`` for the layers both libraries have. The optimizer
    state is not written (the compile settings are not either): compile again after loading in Keras.
    """
    from kusari import __version__
    from kusari.saving import serialization
    h5py = _h5py()
    _check_model(model, "save .keras")
    filepath = os.fspath(filepath)
    config = _layer_to_keras(serialization.serialize(model))
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "written_by": f"kusari {__version__}"}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _write_weights(model, f)
    with atomic_write(filepath, "wb") as out:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("metadata.json", json.dumps(metadata))
            z.writestr("config.json", json.dumps(config))
            z.writestr(KERAS_WEIGHTS, buf.getvalue())


def load_keras(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Build a kusari model from a Keras 3 ``.keras`` archive (architecture and weights).

    Only built-in layers kusari has (or classes passed in ``custom_objects``) can be rebuilt; Keras options kusari
    lacks are dropped with a warning when set. With ``compile``, the optimizer and loss named in the file's compile
    settings are used (fresh optimizer state: Keras' optimizer variables are not read).
    """
    from kusari.saving import archive, serialization
    h5py = _h5py()
    filepath = os.fspath(filepath)
    with archive._open(filepath) as z:
        names = set(z.namelist())
        if "config.json" not in names:
            raise ModelFileError(f"{filepath}: missing entry 'config.json' (not a Keras 3 .keras archive)")
        config = archive._json(z, "config.json", filepath)
        if KERAS_WEIGHTS not in names:
            raise ModelFileError(f"{filepath}: missing entry {KERAS_WEIGHTS!r}")
        weights = z.read(KERAS_WEIGHTS)
    entry = _layer_from_keras(config, filepath, custom_objects)
    try:
        model = serialization.deserialize(entry, custom_objects, safe_mode)
    except (ValueError, TypeError, KeyError) as e:
        raise type(e)(f"{filepath}: entry 'config.json': {e}") from e
    try:
        f = h5py.File(io.BytesIO(weights), "r")
    except OSError as e:
        raise ModelFileError(f"{filepath}: entry {KERAS_WEIGHTS!r} is not a readable HDF5 file ({e})") from e
    with f:
        _read_weights(model, f, f"{filepath}:{KERAS_WEIGHTS}")
    cc = config.get("compile_config")
    if compile and cc:
        _compile_from_keras(model, cc, filepath)
    return model


def _compile_from_keras(model, cc, filepath):
    from kusari import optimizers
    opt = cc.get("optimizer")
    try:
        if isinstance(opt, dict):
            cls = optimizers.get(opt["class_name"].lower())
            ok = _accepted(type(cls))
            cfg = {k: v for k, v in (opt.get("config") or {}).items() if k in ok and k != "name"}
            if isinstance(cfg.get("learning_rate"), dict):
                cfg.pop("learning_rate")   # a Keras schedule: not translated
            opt = type(cls)(**cfg)
        loss = cc.get("loss")
        if isinstance(loss, dict):
            loss = loss.get("class_name")
        model.compile(optimizer=opt or "rmsprop", loss=loss, metrics=None)
    except (ValueError, TypeError, KeyError) as e:
        warnings.warn(f"{filepath}: the model was loaded but could not be compiled from Keras' compile settings "
                      f"({e}); call compile() yourself", stacklevel=3)
