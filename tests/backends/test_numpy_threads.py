"""The NumPy backend's thread pool (kusari/backend/numpy_threads.py): the pool itself, and every kernel that
splits its work over it, forced to split however small (MIN_PART_NS = 0) and checked against one thread."""
import os
import sys
import threading
import time

import numpy as np
import pytest

import kusari
from kusari.backend import blas_threads, numpy_conv, numpy_relu, numpy_threads


@pytest.fixture(autouse=True)
def numpy_backend():
    kusari.set_backend("numpy")
    n = numpy_threads.count()
    yield kusari.backend()
    numpy_threads.set_count(n)


@pytest.fixture
def forced(monkeypatch):
    """Run ``fn`` on one thread, then split over three threads however small; return both results."""
    monkeypatch.setattr(numpy_threads, "MIN_PART_NS", 0)

    def both(fn):
        numpy_threads.set_count(1)
        serial = fn()
        numpy_threads.set_count(3)
        return serial, fn()
    return both


def assert_same(a, b, exact=True):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y, exact)
        return
    if a is None:
        assert b is None
        return
    if exact:
        np.testing.assert_array_equal(a, b)
    else:       # sums split over threads add in another order
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# -- the pool ----------------------------------------------------------------------------------------------------

def test_split_covers_the_range_evenly():
    assert numpy_threads.split(10, 3) == [slice(0, 4), slice(4, 7), slice(7, 10)]
    assert numpy_threads.split(2, 2) == [slice(0, 1), slice(1, 2)]
    sizes = [s.stop - s.start for s in numpy_threads.split(1001, 7)]
    assert sum(sizes) == 1001 and max(sizes) - min(sizes) <= 1


def test_run_calls_every_part_on_distinct_threads():
    numpy_threads.set_count(4)
    seen = {}
    barrier = threading.Barrier(4, timeout=10)

    def part(i):
        seen[i] = threading.get_ident()
        barrier.wait()          # all four parts run at once, or this times out
    numpy_threads.run(part, 4)
    assert sorted(seen) == [0, 1, 2, 3] and len(set(seen.values())) == 4
    assert threading.get_ident() in seen.values()           # the caller works too


def test_parts_a_stuck_worker_never_claimed_run_on_the_caller():
    numpy_threads.set_count(2)
    release = threading.Event()
    ran, caller = {}, []

    def part(i):
        ran[i] = threading.get_ident()
        if threading.get_ident() != caller[0]:
            release.wait(10)            # the worker is stuck in the first part it took

    def call():
        caller.append(threading.get_ident())
        numpy_threads.run(part, 6)

    t = threading.Thread(target=call)
    t.start()
    for _ in range(1000):
        if len(ran) == 6 or sum(v == caller[0] for v in list(ran.values())) == 5:
            break
        time.sleep(0.01)
    on_caller = sum(v == caller[0] for v in list(ran.values()))
    release.set()
    t.join(10)
    assert on_caller >= 5 and sorted(ran) == list(range(6))     # the caller never waited to start a part


@pytest.mark.parametrize("failing", [0, 2])
def test_run_reraises_a_part_error_after_all_parts_finish(failing):
    numpy_threads.set_count(3)
    done = []

    def part(i):
        if i == failing:
            raise ValueError(f"part {i} failed")
        done.append(i)
    with pytest.raises(ValueError, match=f"part {failing} failed"):
        numpy_threads.run(part, 3)
    assert sorted(done) == sorted({0, 1, 2} - {failing})
    numpy_threads.run(lambda i: done.append(10 + i), 3)      # the pool still works afterwards
    assert sorted(done)[-3:] == [10, 11, 12]


def test_nested_and_concurrent_runs_fall_back_to_serial():
    numpy_threads.set_count(2)
    out = []

    def inner(i):
        out.append(("inner", i))

    def outer(i):
        numpy_threads.run(inner, 2)         # the pool is busy: runs here, part after part
    numpy_threads.run(outer, 2)
    assert sorted(out) == [("inner", 0), ("inner", 0), ("inner", 1), ("inner", 1)]

    a, b = rand(300, 200), rand(200, 100)
    results, errors = [], []

    def user_thread():
        try:
            for _ in range(20):
                results.append(np.abs(numpy_threads.matmul(a, b) - a @ b).max())
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=user_thread) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 60 and max(results) < 1e-3


def test_thread_count_is_the_backends_and_owns_blas():
    kusari.config.set_num_threads(3)
    assert kusari.config.get_num_threads() == 3 == numpy_threads.count()
    if blas_threads.available():
        assert blas_threads.get_num_threads() == 1       # the pool splits products; BLAS runs inside each part
        assert numpy_threads.splits_products()
    kusari.config.set_num_threads(1)
    assert numpy_threads.count() == 1 and not numpy_threads.splits_products()
    with pytest.raises(ValueError, match="at least 1"):
        numpy_threads.set_count(0)


def test_default_count_follows_the_environment(monkeypatch):
    for var in ("KUSARI_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert numpy_threads._default_count() == 3
    monkeypatch.setenv("KUSARI_NUM_THREADS", "5")
    assert numpy_threads._default_count() == 5
    monkeypatch.delenv("KUSARI_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert numpy_threads._default_count() >= 1


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork")
def test_a_forked_child_gets_a_working_pool(monkeypatch):
    monkeypatch.setattr(numpy_threads, "MIN_PART_NS", 0)
    numpy_threads.set_count(2)
    a, b = rand(64, 32), rand(32, 16)
    numpy_threads.matmul(a, b)          # the parent's workers exist
    pid = os.fork()
    if pid == 0:                        # child: the parent's worker threads are gone; the pool starts afresh
        code = 1
        try:
            ok = np.allclose(numpy_threads.matmul(a, b), a @ b, atol=1e-4) and numpy_threads.count() >= 1
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# -- the kernels that split --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [((50, 30), (30, 20)), ((8, 700), (700, 6)), ((3, 5), (5, 4))])
def test_matmul(forced, shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1])
    serial, split = forced(lambda: numpy_threads.matmul(a, b))
    assert_same(serial, split, exact=False)
    np.testing.assert_allclose(split, a @ b, rtol=1e-5, atol=1e-4)
    at = rand(*shapes[0][::-1]).T                      # a transposed view, as weight gradients pass
    np.testing.assert_allclose(forced(lambda: numpy_threads.matmul(at, b))[1], at @ b, rtol=1e-5, atol=1e-4)


def test_matmul_many_and_stacked(forced, numpy_backend):
    g, w, x = rand(40, 16), rand(24, 16), rand(40, 24)
    serial, split = forced(lambda: numpy_threads.matmul_many([(g, w.T), (x.T, g)]))
    assert_same(serial, split, exact=False)
    np.testing.assert_allclose(split[0], g @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(split[1], x.T @ g, rtol=1e-5, atol=1e-5)
    s3, w2, s3b = rand(6, 5, 4), rand(4, 3), rand(6, 4, 3)
    for b in (w2, s3b):
        serial, split = forced(lambda: numpy_backend.matmul(s3, b))
        assert_same(serial, split)
        np.testing.assert_allclose(split, s3 @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sub, sa, sb", [
    ("abc,cde->abde", (8, 5, 6), (6, 3, 4)), ("abde,cde->abc", (8, 5, 3, 4), (6, 3, 4)),
    ("abc,abde->cde", (8, 5, 6), (8, 5, 3, 4)), ("aecd,abcd->acbe", (4, 5, 3, 2), (4, 6, 3, 2)),
    ("acbe,aecd->abcd", (4, 3, 6, 5), (4, 5, 3, 2)), ("abc,adc->bd", (6, 3, 4), (6, 5, 4)),
    ("ij,kj->ik", (9, 4), (3, 4)), ("ab,ab->", (3, 4), (3, 4)), ("ab,cb->", (3, 4), (5, 4)),
])
def test_einsum(forced, numpy_backend, sub, sa, sb):
    a, b = rand(*sa), rand(*sb)
    serial, split = forced(lambda: numpy_backend.einsum(sub, a, b))
    assert np.shape(split) == np.shape(np.einsum(sub, a, b))
    assert_same(serial, split, exact=False)
    np.testing.assert_allclose(split, np.einsum(sub, a, b), rtol=1e-5, atol=1e-5)


CONVS = [  # x shape, kernel shape, strides, padding
    ((5, 9, 9, 1), (3, 3, 1, 4), 1, "valid"),           # thin input: tap-major window matrix
    ((5, 8, 7, 6), (3, 3, 6, 5), 1, "same"),
    ((4, 9, 9, 3), (3, 3, 3, 7), 2, "same"),
    ((3, 11, 5), (3, 5, 4), 1, "valid"),                # Conv1D
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", range(len(CONVS)))
def test_conv_forward_and_filter_gradient(forced, case, bias):
    xs, ws, strides, padding = CONVS[case]
    x, w, b = rand(*xs), rand(*ws), (rand(ws[-1]) if bias else None)

    def run():
        y, kept = numpy_conv.conv_bias_forward(x, w, b, strides, padding)
        gy = np.cos(y)
        gw, gb = numpy_conv.conv_bias_backward_filter(kept, x, gy, w.shape, bias, strides, padding)
        return y, gw, gb
    serial, split = forced(run)
    assert_same(serial, split, exact=False)
    ref = numpy_conv.conv_forward(x, w, strides, padding) + (0 if b is None else b)
    np.testing.assert_allclose(split[0], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("strides", [1, 2])
def test_conv_input_gradient(forced, strides, groups):
    x, w = rand(6, 9, 8, 4), rand(3, 3, 4 // groups, 6)
    gy = rand(*numpy_conv.conv_forward(x, w, strides, "same", 1, groups).shape)
    serial, split = forced(lambda: numpy_conv.conv_backward_input(gy, w, x.shape, strides, "same", 1, groups))
    assert_same(serial, split)


@pytest.mark.parametrize("xs, pool, strides", [
    ((6, 8, 8, 3), 2, None),            # tiles exactly
    ((6, 11, 11, 3), 2, None),          # disjoint windows, a remainder row and column no window reads
    ((5, 7, 9, 2), (2, 3), None),
    ((6, 7, 7, 3), 3, 2),               # overlapping windows
])
def test_max_pool(forced, xs, pool, strides):
    x = rand(*xs)

    def run():
        y, arg = numpy_conv.max_pool_forward(x, pool, strides)
        gx = numpy_conv.max_pool_backward(np.sin(y), arg, x.shape, pool, strides)
        return y, arg, gx
    serial, split = forced(run)
    assert_same(serial, split)


@pytest.mark.parametrize("shape", [(7, 5, 3), (7, 5, 1 + numpy_relu.CHUNK // 35)])     # small, and past a chunk
def test_relu_kernels(forced, numpy_backend, shape):
    x = rand(*shape)
    serial, split = forced(lambda: numpy_backend.relu_(x.copy()))
    assert_same(serial, split)
    np.testing.assert_array_equal(split, np.maximum(x, 0))
    serial, fresh = forced(lambda: numpy_backend.relu(x))
    assert_same(serial, fresh)
    assert_same(fresh, split)
    g = rand(*shape)
    serial, split = forced(lambda: numpy_backend.relu_grad(g, split))
    assert_same(serial, split)
    np.testing.assert_array_equal(split, g * (x > 0))


@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_sequence(forced, numpy_backend, go_backwards):
    bsz, n, nf, u = 5, 4, 3, 6
    x, h0, c0 = rand(bsz, n, nf), rand(bsz, u), rand(bsz, u)
    k, r, b = rand(nf, 4 * u) * 0.5, rand(u, 4 * u) * 0.5, rand(4 * u)
    ghs, gh, gc = rand(bsz, n, u), rand(bsz, u), rand(bsz, u)

    def run():
        hs, h, c, saved = numpy_backend.lstm_sequence_forward(x, h0, c0, k, r, b, go_backwards)
        grads = numpy_backend.lstm_sequence_backward(saved, x, h0, c0, k, r, b, ghs, gh, gc, (True,) * 6,
                                                     go_backwards)
        return (hs, h, c) + tuple(grads)
    serial, split = forced(run)
    assert_same(serial, split, exact=False)     # BLAS may round a product over fewer columns differently


def test_optimizer_kernels_split_a_big_variable(forced, numpy_backend):
    p, g, m, v = rand(1000), rand(1000), rand(1000), np.abs(rand(1000))

    def run():
        state = [a.copy() for a in (p, m, v)]
        out = numpy_backend.adam_update(state[0], g, state[1], state[2], None, 0.01, 0.9, 0.999, 1e-7)
        assert out[0] is state[0] and out[1] is state[1] and out[2] is state[2]     # whole arrays, in place
        return state
    serial, split = forced(run)
    assert_same(serial, split)


def test_training_a_small_cnn_matches_one_thread(forced):
    from kusari import layers as L
    from kusari import models

    x = rand(16, 10, 10, 1)
    y = RNG.integers(0, 3, 16)

    def train():
        kusari.utils.set_random_seed(3)
        model = models.Sequential([L.Input((10, 10, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                                   L.Conv2D(5, 3, activation="relu"), L.Flatten(), L.Dense(3)])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        for _ in range(3):
            model.train_on_batch(x, y)
        return model.get_weights()
    serial, split = forced(train)
    assert_same(serial, split, exact=False)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_forward(forced, numpy_backend, bias, relu):
    x, k, b = rand(9, 6), rand(6, 5), (rand(5) if bias else None)
    serial, split = forced(lambda: numpy_backend.linear(x, k, b, relu))
    assert_same(serial, split, exact=False)
    want = x @ k + (0 if b is None else b)
    np.testing.assert_allclose(split, np.maximum(want, 0) if relu else want, rtol=1e-5, atol=1e-5)


def test_conv_forward_with_relu(forced):
    x, w, b = rand(5, 8, 8, 3), rand(3, 3, 3, 4), rand(4)
    serial, split = forced(lambda: numpy_conv.conv_bias_forward(x, w, b, 1, "valid", 1, True)[0])
    assert_same(serial, split, exact=False)
    np.testing.assert_allclose(split, np.maximum(numpy_conv.conv_forward(x, w) + b, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 12])
def test_conv_forward_in_chunks(forced, monkeypatch, chunk_bytes):
    """Each thread's batch items go through the window copy, GEMM and relu a few at a time (one at a time at 1
    byte): the same result as in one piece."""
    x, w, b = rand(7, 8, 8, 3), rand(3, 3, 3, 4), rand(4)
    whole = numpy_conv.conv_bias_forward(x, w, b, 1, "valid", 1, True)[0]
    monkeypatch.setattr(numpy_conv, "FORWARD_CHUNK_BYTES", chunk_bytes)
    serial, split = forced(lambda: numpy_conv.conv_bias_forward(x, w, b, 1, "valid", 1, True)[0])
    assert_same(serial, whole, exact=False)
    assert_same(split, whole, exact=False)


@pytest.mark.parametrize("bias_grad", [False, True])
def test_thin_filter_gradient_in_pieces(forced, monkeypatch, bias_grad):
    """A thin input's kernel gradient sums (K + 1, rows) @ (rows, C_out) piece by piece over the rows: the pieces
    (here 7 rows each, a remainder included) and the threads' runs of them add up to the whole product."""
    monkeypatch.setattr(numpy_conv, "THIN_GRAD_ROWS", 7)
    x, w, b = rand(5, 9, 8, 2), rand(3, 3, 2, 4), rand(4)
    y, kept = numpy_conv.conv_bias_forward(x, w, b)
    assert kept.T.flags.c_contiguous                       # the thin, tap-major layout
    gy = rand(*y.shape)
    serial, split = forced(lambda: numpy_conv.conv_bias_backward_filter(kept, x, gy, w.shape, bias_grad))
    assert_same(serial, split, exact=False)
    gw, gb = split
    np.testing.assert_allclose(gw, numpy_conv.conv_backward_filter(x, gy, w.shape), rtol=1e-5, atol=1e-5)
    if bias_grad:
        np.testing.assert_allclose(gb, gy.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
    else:
        assert gb is None


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_kernels(forced, numpy_backend, affine):
    x, gy = rand(9, 7) * 2 + 1, rand(9, 7)
    gamma, beta = (rand(7), rand(7)) if affine else (None, None)

    def run():
        y, x_hat, inv_std = numpy_backend.layer_norm_forward(x, gamma, beta, 1e-3)
        return (y,) + numpy_backend.layer_norm_backward(gy, x_hat, inv_std, gamma, True, affine, affine)
    serial, split = forced(run)
    assert_same(serial, split, exact=False)
    from kusari.backend.base import Backend
    want = Backend.layer_norm_forward(numpy_backend, x, gamma, beta, 1e-3)
    np.testing.assert_allclose(split[0], want[0], rtol=1e-5, atol=1e-5)
    want_grads = Backend.layer_norm_backward(numpy_backend, gy, want[1], want[2], gamma, True, affine, affine)
    assert_same(list(split[1:]), list(want_grads), exact=False)


@pytest.mark.parametrize("sub, sa, sb", [
    ("aecd,abcd->acbe", (6, 20, 3, 16), (6, 24, 3, 16)), ("acbe,aecd->abcd", (6, 3, 24, 20), (6, 20, 3, 16)),
    ("abcd,acbe->aecd", (6, 24, 3, 16), (6, 3, 24, 20)), ("abc,acd->abd", (8, 30, 20), (8, 20, 25)),
    ("abcd,abde->abce", (2, 3, 20, 30), (2, 3, 30, 40)),
])
def test_einsum_as_stacked_products(forced, numpy_backend, sub, sa, sb):
    # attention's einsums run as one stacked matmul of transposed views (split over the leading index)
    a, b = rand(*sa), rand(*sb)
    serial, split = forced(lambda: numpy_backend.einsum(sub, a, b))
    assert_same(serial, split, exact=False)
    np.testing.assert_allclose(split, np.einsum(sub, a, b), rtol=1e-5, atol=1e-4)


def test_blas_mode_leaves_threading_to_openblas(monkeypatch):
    monkeypatch.setenv("KUSARI_NUMPY_THREADING", "blas")
    numpy_threads.set_count(2)
    assert numpy_threads.count() == 2 and numpy_threads.pool_size() == 1
    assert not numpy_threads.splits_products() and numpy_threads.parts_for(1e12, 100) == 1
    if blas_threads.available():
        assert blas_threads.get_num_threads() == 2
    a, b = rand(40, 30), rand(30, 20)
    np.testing.assert_allclose(numpy_threads.matmul(a, b), a @ b, rtol=1e-6)
    monkeypatch.setenv("KUSARI_NUMPY_THREADING", "pool")
    numpy_threads.set_count(2)
    assert numpy_threads.pool_size() == 2
    monkeypatch.setenv("KUSARI_NUMPY_THREADING", "fast")
    with pytest.raises(ValueError, match="KUSARI_NUMPY_THREADING"):
        numpy_threads.set_count(2)
