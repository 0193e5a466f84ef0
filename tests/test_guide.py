"""Every ```python block in docs/guide.md and README.md runs, in order, one namespace per file, in a temp dir.

A block whose first line is ``# not run`` is skipped (downloads, long training).
"""
import contextlib
import io
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = ["docs/guide.md", "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text):
    """(line number, code) of each ```python block that is not marked ``# not run``."""
    for m in BLOCK.finditer(text):
        code = m.group(1)
        if code.lstrip().startswith("# not run"):
            continue
        yield text.count("\n", 0, m.start()) + 2, code


def test_python_blocks_are_found():
    blocks = list(python_blocks("x\n```python\na = 1\n```\n```python\n# not run\nb\n```\n"))
    assert blocks == [(3, "a = 1\n")]


@pytest.mark.parametrize("name", FILES)
def test_code_blocks_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUSARI_HOME", str(tmp_path / "kusari_home"))    # never touch the user's cache
    import kusari
    kusari.utils.set_random_seed(0)
    blocks = list(python_blocks((ROOT / name).read_text(encoding="utf-8")))
    assert blocks, f"{name} has no python blocks"
    namespace = {"__name__": "__guide__"}
    for line, code in blocks:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"{name}:{line}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"{name}, block at line {line} failed: {type(e).__name__}: {e}") from e
