"""Only kusari/backend talks to array libraries: no module under the layers above it may import numpy, cupy, torch
or jax — at any depth (also inside functions), as ``import x``, ``import x.y`` or ``from x[.y] import z``."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "kusari"
GUARDED = ("autograd", "ops", "layers", "models", "training", "optimizers")
FORBIDDEN = {"numpy", "cupy", "torch", "jax"}


def forbidden_imports(source, filename="<src>"):
    """(line, module) for every import of a forbidden library in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module] if node.module and node.level == 0 else []
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names = [node.args[0].value]  # __import__("numpy"), importlib.import_module("torch")
        else:
            continue
        for name in names:
            if name.split(".")[0] in FORBIDDEN:
                found.append((node.lineno, name))
    return found


def _is_dynamic_import(func):
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _files(folder):
    base = ROOT / folder
    return sorted(base.rglob("*.py")) if base.is_dir() else []


@pytest.mark.parametrize("folder", GUARDED)
def test_no_array_library_imports(folder):
    bad = []
    for path in _files(folder):
        for line, name in forbidden_imports(path.read_text(encoding="utf-8"), str(path)):
            bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {name}")
    assert not bad, "only kusari/backend may import array libraries:\n" + "\n".join(bad)


def test_checker_finds_imports_at_any_depth():
    src = """
import os
import numpy as np
from torch import nn
import jax.numpy
def f():
    import cupy
    class C:
        def g(self):
            from numpy.linalg import norm
from . import numpy_helpers
from .numpy import x
import numpyro
np2 = __import__("numpy")
import importlib
t = importlib.import_module("torch.nn")
ok = __import__(f"kusari.ops.{name}")
"""
    assert sorted(forbidden_imports(src)) == [(3, "numpy"), (4, "torch"), (5, "jax.numpy"), (7, "cupy"),
                                              (10, "numpy.linalg"), (14, "numpy"), (16, "torch.nn")]


def test_backend_folder_exists_and_is_not_guarded():
    assert (ROOT / "backend").is_dir() and "backend" not in GUARDED
