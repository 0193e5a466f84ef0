"""Small file helpers shared by callbacks, saving and anything else that writes files.

>>> import os, tempfile
>>> from kusari.io_utils import atomic_write
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> with atomic_write(path) as f:
...     _ = f.write("hello")
>>> open(path).read()
'hello'
"""
import contextlib
import os
import tempfile

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Write ``path`` all-or-nothing: readers see the old file or the complete new one, never a half-written one.

    Yields a file object opened on a temporary file in the same folder (so that the final ``os.replace`` is a
    rename on one file system). On a clean exit the data is flushed and fsynced and the temporary file replaces
    ``path``; if the block raises, the temporary file is removed, ``path`` is left as it was and the exception
    propagates. ``mode`` is ``"w"`` (text, UTF-8 unless ``encoding=`` is given) or ``"wb"``; extra keyword
    arguments (``encoding``, ``newline``) go to ``open``. An existing file's permission bits are kept.
    """
    if mode not in ("w", "wb", "wt", "x", "xb", "xt"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb' (or 'x'/'xb'), got {mode!r}")
    path = os.fspath(path)
    if "x" in mode and os.path.exists(path):
        raise FileExistsError(f"atomic_write: {path} already exists")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode.replace("x", "w"), **open_kwargs) as f:
            fd = None
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder):
    # Make the rename itself durable (POSIX); not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
