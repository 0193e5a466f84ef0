"""The NumPy backend keeps freed array memory in the process (glibc): arrays freed and allocated again every step
do not fault their pages in again. Each case runs in a fresh interpreter, since malloc's settings are per process."""
import ctypes
import json
import os
import subprocess
import sys
import textwrap

import pytest

from kusari.backend import numpy_malloc


def glibc():
    try:
        return sys.platform.startswith("linux") and bool(ctypes.CDLL(None).gnu_get_libc_version)
    except (OSError, AttributeError):
        return False


# Allocates, touches and frees eight 3 MiB arrays five times (below NumPy's huge-page size, so each 4 KiB page
# is one fault), then a mix of sizes over two threads, and reports the page faults after the first round (the
# first round must fault: its pages are new to the process).
PROBE = textwrap.dedent("""
    import json, resource, threading
    import numpy as np
    import kusari
    kusari.backend()                                       # loads the NumPy backend, which sets malloc up
    from kusari.backend import numpy_malloc

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def rounds(sizes, n):
        for _ in range(n):
            arrays = [np.ones(s, np.float32) for s in sizes]
            del arrays

    rounds([3 << 18] * 8, 1)
    f0 = faults()
    rounds([3 << 18] * 8, 4)
    big = faults() - f0
    sizes = [3 << 18, 1 << 16, 5 << 17, 1 << 14, 1 << 18, 3 << 18]
    t = threading.Thread(target=rounds, args=(sizes, 1)); t.start(); t.join()
    rounds(sizes, 1)
    f0 = faults()
    t = threading.Thread(target=rounds, args=(sizes, 4)); t.start(); t.join()
    rounds(sizes, 4)
    mixed = faults() - f0
    print(json.dumps({"set": numpy_malloc.keep_freed_memory(), "big": big, "mixed": mixed}))
""")


def probe(setting):
    env = dict(os.environ, KUSARI_NUMPY_MALLOC=setting)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not glibc(), reason="malloc thresholds are glibc's")
def test_freed_arrays_are_reused_without_page_faults():
    kept = probe("keep")
    assert kept["set"] is True
    pages = 8 * (3 << 20) // 4096                        # one round of the eight arrays, in 4 KiB pages
    assert kept["big"] < pages // 20, kept
    assert kept["mixed"] < pages // 20, kept


@pytest.mark.skipif(not glibc(), reason="malloc thresholds are glibc's")
def test_system_setting_leaves_glibc_alone():
    # glibc by itself maps a block of a size it has freed before anew and unmaps it when freed, so every round
    # faults again: the behaviour the default setting exists to avoid
    system = probe("system")
    assert system["set"] is False
    assert system["big"] > 8 * (3 << 20) // 4096, system


def test_bad_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("KUSARI_NUMPY_MALLOC", "sometimes")
    with pytest.raises(ValueError, match="KUSARI_NUMPY_MALLOC must be 'keep' or 'system'"):
        numpy_malloc.setting()


def test_setting_defaults_to_keep(monkeypatch):
    monkeypatch.delenv("KUSARI_NUMPY_MALLOC", raising=False)
    assert numpy_malloc.setting() == "keep"
    monkeypatch.setenv("KUSARI_NUMPY_MALLOC", " System ")
    assert numpy_malloc.setting() == "system"
