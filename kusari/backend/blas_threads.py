"""The thread count of the BLAS NumPy runs its matrix products on, read and set at runtime.

NumPy's wheels ship OpenBLAS under a prefixed name (``scipy_openblas64_``); other builds link a plain ``openblas``.
This finds whichever OpenBLAS the process has loaded and calls its ``*_set_num_threads``. Anything else (MKL,
Apple's Accelerate) is reported as not controllable: set ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` before Python starts instead.
"""
import ctypes
import glob
import os

import numpy as np

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")
_lib = None
_searched = False


def _candidates():
    try:
        with open("/proc/self/maps") as f:                     # Linux: what is really loaded
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        paths = set()
    if not paths:                                               # elsewhere: the libraries NumPy's wheel ships
        root = os.path.dirname(os.path.dirname(np.__file__))
        for folder in (os.path.join(root, "numpy.libs"), os.path.join(root, "numpy", ".dylibs")):
            paths.update(glob.glob(os.path.join(folder, "*openblas*")))
    return sorted(paths)


def _functions():
    """``(get, set)`` ctypes functions of the loaded OpenBLAS, or None."""
    global _lib, _searched
    if not _searched:
        _searched = True
        for path in _candidates():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in _PREFIXES:
                for suffix in _SUFFIXES:
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    if get is not None and put is not None:
                        get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                        _lib = (get, put)
                        return _lib
    return _lib


def available():
    """True when this process's BLAS thread count can be read and set."""
    return _functions() is not None


def get_num_threads():
    fns = _functions()
    if fns is None:
        raise RuntimeError("kusari cannot read NumPy's BLAS thread count (no OpenBLAS loaded); it follows "
                           "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS set before Python started")
    return int(fns[0]())


def set_num_threads(n):
    fns = _functions()
    if fns is None:
        raise RuntimeError("kusari cannot set NumPy's BLAS thread count at runtime (no OpenBLAS loaded); set "
                           "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS before starting Python")
    fns[1](int(n))
