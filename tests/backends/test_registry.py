"""Choosing a backend: names, environment variables, missing libraries, mixing tensors of two backends."""
import importlib.util
import sys

import numpy as np
import pytest

import kusari
from kusari import backend, config
from kusari.backend import registry


def test_unknown_backend_lists_the_ones_kusari_has():
    with pytest.raises(ValueError, match=r"unknown backend 'tensorflow'; kusari has: numpy, torch, jax"):
        kusari.set_backend("tensorflow")


def test_available_and_installed():
    assert backend.available() == ("numpy", "torch", "jax")
    assert "numpy" in backend.installed()
    for name in backend.installed():
        assert kusari.set_backend(name).name == name


@pytest.mark.parametrize("kusari_env, keras_env, want", [
    (None, None, "numpy"), ("torch", None, "torch"), (None, "torch", "torch"), ("numpy", "torch", "numpy"),
    (None, "jax", "jax")])
def test_default_backend_from_environment(monkeypatch, kusari_env, keras_env, want):
    for var, value in (("KUSARI_BACKEND", kusari_env), ("KERAS_BACKEND", keras_env)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    assert config.default_backend_name() == want


def test_keras_backend_env_selects_torch_in_a_fresh_process():
    pytest.importorskip("torch")
    import subprocess
    import os
    env = {k: v for k, v in os.environ.items() if k != "KUSARI_BACKEND"}
    env["KERAS_BACKEND"] = "torch"
    out = subprocess.run([sys.executable, "-c", "import kusari; t = kusari.tensor([1.0]); "
                          "print(kusari.backend().name, type(t.data).__module__)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["torch", "torch"]


def test_missing_library_names_the_pip_extra(monkeypatch):
    monkeypatch.setitem(registry._KNOWN, "fakeaccel", ("kusari.backend.no_such_module", "X", "fakeaccel"))
    with pytest.raises(ImportError, match=r"pip install 'kusari\[fakeaccel\]'"):
        kusari.set_backend("fakeaccel")


def test_missing_torch_names_the_torch_extra(monkeypatch):
    # as if torch were not installed: its import fails
    monkeypatch.setitem(sys.modules, "torch", None)
    for key in [k for k in registry._instances if k.startswith("torch")]:
        monkeypatch.delitem(registry._instances, key)
    monkeypatch.delitem(sys.modules, "kusari.backend.torch_backend", raising=False)
    with pytest.raises(ImportError, match=r"backend 'torch' needs a library that is not installed.*"
                                          r"pip install 'kusari\[torch\]'"):
        kusari.set_backend("torch")


def test_device_suffix_and_argument():
    pytest.importorskip("torch")
    assert kusari.set_backend("torch:cpu") is kusari.set_backend("torch", device="cpu")
    assert kusari.set_backend("torch:cpu").device == "cpu"
    with pytest.raises(ValueError, match="cpu only"):
        kusari.set_backend("numpy:cuda")


@pytest.mark.parametrize("other", [b for b in ("torch", "jax") if importlib.util.find_spec(b)])
def test_mixing_backends_is_a_clear_error(other):
    a = kusari.tensor(np.ones(3, np.float32))          # numpy (conftest's default)
    kusari.set_backend(other)
    b = kusari.tensor(np.ones(3, np.float32))
    with pytest.raises(TypeError, match=rf"backends 'numpy' \(cpu\) and '{other}'"):
        a + b
    with pytest.raises(TypeError, match=rf"backends '{other}' .* and 'numpy'"):
        kusari.ops.multiply(b, a)


def test_mixing_torch_devices_names_both():
    pytest.importorskip("torch")
    a = kusari.set_backend("torch:cpu") and kusari.tensor([1.0, 2.0])
    kusari.set_backend("torch", device="meta")      # a second torch device that exists without a GPU
    b = kusari.tensor([1.0, 2.0])
    assert b.device == "meta" and a.device == "cpu"
    with pytest.raises(Exception, match=r"(meta.*cpu|cpu.*meta)"):
        a + b
    with pytest.raises(Exception, match=r"(meta.*cpu|cpu.*meta)"):
        a + kusari.ops.cast(b, "float64")
