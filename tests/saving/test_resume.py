"""Exact resume: fit(4) == fit(2) + save + load in a fresh process + fit(initial_epoch=2, epochs=4), to the bit;
and BackupAndRestore picking up an interrupted fit."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kusari
from tests.saving import _models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _weights(model):
    return [w.numpy().copy() for w in model.weights] + [v.numpy().copy() for v in model.optimizer.variables]


def _assert_bitwise(a, b):
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        assert u.dtype == v.dtype and u.shape == v.shape, i
        assert u.tobytes() == v.tobytes(), f"variable {i} differs (max abs diff {np.max(np.abs(u - v))})"


def test_fit_resume_in_fresh_process_is_bit_identical(tmp_path):
    x, y = _models.data()
    ref = _models.resume_model()
    ref.fit(x, y, epochs=4, **_models.FIT)
    expected = _weights(ref)

    first = _models.resume_model()
    first.fit(x, y, epochs=2, **_models.FIT)
    path = tmp_path / "half.kusari"
    first.save(path)
    out = tmp_path / "out.npz"
    child = textwrap.dedent(f"""
        import numpy as np, kusari
        from tests.saving import _models
        kusari.random.set_seed(12345)          # a different global state: the file must bring the right one
        model = kusari.models.load_model({str(path)!r})
        x, y = _models.data()
        model.fit(x, y, initial_epoch=2, epochs=4, **_models.FIT)
        ws = [w.numpy() for w in model.weights] + [v.numpy() for v in model.optimizer.variables]
        np.savez({str(out)!r}, *ws)
    """)
    subprocess.run([sys.executable, "-c", child], cwd=ROOT, check=True, timeout=120)
    with np.load(out) as f:
        got = [f[f"arr_{i}"] for i in range(len(f.files))]
    _assert_bitwise(got, expected)
    assert int(got[len(ref.weights)]) == 20  # the optimizer's step count: 4 epochs x 5 batches


def test_resume_without_state_differs(tmp_path):
    """The control: restoring weights and optimizer but not the generators does *not* give the same result, so
    the test above really checks the generator states."""
    x, y = _models.data()
    ref = _models.resume_model()
    ref.fit(x, y, epochs=4, **_models.FIT)
    first = _models.resume_model()
    first.fit(x, y, epochs=2, **_models.FIT)
    path = tmp_path / "half.kusari"
    first.save(path)
    again = kusari.models.load_model(path)
    again._permuter = None                       # forget the data order
    kusari.random.set_seed(99)
    again.fit(x, y, initial_epoch=2, epochs=4, **_models.FIT)
    assert any(a.tobytes() != b.tobytes() for a, b in zip(_weights(again), _weights(ref)))


def test_load_restores_generator_states(tmp_path):
    model = _models.resume_model()
    x, y = _models.data()
    model.fit(x, y, epochs=1, **_models.FIT)
    model.save(tmp_path / "m.kusari")
    dropout = [l for l in model.layers if isinstance(l, kusari.layers.Dropout)][0]
    want_drop = kusari.random.uniform((5,), seed=dropout.seed_generator).numpy()
    want_perm = model._permuter.permutation(10)
    model.save(tmp_path / "m.kusari")  # (state after the draws above is not what we compare against)
    loaded = kusari.models.load_model(tmp_path / "m.kusari")
    d2 = [l for l in loaded.layers if isinstance(l, kusari.layers.Dropout)][0]
    assert d2.seed_generator.state == dropout.seed_generator.state
    assert loaded._permuter.state == model._permuter.state
    assert want_drop.shape == (5,) and want_perm.shape == (10,)


class _Boom(kusari.callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("interrupted")


class _Epochs(kusari.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def test_backup_and_restore_resumes_interrupted_fit(tmp_path):
    x, y = _models.data()
    ref = _models.resume_model()
    ref.fit(x, y, epochs=5, **_models.FIT)
    backup = tmp_path / "backup"

    model = _models.resume_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=5, callbacks=[kusari.callbacks.BackupAndRestore(backup), _Boom(3)], **_models.FIT)
    assert os.listdir(backup) == ["latest.kusari"]

    # run the script again: a fresh model (same code, different random state), the same callback
    model = _models.resume_model(seed=7)
    cb, epochs = kusari.callbacks.BackupAndRestore(backup), _Epochs()
    model.fit(x, y, epochs=5, callbacks=[cb, epochs], **_models.FIT)
    assert cb.restored_epoch == 3 and epochs.seen == [3, 4]
    _assert_bitwise(_weights(model), _weights(ref))
    assert not backup.exists()   # delete_checkpoint=True after a normal end


def test_backup_and_restore_keeps_checkpoint_and_ignores_temp_files(tmp_path):
    x, y = _models.data()
    model = _models.resume_model()
    backup = tmp_path / "b"
    backup.mkdir()
    (backup / ".latest.kusari.abc123.tmp").write_bytes(b"PK\x03\x04 half a zip")   # left by a killed save
    cb = kusari.callbacks.BackupAndRestore(backup, delete_checkpoint=False)
    model.fit(x, y, epochs=1, callbacks=[cb], **_models.FIT)
    assert cb.restored_epoch is None
    assert os.listdir(backup) == ["latest.kusari"]
    model.fit(x, y, epochs=1, callbacks=[cb], **_models.FIT)   # already done: nothing left to train
    assert cb.restored_epoch == 1


def test_backup_and_restore_arguments():
    with pytest.raises(ValueError, match="save_freq"):
        kusari.callbacks.BackupAndRestore("/tmp/x", save_freq=10)
    with pytest.raises(ValueError, match="backup_dir"):
        kusari.callbacks.BackupAndRestore("")
