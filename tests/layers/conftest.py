"""Every ``run_layer_test`` call in tests/layers also runs on every other installed backend (torch, jax) and
compares its outputs and gradients with the current backend's (see ``kusari.testing.layer_test``)."""
import pytest

from kusari import backend as _backend
from kusari.testing import layer_test


@pytest.fixture(autouse=True)
def _layer_tests_on_every_backend(monkeypatch):
    monkeypatch.setattr(layer_test, "DEFAULT_BACKENDS", _backend.installed())
