"""Import a PyTorch ``state_dict`` into a kusari model: ``nn.Linear`` -> Dense, ``nn.Conv1d/2d/3d`` -> ConvND,
``nn.BatchNorm*`` -> BatchNormalization, ``nn.LayerNorm`` -> LayerNormalization, ``nn.Embedding`` -> Embedding,
``nn.LSTM`` / ``nn.GRU`` (one direction; each of ``num_layers`` maps to one kusari layer) -> LSTM / GRU.

Layouts are converted: Linear ``weight`` (out, in) -> ``kernel`` (in, out); Conv (out, in, *k) -> (*k, in, out);
BatchNorm ``weight, bias, running_mean, running_var`` -> ``gamma, beta, moving_mean, moving_variance``; LSTM
``weight_ih`` (4H, in) -> ``kernel`` (in, 4H) (PyTorch's gate order i, f, g, o is Keras'), ``bias_ih + bias_hh``
-> ``bias``; GRU gates r, z, n are reordered to Keras' z, r, h, biases stacked into ``bias`` (2, 3H)
(``reset_after=True``, which is PyTorch's formula). Remember the rest of the model must match too: PyTorch is
channels-first (feed kusari NHWC), ``nn.BatchNorm`` uses ``eps=1e-5`` (Keras 1e-3), and ``Flatten`` after a
convolution orders features differently (C,H,W vs H,W,C).

>>> import numpy as np, kusari
>>> from kusari.saving.torch_import import load_torch_state_dict
>>> model = kusari.Sequential([kusari.Input((3,)), kusari.layers.Dense(2)])
>>> sd = {"fc.weight": np.arange(6.0).reshape(2, 3), "fc.bias": np.zeros(2)}
>>> load_torch_state_dict(model, sd)
>>> model.layers[0].kernel.numpy().tolist()
[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
"""
import os
import re

import numpy as np

from kusari.saving import _convert
from kusari.saving.archive import ModelFileError

__all__ = ["load_torch_state_dict", "read_state_dict"]

_RNN_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def read_state_dict(source):
    """``{key: numpy array}`` from a dict (of tensors or arrays), a ``.safetensors`` file, or a ``.pt``/``.pth``
    file (``torch.load(..., weights_only=True)``: never unpickles arbitrary objects)."""
    if isinstance(source, dict):
        return {k: _numpy(v) for k, v in source.items()}
    path = os.fspath(source)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no state_dict file at {path}")
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file
        try:
            return load_file(path)
        except Exception as e:
            raise ModelFileError(f"{path}: not a valid safetensors file ({e})") from e
    try:
        import torch
    except ImportError:
        raise ImportError(f"{path}: reading .pt files needs torch; or save the state_dict with "
                          "safetensors.torch.save_file and load that") from None
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelFileError(f"{path}: torch.load(weights_only=True) refused the file ({e})") from e
    if not isinstance(sd, dict):
        raise ModelFileError(f"{path}: holds a {type(sd).__name__}, not a state_dict")
    return {k: _numpy(v) for k, v in sd.items()}


def _numpy(v):
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def _groups(state):
    """{module prefix: {parameter name: array}} in the state_dict's order; an RNN's layers l0, l1… apart."""
    groups = {}
    for key, value in state.items():
        prefix, _, name = key.rpartition(".")
        if name == "num_batches_tracked":
            continue
        m = _RNN_KEY.match(name)
        if m:
            if m.group(3):
                raise ModelFileError(f"{key}: bidirectional RNN weights are not supported; import each direction "
                                     "separately")
            prefix, name = f"{prefix}.l{m.group(2)}" if prefix else f"l{m.group(2)}", m.group(1)
        groups.setdefault(prefix, {})[name] = value
    return groups


def _dense(p):
    return _convert.dense(p, "weight", "bias")


def _conv(p):
    return _convert.conv(p, "weight", "bias")


def _norm(p):
    names = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}
    return {names[k]: v for k, v in p.items() if k in names}


def _lstm(p):
    return {"kernel": p["weight_ih"].T, "recurrent_kernel": p["weight_hh"].T, "bias": p["bias_ih"] + p["bias_hh"]}


def _gru(p):
    def zrh(a):                      # PyTorch's r, z, n blocks -> Keras' z, r, h
        r, z, n = np.split(a, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)
    return {"kernel": zrh(p["weight_ih"]).T, "recurrent_kernel": zrh(p["weight_hh"]).T,
            "bias": np.stack([zrh(p["bias_ih"]), zrh(p["bias_hh"])])}


CONVERTERS = {"Dense": _dense, "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv, "BatchNormalization": _norm,
              "LayerNormalization": _norm, "Embedding": lambda p: {"embeddings": p["weight"]}, "LSTM": _lstm,
              "GRU": _gru}


def load_torch_state_dict(model, source, name_map=None, skip_mismatch=False):
    """Copy a PyTorch ``state_dict`` (dict, ``.safetensors`` or ``.pt`` path) into ``model``.

    By default the i-th parametrised module of the state_dict goes to the i-th kusari layer with weights (in
    ``model.layers`` order); ``name_map={"kusari_layer_name": "torch.module.prefix"}`` matches explicitly (an RNN's
    stacked layers are ``"<prefix>.l0"``, ``"<prefix>.l1"``…). ``skip_mismatch`` leaves unmatched layers as they are.
    """
    where = source if isinstance(source, (str, os.PathLike)) else "state_dict"
    groups = _groups(read_state_dict(source))
    for layer, gname in _convert.pairs(model, groups, CONVERTERS, name_map, where, skip_mismatch):
        conv = CONVERTERS.get(type(layer).__name__)
        if conv is None:
            raise ValueError(f"{where}: no PyTorch conversion for layer {layer.name!r} ({type(layer).__name__})")
        try:
            arrays = conv(groups[gname])
        except (KeyError, ValueError) as e:
            if skip_mismatch:
                continue
            raise ModelFileError(f"{where}: {gname!r} ({sorted(groups[gname])}) does not fit layer {layer.name!r} "
                                 f"({type(layer).__name__}): missing or bad {e}") from None
        _convert.assign(layer, arrays, where, gname, skip_mismatch)
