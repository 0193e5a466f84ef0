"""The seed MNIST script (examples/mnist_cnn.py, quick mode) runs unchanged on every other installed backend,
chosen the Keras way: by environment variable, in a fresh process (tests/test_demo.py runs it on numpy)."""
import math
import os
import re
import subprocess
import sys

import pytest

from tests.backends._util import others_or_skip

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "mnist_cnn.py")

# run the script as `python examples/mnist_cnn.py --quick` would, then say which backend its tensors were on
RUNNER = ("import runpy, sys; sys.argv = [sys.argv[1], '--quick']; "
          "g = runpy.run_path(sys.argv[0], run_name='__main__'); "
          "print('backend:', g['model'].weights[0].backend.name)")


@pytest.mark.parametrize("backend_name", others_or_skip())
def test_seed_mnist_script_runs_unchanged(tmp_path, backend_name):
    # KUSARI_BACKEND: the script sets KERAS_BACKEND=numpy itself (the seed post's line), which KUSARI_BACKEND overrides
    env = {k: v for k, v in os.environ.items() if k != "KUSARI_BACKEND"}
    env["KUSARI_BACKEND"] = backend_name
    r = subprocess.run([sys.executable, "-c", RUNNER, SCRIPT], capture_output=True, text=True, timeout=600,
                       cwd=str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == f"backend: {backend_name}"
    acc = float(lines[-2].split()[-1])
    assert lines[-2].startswith("Test accuracy:") and 0.0 <= acc <= 1.0
    # it trained: the second epoch's loss is below the first's, the test loss below chance (ln 10)
    epochs = re.findall(r"^16/16 .* - loss: ([0-9.]+)$", r.stdout, flags=re.M)
    assert len(epochs) == 2 and float(epochs[1]) < float(epochs[0]), r.stdout
    test_loss = float(re.search(r"^4/4 .* - loss: ([0-9.]+)$", r.stdout, flags=re.M).group(1))
    assert test_loss < math.log(10), r.stdout


def test_seed_scripts_own_keras_backend_line_picks_torch(tmp_path):
    """The seed post's exact line, ``os.environ["KERAS_BACKEND"] = "torch"``, in the script itself (no
    KUSARI_BACKEND set) runs the script on kusari's torch backend."""
    pytest.importorskip("torch")
    with open(SCRIPT, encoding="utf-8") as f:
        source = f.read()
    line = 'os.environ["KERAS_BACKEND"] = "numpy"'
    assert line in source
    script = tmp_path / "mnist_cnn_torch.py"
    script.write_text(source.replace(line, 'os.environ["KERAS_BACKEND"] = "torch"'), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("KUSARI_BACKEND", "KERAS_BACKEND")}
    r = subprocess.run([sys.executable, "-c", RUNNER, str(script)], capture_output=True, text=True, timeout=600,
                       cwd=str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "backend: torch"
