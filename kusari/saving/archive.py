"""The native ``.kusari`` file: a zip holding ``config.json`` (architecture, compile settings), ``metadata.json``
(format version, kusari version, backend, date), ``model.weights.safetensors`` (weights, in ``model.weights``
order) and ``optimizer.safetensors`` (optimizer state). Written to a temporary file in the same folder and renamed,
so a crash never leaves a half-written model.

>>> import os, tempfile, numpy as np, kusari
>>> model = kusari.Sequential([kusari.Input((3,)), kusari.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "m.kusari")
>>> model.save(path)
>>> again = kusari.models.load_model(path)
>>> bool(np.allclose(again.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0)))
True
"""
import datetime
import json
import os
import zipfile

import numpy as np

from kusari.io_utils import atomic_write
from kusari.saving import serialization

FORMAT_VERSION = 1
CONFIG, METADATA, WEIGHTS, OPTIMIZER = "config.json", "metadata.json", "model.weights.safetensors", \
    "optimizer.safetensors"
STATE = "state.json"   # random-generator states (and, for backups, the epoch): what an exact resume needs


class ModelFileError(ValueError):
    """A model or weights file that cannot be read: the message names the file and the entry."""


# -- tensors <-> safetensors bytes ---------------------------------------------------------------------------------

def _unique_keys(variables):
    keys, seen = [], {}
    for i, v in enumerate(variables):
        base = getattr(v, "path", None) or getattr(v, "name", None) or f"variable_{i}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        keys.append(base if n == 0 else f"{base}__{n}")
    return keys


def _to_bytes(variables):
    from safetensors.numpy import save
    keys = _unique_keys(variables)
    arrays = {k: np.array(v.numpy(), order="C") for k, v in zip(keys, variables)}  # keeps 0-d shapes
    return save(arrays, metadata={"order": json.dumps(keys)})


def _from_bytes(data, where):
    """(key order, {key: array}) from safetensors bytes; the order is kept in the header's metadata."""
    from safetensors.numpy import load
    try:
        arrays = load(data)
        header_len = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ModelFileError(f"{where}: not a valid safetensors payload ({e})") from e
    order = json.loads(meta["order"]) if "order" in meta else sorted(arrays)
    return order, arrays


def _assign_all(variables, order, arrays, where, skip_mismatch=False, by_name=False):
    from kusari.autograd.mode import no_grad
    if by_name:
        keys = _unique_keys(variables)
        pairs = [(v, k) for v, k in zip(variables, keys) if k in arrays]
        if not skip_mismatch:
            missing = [k for k in keys if k not in arrays]
            if missing:
                raise ModelFileError(f"{where}: no weights named {missing[:5]}{'…' if len(missing) > 5 else ''}")
    else:
        if len(order) != len(variables) and not skip_mismatch:
            raise ModelFileError(f"{where}: the file holds {len(order)} weights, the model has {len(variables)}")
        pairs = list(zip(variables, order))
    with no_grad():
        for v, key in pairs:
            value = arrays[key]
            if tuple(value.shape) != tuple(v.shape):
                if skip_mismatch:
                    continue
                raise ModelFileError(f"{where}: entry {key!r} has shape {tuple(value.shape)} but weight "
                                     f"{getattr(v, 'path', v.name)!r} has shape {tuple(v.shape)}")
            v.assign(value.astype(v.numpy().dtype, copy=False))


# -- whole models ---------------------------------------------------------------------------------------------------

def save_model(model, filepath, overwrite=True, include_optimizer=True, _extra_state=None):
    """Write ``model`` to ``filepath``, atomically: a ``.kusari`` zip, or a Keras 3 archive for ``.keras``.

    The ``.kusari`` file also holds the random-generator states (the trainer's data-order generator, the global
    ``kusari.random`` generator, the layers' ``SeedGenerator``s), so that ``fit`` goes on exactly after a load.

    >>> import os, tempfile, kusari
    >>> model = kusari.Sequential([kusari.Input((2,)), kusari.layers.Dense(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.kusari")
    >>> kusari.saving.save_model(model, path)
    >>> sorted(__import__("zipfile").ZipFile(path).namelist())
    ['config.json', 'metadata.json', 'model.weights.safetensors', 'state.json']
    """
    from kusari import __version__, backend
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists; pass overwrite=True to replace it")
    if filepath.endswith(".keras"):
        from kusari.saving import keras_format
        return keras_format.save_keras(model, filepath)
    config = {"model": serialization.serialize(model), "compile_config": _compile_config(model)}
    metadata = {"format": "kusari", "format_version": FORMAT_VERSION, "kusari_version": __version__,
                "backend": backend.current().name, "date_saved": datetime.datetime.now().isoformat(timespec="seconds")}
    with atomic_write(filepath, "wb") as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(METADATA, json.dumps(metadata, indent=1))
            z.writestr(CONFIG, json.dumps(config, indent=1))
            z.writestr(WEIGHTS, _to_bytes(model.weights))
            opt = getattr(model, "optimizer", None)
            if include_optimizer and opt is not None and getattr(opt, "built", False):
                z.writestr(OPTIMIZER, _to_bytes(opt.variables))
            z.writestr(STATE, json.dumps(dict(_rng_states(model), **(_extra_state or {}))))


# -- random-generator states (exact resume) -------------------------------------------------------------------------

def _layer_seed_generators(model):
    """``(index in model._flatten_layers(), layer, attribute, SeedGenerator)`` for every layer attribute holding a
    SeedGenerator (Dropout's ``seed_generator``, a recurrent layer's ``_seed_generator``…): found by looking, so
    layers need no saving hook."""
    from kusari.random import SeedGenerator
    out = []
    for i, layer in enumerate(model._flatten_layers()):
        for attr, value in sorted(vars(layer).items()):
            if isinstance(value, SeedGenerator):
                out.append((i, layer, attr, value))
    return out


def _rng_states(model):
    from kusari import random
    permuter = getattr(model, "_permuter", None)
    return {"global_seed_generator": random._global.state if random._global is not None else None,
            "data_order": permuter.state if permuter is not None else None,
            "layer_seed_generators": [{"layer_index": i, "layer": layer.name, "attribute": attr, "state": gen.state}
                                      for i, layer, attr, gen in _layer_seed_generators(model)]}


def _restore_rng_states(model, state, where):
    """Put the generator states back: the global one, the trainer's data order, and each layer's (matched by the
    layer's position in the model, so a model rebuilt by the same code with other auto-generated names works)."""
    from kusari import random
    from kusari.random import SeedGenerator
    if state.get("global_seed_generator") is not None:
        g = SeedGenerator(state["global_seed_generator"]["seed"])
        g.set_state(state["global_seed_generator"])
        random._global = g
    if state.get("data_order") is not None and hasattr(model, "_data_permuter"):
        from kusari.training.trainer import _Permuter
        model._permuter = _Permuter(0)
        model._permuter.set_state(state["data_order"])
    layers = model._flatten_layers()
    for item in state.get("layer_seed_generators", []):
        i, attr, gen_state = item["layer_index"], item["attribute"], item["state"]
        if i >= len(layers) or not hasattr(layers[i], attr):
            raise ModelFileError(f"{where}: a random generator belongs to layer {item['layer']!r} (attribute "
                                 f"{attr!r}, position {i}), which this model lacks")
        layer = layers[i]
        gen = getattr(layer, attr)
        if gen is None:            # created lazily on first use: create it now
            gen = SeedGenerator(gen_state["seed"])
            object.__setattr__(layer, attr, gen)
        elif not isinstance(gen, SeedGenerator):
            raise ModelFileError(f"{where}: layer {layer.name!r} attribute {attr!r} is not a SeedGenerator")
        gen.set_state(gen_state)


def _compile_config(model):
    if not getattr(model, "compiled", False):
        return None
    opt = model.optimizer
    from kusari import optimizers

    def plain(x):
        if x is None or isinstance(x, (str, int, float, bool)):
            return x
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        name = getattr(x, "name", None) or getattr(x, "__name__", None)
        return {"class_name": type(x).__name__, "config": x.get_config()} if hasattr(x, "get_config") else name
    return {"optimizer": optimizers.serialize(opt), "loss": plain(model.loss),
            "metrics": plain(model._compile_metrics.specs) if model._compile_metrics else None,
            "loss_weights": _loss_weights(model._compile_loss)}


def _loss_weights(compile_loss):
    """What ``compile(loss_weights=...)`` needs to rebuild the same weights: None, a scalar for one output, or a
    list."""
    if compile_loss is None or all(w == 1.0 for w in compile_loss.weights):
        return None
    weights = list(compile_loss.weights)
    return weights[0] if len(weights) == 1 else weights


def _open(filepath):
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"no model file at {filepath}")
    try:
        z = zipfile.ZipFile(filepath)
        bad = z.testzip()
    except zipfile.BadZipFile as e:
        with open(filepath, "rb") as f:
            head = f.read(4)
        what = "truncated or corrupt zip" if head[:2] == b"PK" else f"not a kusari model (starts with {head!r})"
        raise ModelFileError(f"{filepath}: {what}") from e
    if bad is not None:
        raise ModelFileError(f"{filepath}: entry {bad!r} is corrupt (CRC mismatch)")
    return z


def _read(z, name, filepath, required=True):
    try:
        return z.read(name)
    except KeyError:
        if required:
            raise ModelFileError(f"{filepath}: missing entry {name!r}") from None
        return None


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved with ``model.save`` — architecture, weights and (with ``compile``) optimizer state.

    Never unpickles or runs code from the file; Lambda layers need ``safe_mode=False`` and their function in
    ``custom_objects``.
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(".keras"):
        from kusari.saving import keras_format
        return keras_format.load_keras(filepath, custom_objects=custom_objects, compile=compile,
                                       safe_mode=safe_mode)
    with _open(filepath) as z:
        metadata = _json(z, METADATA, filepath)
        if metadata.get("format") not in (None, "kusari"):
            raise ModelFileError(f"{filepath}: entry {METADATA!r} says format {metadata.get('format')!r}, "
                                 "not a kusari model")
        if metadata.get("format_version", 0) > FORMAT_VERSION:
            raise ModelFileError(f"{filepath}: written by kusari {metadata.get('kusari_version')} in format "
                                 f"version {metadata['format_version']}; this kusari reads up to "
                                 f"{FORMAT_VERSION} — upgrade kusari")
        config = _json(z, CONFIG, filepath)
        if "model" not in config:
            raise ModelFileError(f"{filepath}: entry {CONFIG!r} has no 'model' key")
        try:
            model = serialization.deserialize(config["model"], custom_objects, safe_mode)
        except (ValueError, TypeError, KeyError) as e:
            raise type(e)(f"{filepath}: entry {CONFIG!r}: {e}") from e
        order, arrays = _from_bytes(_read(z, WEIGHTS, filepath), f"{filepath}:{WEIGHTS}")
        _assign_all(model.weights, order, arrays, f"{filepath}:{WEIGHTS}")
        cc = config.get("compile_config")
        if compile and cc:
            _compile_from_config(model, cc)
            opt_bytes = _read(z, OPTIMIZER, filepath, required=False)
            if opt_bytes is not None:
                model.optimizer.build(model._trainable_candidates())   # as train_step builds it
                o_order, o_arrays = _from_bytes(opt_bytes, f"{filepath}:{OPTIMIZER}")
                _assign_all(model.optimizer.variables, o_order, o_arrays, f"{filepath}:{OPTIMIZER}")
        state = _read(z, STATE, filepath, required=False)
        if state is not None:
            _restore_rng_states(model, _json(z, STATE, filepath), f"{filepath}:{STATE}")
    return model


def _json(z, name, filepath):
    try:
        value = json.loads(_read(z, name, filepath))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{filepath}: entry {name!r} is not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise ModelFileError(f"{filepath}: entry {name!r} is not a JSON object")
    return value


def _save_checkpoint(model, filepath, training_state):
    """A ``.kusari`` file with ``training_state`` (e.g. ``{"epoch": 3}``) beside the generator states."""
    save_model(model, filepath, _extra_state={"training": training_state})


def _restore_checkpoint(model, filepath):
    """Load weights, optimizer state and generator states from a ``.kusari`` file into the existing (built,
    compiled) ``model``; returns the file's ``training`` state dict."""
    filepath = os.fspath(filepath)
    with _open(filepath) as z:
        order, arrays = _from_bytes(_read(z, WEIGHTS, filepath), f"{filepath}:{WEIGHTS}")
        _assign_all(model.weights, order, arrays, f"{filepath}:{WEIGHTS}")
        opt_bytes = _read(z, OPTIMIZER, filepath, required=False)
        opt = getattr(model, "optimizer", None)
        if opt_bytes is not None and opt is not None:
            if not getattr(opt, "built", False):
                opt.build(model.trainable_weights)
            o_order, o_arrays = _from_bytes(opt_bytes, f"{filepath}:{OPTIMIZER}")
            _assign_all(opt.variables, o_order, o_arrays, f"{filepath}:{OPTIMIZER}")
        state = _json(z, STATE, filepath)
        _restore_rng_states(model, state, f"{filepath}:{STATE}")
    return state.get("training") or {}


def _compile_from_config(model, cc):
    from kusari import optimizers
    model.compile(optimizer=optimizers.deserialize(cc["optimizer"]), loss=_revive(cc.get("loss")),
                  metrics=_revive(cc.get("metrics")), loss_weights=cc.get("loss_weights"))


def _revive(x):
    if isinstance(x, dict) and "class_name" in x and "config" in x:
        from kusari import losses, metrics
        for module in (losses, metrics):
            cls = getattr(module, x["class_name"], None)
            if isinstance(cls, type):
                return cls.from_config(x["config"])
        raise ValueError(f"cannot revive {x['class_name']!r} from the compile config")
    if isinstance(x, list):
        return [_revive(v) for v in x]
    if isinstance(x, dict):
        return {k: _revive(v) for k, v in x.items()}
    return x


# -- weights only ---------------------------------------------------------------------------------------------------

def save_weights(model, filepath, overwrite=True):
    """Write the weights (``.weights.safetensors``; ``.weights.h5`` writes Keras 3's layout), atomically.

    >>> import os, tempfile, kusari
    >>> model = kusari.Sequential([kusari.Input((2,)), kusari.layers.Dense(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.safetensors")
    >>> model.save_weights(path)
    >>> model.load_weights(path)
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        from kusari.saving import keras_format
        return keras_format.save_weights_h5(model, filepath, overwrite=overwrite)
    if not filepath.endswith(".weights.safetensors"):
        raise ValueError(f"save_weights: the file name must end in .weights.safetensors (or .weights.h5 for "
                         f"Keras), got {filepath!r}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists; pass overwrite=True to replace it")
    with atomic_write(filepath, "wb") as f:
        f.write(_to_bytes(model.weights))


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Load weights saved by ``save_weights`` (by order, or ``by_name`` using weight paths), from a ``.kusari``
    model file, or from Keras ``.weights.h5`` / legacy Keras 2 ``.h5`` files.

    With ``skip_mismatch`` weights whose shape (or, by name, whose key) does not match are left as they are."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".kusari"):
        with _open(filepath) as z:
            data = _read(z, WEIGHTS, filepath)
        where = f"{filepath}:{WEIGHTS}"
    elif filepath.endswith(".h5") or filepath.endswith(".weights.h5"):
        from kusari.saving import keras_format
        return keras_format.load_weights_h5(model, filepath, skip_mismatch=skip_mismatch, by_name=by_name)
    else:
        if not os.path.exists(filepath):
            raise FileNotFoundError(f"no weights file at {filepath}")
        with open(filepath, "rb") as f:
            data = f.read()
        where = filepath
    order, arrays = _from_bytes(data, where)
    _assign_all(model.weights, order, arrays, where, skip_mismatch=skip_mismatch, by_name=by_name)
