"""kusari.config.get/set_num_threads: really changes the BLAS (or torch) thread count, restores, rejects bad values."""
import subprocess
import sys

import pytest

import kusari
from kusari.backend import blas_threads


@pytest.mark.skipif(not blas_threads.available(), reason="this NumPy's BLAS is not OpenBLAS")
def test_numpy_backend_sets_openblas_threads():
    before = kusari.config.get_num_threads()
    try:
        for n in (1, 3, 2):
            kusari.config.set_num_threads(n)
            assert kusari.config.get_num_threads() == n
    finally:
        kusari.config.set_num_threads(before)
    assert kusari.config.get_num_threads() == before


@pytest.mark.skipif(not blas_threads.available(), reason="this NumPy's BLAS is not OpenBLAS")
def test_follows_the_environment_at_start():
    code = "import kusari; print(kusari.config.get_num_threads())"
    env = {"OPENBLAS_NUM_THREADS": "1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_counts_are_rejected(bad):
    with pytest.raises(ValueError, match="positive int"):
        kusari.config.set_num_threads(bad)


def test_torch_backend_sets_torch_threads():
    torch = pytest.importorskip("torch")
    before_numpy = kusari.backend().name
    kusari.set_backend("torch")
    before = torch.get_num_threads()
    try:
        kusari.config.set_num_threads(1)
        assert torch.get_num_threads() == 1 == kusari.config.get_num_threads()
    finally:
        torch.set_num_threads(before)
        kusari.set_backend(before_numpy)


def test_jax_backend_says_how_to_set_threads():
    pytest.importorskip("jax")
    before = kusari.backend().name
    kusari.set_backend("jax")
    try:
        with pytest.raises(RuntimeError, match="XLA_FLAGS"):
            kusari.config.set_num_threads(1)
    finally:
        kusari.set_backend(before)
