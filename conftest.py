"""Loaded by pytest before anything imports NumPy: one BLAS thread per test worker.

``pytest -n 2`` already runs two processes on this 2-core machine; OpenBLAS's own two threads per process would
oversubscribe the cores, and its spin-waiting makes small matrix products hundreds of times slower under load.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# --doctest-modules imports every module under kusari/: skip the backends whose library is not installed
import importlib.util  # noqa: E402

collect_ignore = [f"kusari/backend/{_lib}_backend.py" for _lib in ("torch", "jax")
                  if importlib.util.find_spec(_lib) is None]
