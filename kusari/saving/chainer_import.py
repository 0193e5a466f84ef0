"""Import a Chainer ``.npz`` snapshot (``chainer.serializers.save_npz``) into a kusari model: ``L.Linear`` -> Dense,
``L.Convolution2D`` (and 1D/ND) -> ConvND, ``L.BatchNormalization`` -> BatchNormalization, ``L.EmbedID`` ->
Embedding.

Keys look like ``predictor/l1/W``: the part before the last ``/`` names a link, the last part a parameter. Layouts
are converted: Linear ``W`` (out, in) -> ``kernel`` (in, out); Convolution ``W`` (out, in, kh, kw) ->
(kh, kw, in, out) (Chainer is channels-first: feed kusari NHWC); BatchNormalization ``gamma, beta, avg_mean,
avg_var`` -> ``gamma, beta, moving_mean, moving_variance`` (Chainer's ``eps`` default is 2e-5; its ``N`` counter is
ignored). Chainer stores links in no guaranteed order, so by default links are taken in *natural* name order
(``l1 < l2 < l10``); use ``name_map={"kusari_layer": "predictor/conv1"}`` whenever names do not sort that way.

>>> import os, tempfile, numpy as np, kusari
>>> from kusari.saving.chainer_import import load_chainer_npz
>>> path = os.path.join(tempfile.mkdtemp(), "snapshot.npz")
>>> np.savez(path, **{"predictor/l1/W": np.ones((2, 3), "f"), "predictor/l1/b": np.zeros(2, "f")})
>>> model = kusari.Sequential([kusari.Input((3,)), kusari.layers.Dense(2)])
>>> load_chainer_npz(model, path)
>>> model.predict(np.ones((1, 3)), verbose=0).tolist()
[[3.0, 3.0]]
"""
import os
import zipfile

import numpy as np

from kusari.saving import _convert
from kusari.saving.archive import ModelFileError

__all__ = ["load_chainer_npz"]


def _linear(p):
    return _convert.dense(p, "W", "b")


def _conv(p):
    return _convert.conv(p, "W", "b")


def _bn(p):
    names = {"gamma": "gamma", "beta": "beta", "avg_mean": "moving_mean", "avg_var": "moving_variance"}
    return {names[k]: v for k, v in p.items() if k in names}


CONVERTERS = {"Dense": _linear, "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv, "BatchNormalization": _bn,
              "Embedding": lambda p: {"embeddings": p["W"]}}


def load_chainer_npz(model, filepath, name_map=None, path="", skip_mismatch=False):
    """Copy the links of a Chainer ``.npz`` snapshot into ``model``.

    ``path`` keeps only keys under that prefix (``"predictor/"`` for a Classifier's snapshot, ``"updater/model:main/
    predictor/"`` for a trainer snapshot); ``name_map`` matches kusari layer names to link paths explicitly.
    """
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"no Chainer snapshot at {filepath}")
    try:
        with np.load(filepath, allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise ModelFileError(f"{filepath}: not a readable .npz file ({e})") from e
    groups = {}
    for key, value in state.items():
        if not key.startswith(path):
            continue
        link, _, name = key[len(path):].rpartition("/")
        if name == "N" or value.ndim == 0 and name not in ("W", "b"):
            continue
        groups.setdefault(link, {})[name] = value
    if not name_map:
        groups = {k: groups[k] for k in sorted(groups, key=_convert.natural_key)}
    for layer, gname in _convert.pairs(model, groups, CONVERTERS, name_map, filepath, skip_mismatch):
        conv = CONVERTERS.get(type(layer).__name__)
        if conv is None:
            raise ValueError(f"{filepath}: no Chainer conversion for layer {layer.name!r} ({type(layer).__name__})")
        try:
            arrays = conv(groups[gname])
        except KeyError as e:
            if skip_mismatch:
                continue
            raise ModelFileError(f"{filepath}: link {gname!r} ({sorted(groups[gname])}) lacks {e} needed by layer "
                                 f"{layer.name!r} ({type(layer).__name__})") from None
        _convert.assign(layer, arrays, filepath, gname, skip_mismatch)
