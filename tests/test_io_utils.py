import os
import stat

import pytest

from kusari.io_utils import atomic_write


def test_writes_text_and_bytes(tmp_path):
    p = tmp_path / "a.txt"
    with atomic_write(p) as f:
        f.write("héllo")
    assert p.read_text(encoding="utf-8") == "héllo"
    with atomic_write(str(p), "wb") as f:
        f.write(b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_exception_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_write(p) as f:
            f.write("half of the new conte")
            raise RuntimeError("crash")
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_exception_on_new_file_creates_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(tmp_path / "new.txt") as f:
            f.write("x")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_file_not_visible_until_done(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with atomic_write(p) as f:
        f.write("new")
        f.flush()
        assert p.read_text() == "old"
    assert p.read_text() == "new"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_keeps_permissions(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    with atomic_write(p) as f:
        f.write("new")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640


def test_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "a", "a"):
            pass


def test_exclusive_mode(tmp_path):
    p = tmp_path / "a"
    p.write_text("x")
    with pytest.raises(FileExistsError):
        with atomic_write(p, "x"):
            pass
