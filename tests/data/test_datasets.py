"""Tests for kusari.data.datasets: the bundled digits, the downloader and the loaders.

No network: downloads come from a local http.server on 127.0.0.1 serving small
generated files in each loader's format.
"""
import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import struct
import tarfile
import threading

import numpy as np
import pytest

from kusari.data import datasets
from kusari.data.datasets import _download, _object_npy, cifar10, digits, fashion_mnist, imdb, mnist
from kusari.data.datasets._download import ChecksumError, DownloadError, get_file


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own KUSARI_HOME and no mirror."""
    monkeypatch.setenv("KUSARI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUSARI_DATASETS_MIRROR", raising=False)
    return tmp_path / "home"


class LocalServer:
    """Serves ``files`` (name -> bytes) at http://127.0.0.1:<port>/<name>; counts requests.

    ``truncate`` names files sent with a Content-Length larger than the bytes sent.
    """

    def __init__(self):
        self.files = {}
        self.truncate = set()
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(self.path)
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if name in server.truncate:
                    self.send_header("Content-Length", str(len(body) * 2))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, name, data):
        self.files[name] = data
        return hashlib.sha256(data).hexdigest()

    def count(self, name):
        return sum(1 for p in self.requests if p.rsplit("/", 1)[-1] == name)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = LocalServer()
    yield s
    s.close()


@pytest.fixture
def dead_url():
    """A URL on a local port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/data/thing.npz"


def listing(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# --------------------------------------------------------------------------- digits

def test_digits_shapes_dtypes_and_values():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8)
    assert y_train.shape == (1438,) and y_test.shape == (359,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    assert x_train.min() == 0 and x_train.max() == 16 and x_test.max() <= 16
    assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(10))


def test_digits_is_deterministic_and_seed_dependent():
    a = digits.load_data()
    b = digits.load_data()
    c = digits.load_data(seed=1)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[0][1], c[0][1])
    # Same samples overall, just split differently.
    all_a = np.sort(np.concatenate([a[0][1], a[1][1]]))
    all_c = np.sort(np.concatenate([c[0][1], c[1][1]]))
    np.testing.assert_array_equal(all_a, all_c)


def test_digits_classes_roughly_balanced():
    (_, y_train), (_, y_test) = digits.load_data()
    total = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    assert total.sum() == 1797 and total.min() >= 170 and total.max() <= 190
    test_counts = np.bincount(y_test, minlength=10)
    assert test_counts.min() >= 20 and test_counts.max() <= 55


def test_digits_test_split():
    (x_train, _), (x_test, _) = digits.load_data(test_split=0.5)
    assert len(x_train) + len(x_test) == 1797 and abs(len(x_train) - len(x_test)) <= 1
    (x_train, _), (x_test, _) = digits.load_data(test_split=0.0)
    assert len(x_train) == 1797 and len(x_test) == 0
    with pytest.raises(ValueError, match="test_split"):
        digits.load_data(test_split=1.5)


def test_package_exports_submodules():
    for name in ("digits", "mnist", "fashion_mnist", "cifar10", "imdb"):
        assert callable(getattr(datasets, name).load_data)
    assert callable(datasets.imdb.get_word_index)


# --------------------------------------------------------------------------- get_file

def test_first_call_downloads_second_uses_cache(server, isolated_env):
    digest = server.add("blob.bin", b"hello world" * 1000)
    path = get_file("blob.bin", server.url + "/d/blob.bin", file_hash=digest)
    assert path == str(isolated_env / "datasets" / "blob.bin")
    assert open(path, "rb").read() == b"hello world" * 1000
    again = get_file("blob.bin", server.url + "/d/blob.bin", file_hash=digest)
    assert again == path
    assert server.count("blob.bin") == 1
    # Without a hash an existing file is trusted too.
    get_file("blob.bin", server.url + "/d/blob.bin")
    assert server.count("blob.bin") == 1


def test_kusari_home_is_respected(server, tmp_path, monkeypatch):
    monkeypatch.setenv("KUSARI_HOME", str(tmp_path / "elsewhere"))
    server.add("a.bin", b"abc")
    path = get_file("a.bin", server.url + "/a.bin")
    assert path == str(tmp_path / "elsewhere" / "datasets" / "a.bin")
    path = get_file("a.bin", server.url + "/a.bin", cache_subdir="other")
    assert path == str(tmp_path / "elsewhere" / "other" / "a.bin")


def test_default_home_without_env(monkeypatch, tmp_path):
    monkeypatch.delenv("KUSARI_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _download.kusari_home() == os.path.join(str(tmp_path), ".kusari")


def test_wrong_hash_raises_and_leaves_no_file(server, isolated_env):
    server.add("blob.bin", b"real contents")
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        get_file("blob.bin", server.url + "/blob.bin", file_hash=wrong)
    message = str(info.value)
    assert "blob.bin" in message and wrong in message
    assert hashlib.sha256(b"real contents").hexdigest() in message
    assert listing(isolated_env / "datasets") == []


def test_cached_file_with_wrong_hash_is_downloaded_again(server, isolated_env):
    digest = server.add("blob.bin", b"good")
    os.makedirs(isolated_env / "datasets")
    (isolated_env / "datasets" / "blob.bin").write_bytes(b"stale")
    with pytest.warns(UserWarning, match="does not match"):
        path = get_file("blob.bin", server.url + "/blob.bin", file_hash=digest)
    assert open(path, "rb").read() == b"good" and server.count("blob.bin") == 1


def test_md5_hash_is_accepted(server):
    server.add("words.json", b'{"the": 1}')
    md5 = hashlib.md5(b'{"the": 1}').hexdigest()
    path = get_file("words.json", server.url + "/words.json", file_hash=md5)
    assert open(path, "rb").read() == b'{"the": 1}'


def test_unreachable_url_raises_clear_error(dead_url, isolated_env):
    with pytest.raises(DownloadError) as info:
        get_file("thing.npz", dead_url)
    assert isinstance(info.value, OSError)
    message = str(info.value)
    assert dead_url in message
    assert str(isolated_env / "datasets" / "thing.npz") in message
    assert "KUSARI_DATASETS_MIRROR" in message
    assert listing(isolated_env / "datasets") == []


def test_http_404_raises_download_error(server, isolated_env):
    with pytest.raises(DownloadError, match="404"):
        get_file("missing.bin", server.url + "/missing.bin")
    assert listing(isolated_env / "datasets") == []


def test_interrupted_download_leaves_no_partial_file(server, isolated_env):
    server.add("big.bin", os.urandom(200_000))
    server.truncate.add("big.bin")
    with pytest.raises(DownloadError, match="closed after 200000 of 400000 bytes"):
        get_file("big.bin", server.url + "/big.bin")
    assert listing(isolated_env / "datasets") == []


def test_mirror_override_is_used(server, dead_url, monkeypatch):
    digest = server.add("thing.npz", b"mirrored")
    monkeypatch.setenv("KUSARI_DATASETS_MIRROR", server.url + "/mirror/")
    path = get_file("thing.npz", dead_url, file_hash=digest)
    assert open(path, "rb").read() == b"mirrored"
    assert server.requests == ["/mirror/thing.npz"]
    assert _download.resolve_url("https://x.org/a/b/c.tar.gz") == server.url + "/mirror/c.tar.gz"


def test_extract_tar_archive(server):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("pack/hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    server.add("pack.tar.gz", buf.getvalue())
    folder = get_file("pack.tar.gz", server.url + "/pack.tar.gz", extract=True)
    assert open(os.path.join(folder, "pack", "hello.txt"), "rb").read() == b"hi"
    assert get_file("pack.tar.gz", server.url + "/pack.tar.gz", extract=True) == folder
    assert server.count("pack.tar.gz") == 1


def test_extract_refuses_paths_outside_the_folder(server, isolated_env):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    server.add("evil.tar.gz", buf.getvalue())
    with pytest.raises(ValueError, match="outside"):
        get_file("evil.tar.gz", server.url + "/evil.tar.gz", extract=True)
    assert not (isolated_env / "evil.txt").exists()
    assert not any(n.endswith("_extracted") for n in listing(isolated_env / "datasets"))


# --------------------------------------------------------------------------- loaders

def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_mnist_load_data_from_local_server(server, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
                  y_train=np.arange(6, dtype=np.uint8),
                  x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
                  y_test=np.array([7, 8], np.uint8))
    digest = server.add("mnist.npz", _npz_bytes(**arrays))
    monkeypatch.setattr(mnist, "ORIGIN_FOLDER", server.url + "/tf-keras-datasets/")
    monkeypatch.setattr(mnist, "FILE_HASH", digest)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert x_train.dtype == np.uint8 and x_test.shape == (2, 28, 28) and y_train.shape == (6,)
    mnist.load_data()
    assert server.count("mnist.npz") == 1


def test_mnist_real_hash_rejects_other_file(server, monkeypatch, isolated_env):
    server.add("mnist.npz", b"not mnist")
    monkeypatch.setenv("KUSARI_DATASETS_MIRROR", server.url)
    with pytest.raises(ChecksumError, match=mnist.FILE_HASH):
        mnist.load_data()
    assert listing(isolated_env / "datasets") == []


def _idx_gz(array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_load_data_via_mirror(server, monkeypatch, isolated_env):
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, 5, dtype=np.uint8)
    x_test = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, 3, dtype=np.uint8)
    hashes = {
        "train-images-idx3-ubyte.gz": server.add("train-images-idx3-ubyte.gz", _idx_gz(x_train)),
        "train-labels-idx1-ubyte.gz": server.add("train-labels-idx1-ubyte.gz", _idx_gz(y_train)),
        "t10k-images-idx3-ubyte.gz": server.add("t10k-images-idx3-ubyte.gz", _idx_gz(x_test)),
        "t10k-labels-idx1-ubyte.gz": server.add("t10k-labels-idx1-ubyte.gz", _idx_gz(y_test)),
    }
    monkeypatch.setattr(fashion_mnist, "FILE_HASHES", hashes)
    monkeypatch.setenv("KUSARI_DATASETS_MIRROR", server.url + "/fm")
    (a, b), (c, d) = fashion_mnist.load_data()
    for got, want in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.uint8
    assert a.shape == (5, 28, 28) and b.shape == (5,)
    assert sorted(os.listdir(isolated_env / "datasets" / "fashion-mnist")) == sorted(hashes)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x0d\x01\x00\x00\x00\x02ab"))
    with pytest.raises(ValueError, match="magic"):
        fashion_mnist.read_idx(str(bad))
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"abc"))
    with pytest.raises(ValueError, match="header says shape"):
        fashion_mnist.read_idx(str(short))


def _cifar_archive(batches):
    """A cifar-10-binary.tar.gz holding ``batches``: name -> (images (n,3,32,32), labels (n,))."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (x, y) in batches.items():
            records = np.concatenate([y.reshape(-1, 1), x.reshape(len(x), -1)], axis=1).astype(np.uint8)
            data = records.tobytes()
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cifar10_load_data_parses_binary_records(server, monkeypatch):
    rng = np.random.default_rng(2)
    batches = {name: (rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8),
                      rng.integers(0, 10, 2, dtype=np.uint8))
               for name in cifar10.TRAIN_BATCHES + cifar10.TEST_BATCHES}
    digest = server.add("cifar-10-binary.tar.gz", _cifar_archive(batches))
    monkeypatch.setattr(cifar10, "FILE_HASH", digest)
    monkeypatch.setenv("KUSARI_DATASETS_MIRROR", server.url)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (2, 1)
    assert x_train.dtype == y_train.dtype == np.uint8
    first_x, first_y = batches["data_batch_1.bin"]
    # channels-last: pixel (row 3, col 5) of channel c is x[..., 3, 5, c]
    np.testing.assert_array_equal(x_train[0, 3, 5, :], first_x[0, :, 3, 5])
    np.testing.assert_array_equal(x_train[2:4].transpose(0, 3, 1, 2), batches["data_batch_2.bin"][0])
    np.testing.assert_array_equal(y_train[:2, 0], first_y)
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch.bin"][1])


def test_cifar10_parse_records_rejects_partial_record():
    with pytest.raises(ValueError, match="whole number"):
        cifar10.parse_records(bytes(3073 + 5), "data_batch_1.bin")


def _object_array(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def _imdb_npz():
    rng = np.random.default_rng(3)
    x_train = _object_array([rng.integers(1, 60, rng.integers(3, 20)).tolist() for _ in range(12)])
    x_test = _object_array([rng.integers(1, 60, rng.integers(3, 20)).tolist() for _ in range(8)])
    y_train = rng.integers(0, 2, 12)
    y_test = rng.integers(0, 2, 8)
    buf = io.BytesIO()
    np.savez(buf, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return buf.getvalue(), (x_train, y_train, x_test, y_test)


def test_imdb_load_data_matches_keras_semantics(server, monkeypatch):
    data, (x_train, y_train, x_test, y_test) = _imdb_npz()
    monkeypatch.setattr(imdb, "FILE_HASH", server.add("imdb.npz", data))
    monkeypatch.setenv("KUSARI_DATASETS_MIRROR", server.url)

    (a, b), (c, d) = imdb.load_data()
    assert a.dtype == object and a.shape == (12,) and c.shape == (8,)
    rng = np.random.RandomState(113)
    order_train, order_test = rng.permutation(12), rng.permutation(8)
    np.testing.assert_array_equal(b, y_train[order_train])
    np.testing.assert_array_equal(d, y_test[order_test])
    top = max(max(s) for s in list(x_train) + list(x_test)) + 3
    expected = [[1] + [w + 3 if w + 3 < top else 2 for w in x_train[i]] for i in order_train]
    assert list(a) == expected
    assert all(isinstance(w, int) for w in a[0])

    (a, _), (c, _) = imdb.load_data(num_words=20, skip_top=5, oov_char=2)
    assert all(w == 2 or 5 <= w < 20 for s in list(a) + list(c) for w in s[1:])
    (a, _), _ = imdb.load_data(num_words=20, oov_char=None, start_char=None, index_from=0)
    assert all(1 <= w < 20 for s in a for w in s)
    (a, b), (c, d) = imdb.load_data(maxlen=12)
    assert all(len(s) < 12 for s in list(a) + list(c)) and len(a) == len(b)
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(maxlen=1)
    assert server.count("imdb.npz") == 1


def test_imdb_get_word_index(server, monkeypatch):
    body = b'{"the": 1, "and": 2}'
    server.add("imdb_word_index.json", body)
    monkeypatch.setattr(imdb, "WORD_INDEX_HASH", hashlib.md5(body).hexdigest())
    monkeypatch.setattr(imdb, "ORIGIN_FOLDER", server.url + "/")
    assert imdb.get_word_index() == {"the": 1, "and": 2}


# --------------------------------------------------------------------------- safe object-array reader

@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_object_reader_round_trips_all_protocols(protocol):
    arr = _object_array([[1, 300, 70000, -5, 2 ** 40], [], [7]])
    back = _object_npy.load_pickled_array(pickle.dumps(arr, protocol=protocol))
    assert back.dtype == object and back.tolist() == arr.tolist()
    if protocol == 5:
        return  # numpy pickles plain arrays with out-of-band buffers there; np.save never does
    plain = np.arange(6, dtype=">i4").reshape(2, 3)
    np.testing.assert_array_equal(_object_npy.load_pickled_array(pickle.dumps(plain, protocol=protocol)), plain)


def test_object_reader_reads_npy_files():
    buf = io.BytesIO()
    np.save(buf, _object_array([[1, 2], [3]]))
    buf.seek(0)
    assert _object_npy.read_npy(buf).tolist() == [[1, 2], [3]]
    buf = io.BytesIO()
    np.save(buf, np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    buf.seek(0)
    np.testing.assert_array_equal(_object_npy.read_npy(buf), np.arange(6.0).reshape(2, 3))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_object_reader_refuses_other_globals(server, monkeypatch, isolated_env):
    with pytest.raises(ValueError, match="refusing to load pickle global"):
        _object_npy.load_pickled_array(pickle.dumps(_object_array([_Evil()]), protocol=3))
    # The same through imdb.load_data with a planted npz whose hash "matches".
    buf = io.BytesIO()
    np.savez(buf, x_train=_object_array([_Evil()]), y_train=np.zeros(1, int),
             x_test=_object_array([[1]]), y_test=np.zeros(1, int))
    monkeypatch.setattr(imdb, "FILE_HASH", server.add("imdb.npz", buf.getvalue()))
    monkeypatch.setenv("KUSARI_DATASETS_MIRROR", server.url)
    with pytest.raises(ValueError, match="posix.system|os.system|refusing"):
        imdb.load_data()


def test_object_reader_rejects_truncated_data():
    data = pickle.dumps(_object_array([[1, 2, 3]]), protocol=3)
    with pytest.raises(ValueError):
        _object_npy.load_pickled_array(data[: len(data) // 2])
