"""The main job (``python -m kusari demo``) and the seed MNIST script, in their quick modes, and the digits CNN
reaching the promised accuracy."""
import os
import subprocess
import sys

import numpy as np

import kusari

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_digits_cnn_reaches_095_test_accuracy():
    from kusari.demo import build_model, load_digits
    kusari.utils.set_random_seed(0)
    (x, y), (xt, yt) = load_digits()
    model = build_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    _, accuracy = model.evaluate(xt, yt, verbose=0)
    assert accuracy >= 0.95, accuracy


def test_demo_quick_runs_saves_and_the_saved_model_predicts_the_same(tmp_path, capsys):
    from kusari.demo import load_digits, run
    accuracy, history = run(quick=True, out=str(tmp_path), verbose=0)
    out = capsys.readouterr().out
    assert "Test accuracy" in out and "Total params" in out
    assert history.history["loss"][-1] < history.history["loss"][0]
    saved = tmp_path / "digits_cnn.kusari"
    assert saved.exists()
    model = kusari.models.load_model(str(saved))
    _, (xt, yt) = load_digits()
    _, acc_again = model.evaluate(xt, yt, verbose=0)
    assert acc_again == accuracy


def test_command_line_demo_quick(tmp_path):
    r = subprocess.run([sys.executable, "-m", "kusari", "demo", "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "Test accuracy" in r.stdout


def test_seed_mnist_script_runs_with_only_the_import_changed(tmp_path):
    script = os.path.join(ROOT, "examples", "mnist_cnn.py")
    source = open(script, encoding="utf-8").read()
    assert "import kusari as keras" in source and "keras.Sequential(" in source
    r = subprocess.run([sys.executable, script, "--quick"], capture_output=True, text=True, timeout=300,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.strip().splitlines()[-1].split()[-1])
    assert 0.0 <= acc <= 1.0
