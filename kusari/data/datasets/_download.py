"""Download-and-cache helper for the dataset loaders (like ``keras.utils.get_file``).

Files are cached under ``~/.kusari/<cache_subdir>`` (``$KUSARI_HOME/<cache_subdir>``
when ``KUSARI_HOME`` is set).  ``KUSARI_DATASETS_MIRROR`` replaces the folder of
every origin URL: with ``KUSARI_DATASETS_MIRROR=http://host/data`` the origin
``https://a.b/c/mnist.npz`` is fetched from ``http://host/data/mnist.npz``.

Downloads are atomic: bytes stream into a temporary file in the cache folder,
which is checked (length, SHA-256), flushed, fsynced and only then renamed onto
the final name.  A failed or interrupted download leaves nothing behind.
"""
import hashlib
import http.client
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

MIRROR_ENV = "KUSARI_DATASETS_MIRROR"
HOME_ENV = "KUSARI_HOME"
CHUNK_SIZE = 1 << 16
TIMEOUT_S = 60


class DownloadError(OSError):
    """The file could not be fetched (offline, server unreachable, HTTP error, cut off)."""


class ChecksumError(ValueError):
    """A downloaded file's hash differs from the expected one."""


def kusari_home():
    """The cache root: ``$KUSARI_HOME`` if set, else ``~/.kusari``.

    >>> import os
    >>> kusari_home().endswith(".kusari") or "KUSARI_HOME" in os.environ
    True
    """
    home = os.environ.get(HOME_ENV)
    if home:
        return os.path.abspath(os.path.expanduser(home))
    return os.path.join(os.path.expanduser("~"), ".kusari")


def cache_path(fname, cache_subdir="datasets", cache_dir=None):
    """Where ``get_file`` keeps ``fname`` (the folder is not created).

    >>> cache_path("mnist.npz", cache_dir="/tmp/k")
    '/tmp/k/datasets/mnist.npz'
    """
    root = cache_dir if cache_dir is not None else kusari_home()
    return os.path.join(root, cache_subdir, fname)


def resolve_url(origin):
    """``origin``, or the mirror URL for it when ``KUSARI_DATASETS_MIRROR`` is set.

    >>> resolve_url("https://example.com/a/b.npz")  # with KUSARI_DATASETS_MIRROR=http://m/x  # doctest: +SKIP
    'http://m/x/b.npz'
    """
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        return origin
    name = os.path.basename(urllib.parse.urlparse(origin).path)
    return mirror.rstrip("/") + "/" + name


def file_hash(path, algorithm="sha256"):
    """Hex digest of a file, read in chunks.

    >>> file_hash(__file__) == file_hash(__file__)
    True
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
            h.update(chunk)
    return h.hexdigest()


def _hash_algorithm(expected):
    # Keras lists SHA-256 for the datasets, and MD5 (32 hex digits) for a few files.
    return "md5" if len(expected) == 32 else "sha256"


def get_file(fname, origin, file_hash=None, cache_subdir="datasets", extract=False,
             cache_dir=None, force_download=False):
    """Download ``origin`` into the cache as ``fname`` unless already there; return its path.

    ``file_hash`` is the expected SHA-256 (or 32-digit MD5) hex digest; a cached
    file that matches is not downloaded again, one that does not is replaced.
    With ``extract=True`` a tar/zip archive is unpacked into ``<path>_extracted``
    and that folder's path is returned.

    Raises ``DownloadError`` (an ``OSError``) when the server cannot be reached,
    and ``ChecksumError`` (a ``ValueError``) when the download's hash is wrong.

    >>> path = get_file("mnist.npz",
    ...     "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")  # doctest: +SKIP
    """
    fpath = cache_path(fname, cache_subdir, cache_dir)
    folder = os.path.dirname(fpath)
    os.makedirs(folder, exist_ok=True)
    expected = file_hash.lower() if file_hash else None

    if os.path.exists(fpath) and not force_download:
        if expected is None or _file_matches(fpath, expected):
            return _maybe_extract(fpath, extract)
        warnings.warn(f"Cached file {fpath} does not match the expected hash; downloading it again.")

    _download(resolve_url(origin), fpath, expected)
    _remove_tree(fpath + "_extracted")  # unpacked from an older copy of the archive, if any
    return _maybe_extract(fpath, extract)


def _file_matches(path, expected):
    return file_hash(path, _hash_algorithm(expected)) == expected


def _download(url, fpath, expected):
    """Stream ``url`` into a temp file next to ``fpath``, verify, fsync, rename."""
    folder, name = os.path.split(fpath)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _stream(url, out, fpath, _hash_algorithm(expected or ""))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache file is ordinary data
        if expected is not None and actual != expected:
            raise ChecksumError(
                f"Downloaded file {name!r} from {url} has the wrong hash: "
                f"expected {expected}, got {actual}. The file was discarded; "
                f"the download may be corrupt or the server may serve a different file.")
        os.replace(tmp, fpath)
    except BaseException:
        _remove_quietly(tmp)
        raise


def _stream(url, out, fpath, algorithm):
    """Copy ``url``'s body into ``out``; return its hex digest. Network errors -> DownloadError."""
    h = hashlib.new(algorithm)
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            length = resp.headers.get("Content-Length")
            for chunk in iter(lambda: resp.read(CHUNK_SIZE), b""):
                out.write(chunk)
                h.update(chunk)
                received += len(chunk)
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError) as e:
        raise DownloadError(_unreachable_message(url, fpath, e)) from e
    if length is not None and received != int(length):
        raise DownloadError(_unreachable_message(
            url, fpath, f"connection closed after {received} of {length} bytes"))
    return h.hexdigest()


def _unreachable_message(url, fpath, reason):
    if isinstance(reason, urllib.error.HTTPError):
        reason = f"HTTP {reason.code} {reason.reason}"
    elif isinstance(reason, urllib.error.URLError):
        reason = reason.reason
    name = os.path.basename(fpath)
    return (f"Could not download {url} ({reason}). If you are offline or the server is "
            f"unreachable, fetch {name!r} by other means and put it at {fpath}, "
            f"or set {MIRROR_ENV} to a base URL that serves {name!r}.")


def _remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _maybe_extract(fpath, extract):
    if not extract:
        return fpath
    target = fpath + "_extracted"
    if os.path.isdir(target):
        return target
    tmp = tempfile.mkdtemp(prefix=os.path.basename(target) + ".", dir=os.path.dirname(fpath))
    try:
        _extract_archive(fpath, tmp)
        os.replace(tmp, target)
    except BaseException:
        _remove_tree(tmp)
        raise
    return target


def _extract_archive(path, dest):
    """Unpack a tar or zip archive into ``dest``, refusing links and paths that leave it."""
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()):
                    raise ValueError(f"{path}: archive member {member.name!r} is not a plain file or folder")
                _check_inside(dest, member.name, path)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                _check_inside(dest, name, path)
            zf.extractall(dest)
    else:
        raise ValueError(f"{path} is neither a tar nor a zip archive; cannot extract it")


def _check_inside(dest, name, archive):
    root = os.path.realpath(dest)
    target = os.path.realpath(os.path.join(dest, name))
    if os.path.commonpath([root, target]) != root:
        raise ValueError(f"{archive}: archive member {name!r} would be written outside {dest}")


def _remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
