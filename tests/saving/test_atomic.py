"""Atomic writes: a process SIGKILLed in the middle of saving never leaves a torn model; the previous one loads."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import kusari
from kusari.saving import ModelFileError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import sys, numpy as np, kusari
    path = sys.argv[1]
    model = kusari.Sequential([kusari.Input((1000,)), kusari.layers.Dense(1000), kusari.layers.Dense(10)])
    k = 0
    while True:
        k += 1
        for w in model.weights:            # every weight of save number k holds the value k
            w.assign(np.full(w.shape, float(k), "float32"))
        model.save(path)
        print(k, flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_during_save_leaves_previous_model(tmp_path):
    path = str(tmp_path / "ckpt.kusari")
    rng = random.Random(0)
    last_k = 0
    for round_ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            first = proc.stdout.readline()            # one complete save done (a 4 MB file)
            assert first.strip(), "child died before its first save"
            time.sleep(rng.uniform(0.0, 0.05))       # then kill it at a random moment, usually mid-write
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        model = kusari.models.load_model(path)       # the last completed save: whole and consistent
        values = {float(np.unique(w.numpy())[0]) for w in model.weights}
        assert len(values) == 1 and all(len(np.unique(w.numpy())) == 1 for w in model.weights)
        last_k = values.pop()
        assert last_k >= 1
    # whatever the kills left behind are hidden temporary files, never mistaken for a model
    leftovers = [p for p in os.listdir(tmp_path) if p != "ckpt.kusari"]
    for name in leftovers:
        assert name.startswith(".ckpt.kusari.") and name.endswith(".tmp"), name
        try:
            kusari.models.load_model(tmp_path / name)
        except (ModelFileError, ValueError):
            pass   # a torn temporary file is refused with a clear error (or, if complete, it is a whole model)


def test_failed_save_keeps_previous_file(tmp_path):
    model = kusari.Sequential([kusari.Input((2,)), kusari.layers.Dense(1)])
    path = tmp_path / "m.kusari"
    model.save(path)
    before = path.read_bytes()

    class Boom(kusari.layers.Layer):
        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "bad": object()}
    broken = kusari.Sequential([kusari.Input((2,)), Boom()])
    with pytest.raises(TypeError):
        broken.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.kusari"]
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
