"""Keep freed array memory in the process (glibc), so that a training step does not fault its pages in again.

A training step frees and reallocates the same large arrays every step. glibc's malloc gives big blocks back to
the system when they are freed (``munmap``, or trimming the top of a heap), and the next step then touches fresh
pages: each 4 KiB page is a page fault, ~2 µs on a VM. How often that happens depends on the order of frees and
allocations, which makes it fragile: the benchmark Transformer faulted ~3,400 pages per step (~10% of its step
time), and a small change in how a convolution's kernel gradient allocated its pieces made the CNN fault ~8,000
pages per step and run ~50% slower. So the NumPy backend, when it is first loaded, sets two glibc malloc parameters:
blocks up to 32 MiB come from the heap (``M_MMAP_THRESHOLD``; larger ones still map and unmap), and a heap's free
top is given back only beyond 256 MiB (``M_TRIM_THRESHOLD``). Peak memory is unchanged; memory freed after the
peak stays with the process, up to those 256 MiB per heap, for the next step to reuse.

This changes the whole process's malloc, so it is on by default but easy to turn off: ``KUSARI_NUMPY_MALLOC=system``
leaves glibc's own behaviour. On other C libraries (macOS, Windows, musl) it does nothing.

>>> from kusari.backend import numpy_malloc
>>> numpy_malloc.keep_freed_memory() in (True, False)
True
"""
import ctypes
import os
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20       # glibc's largest allowed value on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 256 << 20

_done = None


def setting():
    """``"keep"`` (the default: set the thresholds above) or ``"system"`` (``KUSARI_NUMPY_MALLOC=system``: leave
    malloc alone)."""
    value = os.environ.get("KUSARI_NUMPY_MALLOC", "keep").strip().lower() or "keep"
    if value not in ("keep", "system"):
        raise ValueError(f"KUSARI_NUMPY_MALLOC must be 'keep' or 'system', got {value!r}")
    return value


def keep_freed_memory():
    """Set glibc's mmap and trim thresholds once per process, unless ``KUSARI_NUMPY_MALLOC=system``. Returns True
    when they are set (now or before), False when left alone (turned off, or not glibc)."""
    global _done
    if _done is None:
        _done = setting() == "keep" and _set_glibc_thresholds()
    return _done


def _set_glibc_thresholds():
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not libc.gnu_get_libc_version:       # musl and others have mallopt's name but not its parameters
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
