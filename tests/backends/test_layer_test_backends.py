"""``run_layer_test(..., backends=[...])`` runs the layer on the other backends and fails, naming the backend and
what differs, when one of them gives other outputs or other gradients than the current backend."""
import numpy as np
import pytest

from kusari import layers, ops
from kusari.testing import layer_test
from kusari.testing.layer_test import run_layer_test

from tests.backends._util import OTHERS, others_or_skip


def _numpy_array(x):
    return isinstance(x.data, np.ndarray)


class _OffElsewhere(layers.Dense):
    """A Dense layer whose output is off by 1e-3 on every backend but numpy."""

    def call(self, x):
        y = super().call(x)
        return y if _numpy_array(y) else y + 1e-3


class _GradOffElsewhere(layers.Dense):
    """Same output everywhere; the gradient is 1.5 times too large off numpy (x + 0.5 (x - stop_gradient(x)))."""

    def call(self, x):
        y = super().call(x)
        return y if _numpy_array(y) else y + 0.5 * (y - ops.stop_gradient(y))


@pytest.mark.parametrize("backend_name", others_or_skip())
def test_the_same_layer_passes_on_every_backend(backend_name):
    layer = run_layer_test(layers.Dense, {"units": 3, "activation": "tanh"}, input_shape=(2, 4),
                           backends=[backend_name])
    assert layer.kernel.backend.name == "numpy"


@pytest.mark.parametrize("backend_name", others_or_skip())
def test_another_output_is_reported_with_its_backend(backend_name):
    with pytest.raises(AssertionError, match=rf"_OffElsewhere on {backend_name} \(vs numpy\):\n  float32 output 0: "
                                             r"max abs error 0.001"):
        run_layer_test(_OffElsewhere, {"units": 3}, input_shape=(2, 4), backends=[backend_name])


@pytest.mark.parametrize("backend_name", others_or_skip())
def test_another_gradient_is_reported_with_its_backend(backend_name):
    with pytest.raises(AssertionError, match=rf"_GradOffElsewhere on {backend_name} \(vs numpy\):\n  float32 "
                                             r"gradient of input 0: max abs error") as e:
        run_layer_test(_GradOffElsewhere, {"units": 3}, input_shape=(2, 4), backends=[backend_name])
    assert "float64 gradient of" in str(e.value) and "output 0" not in str(e.value)


def test_every_backend_is_reported_not_just_the_first():
    if len(OTHERS) < 2:
        pytest.skip("needs two backends besides numpy (torch and jax)")
    with pytest.raises(AssertionError) as e:
        run_layer_test(_OffElsewhere, {"units": 3}, input_shape=(2, 4), backends=OTHERS)
    for name in OTHERS:
        assert f"_OffElsewhere on {name} (vs numpy)" in str(e.value)


def test_default_backends_come_from_the_module_setting(monkeypatch):
    if not OTHERS:
        pytest.skip("no backend besides numpy is installed")
    monkeypatch.setattr(layer_test, "DEFAULT_BACKENDS", tuple(OTHERS))
    with pytest.raises(AssertionError, match="_OffElsewhere on"):
        run_layer_test(_OffElsewhere, {"units": 3}, input_shape=(2, 4))
    run_layer_test(_OffElsewhere, {"units": 3}, input_shape=(2, 4), backends=())   # explicit: numpy only
