"""Shared by the PyTorch and Chainer importers: match groups of foreign parameters to kusari layers (by order or
by an explicit name map) and assign converted arrays to the layers' weights by weight name."""
import re

import numpy as np

from kusari.saving.archive import ModelFileError


def target_layers(model, known):
    """The layers (in model order, descending into nested models/containers) whose class is in ``known``."""
    out = []

    def visit(layer):
        for child in layer.layers:
            if type(child).__name__ in known:
                if child.weights:
                    out.append(child)
            else:
                visit(child)
    visit(model)
    return out


def dense(p, weight, bias):
    """A fully connected layer's ``{"kernel", "bias"}`` from a foreign ``(out, in)`` weight ``p[weight]`` and
    ``p[bias]`` (if there is one)."""
    return _with_bias({"kernel": p[weight].T}, p, bias)


def conv(p, weight, bias):
    """A convolution's ``{"kernel", "bias"}`` from a foreign ``(out, in, *kernel_size)`` weight ``p[weight]`` (to
    Keras' ``(*kernel_size, in, out)``) and ``p[bias]`` (if there is one)."""
    w = p[weight]
    return _with_bias({"kernel": np.transpose(w, tuple(range(2, w.ndim)) + (1, 0))}, p, bias)


def _with_bias(out, p, bias):
    if bias in p:
        out["bias"] = p[bias]
    return out


def natural_key(text):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def pairs(model, groups, known, name_map, where, skip_mismatch):
    """``[(layer, group name)]``: by ``name_map`` ({kusari layer name: group name}) or by order."""
    layers = target_layers(model, known)
    if name_map:
        by_name = {l.name: l for l in model._flatten_layers()}
        out = []
        for lname, gname in name_map.items():
            if lname not in by_name:
                raise ValueError(f"{where}: name_map names layer {lname!r}, which the model lacks")
            if gname not in groups:
                raise ModelFileError(f"{where}: name_map names {gname!r}, which the file lacks; it has "
                                     f"{list(groups)[:8]}")
            out.append((by_name[lname], gname))
        return out
    names = list(groups)
    if len(names) != len(layers) and not skip_mismatch:
        raise ModelFileError(f"{where}: the file has {len(names)} parametrised layers ({names}) but the model has "
                             f"{len(layers)} ({[l.name for l in layers]}); pass name_map= or skip_mismatch=True")
    return list(zip(layers, names))


def assign(layer, arrays, where, group, skip_mismatch):
    """Give ``layer``'s weights the values in ``arrays`` ({weight name: array})."""
    from kusari.autograd.mode import no_grad
    todo = []
    for w in layer.weights:
        if w.name not in arrays:
            if skip_mismatch:
                continue
            raise ModelFileError(f"{where}: {group!r} gives no value for weight {w.path!r}")
        value = np.asarray(arrays[w.name])
        if tuple(value.shape) != tuple(w.shape):
            if skip_mismatch:
                continue
            raise ModelFileError(f"{where}: {group!r} gives {w.name} of shape {tuple(value.shape)} (after layout "
                                 f"conversion) but {w.path!r} has shape {tuple(w.shape)}")
        todo.append((w, value))
    with no_grad():
        for w, value in todo:
            w.assign(value.astype(w.numpy().dtype))
