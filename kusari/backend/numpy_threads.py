"""The NumPy backend's own threads: heavy kernels split their work over a small pool, along the batch.

NumPy runs its ufuncs on one core, and OpenBLAS's worker threads spin for ~0.1 s after every product, taking the
other cores from anything else that would run there (a 2-way split of an elementwise pass right after a
multi-threaded GEMM measured no faster than one thread). So once this pool has more than one thread, OpenBLAS is
set to one thread and the backend splits the products too (rows of the output), along with the convolution,
pooling, LSTM and optimizer kernels. NumPy releases the GIL inside ufunc loops and BLAS calls, so the parts run
truly in parallel.

The thread count defaults to ``KUSARI_NUM_THREADS``, else ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` /
``MKL_NUM_THREADS``, else the cores this process may run on; ``kusari.config.set_num_threads(n)`` changes it.
Dispatching a part costs ~50 us, so work is only split when each part gets at least ``MIN_PART_NS`` of estimated
work. Threads claim parts as they come, so a worker that wakes late (a loaded machine) costs no waiting: the caller
runs the parts nobody claimed. A call made while the pool is busy (from a worker, or from a second Python thread)
runs serially, and results never depend on which thread ran a part.

>>> from kusari.backend import numpy_threads
>>> numpy_threads.split(10, 3)
[slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
"""
import itertools
import os
import queue
import threading

import numpy as np

# Estimated cost of one part below which work is not split (the dispatch round trip is ~50 us).
MIN_PART_NS = 150_000
# Rough single-core costs used to estimate work: a float32 GEMM flop, one elementwise pass over one element.
NS_PER_FLOP = 0.014
NS_PER_ELEMENT = 0.4

_count = None           # threads in use (None: not chosen yet)
_pool = 1               # threads this pool splits work over (1 in "blas" mode)
_owns_blas = False      # True when OpenBLAS was set to one thread here, so products are split by this pool
_workers = 0            # worker threads started (they wait on _queue for jobs)
_queue = queue.SimpleQueue()
_busy = threading.Lock()


def _default_count():
    for var in ("KUSARI_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def mode():
    """``"pool"`` (the default: this pool splits the work, OpenBLAS runs single-threaded) or ``"blas"``
    (``KUSARI_NUMPY_THREADING=blas``: OpenBLAS threads the products itself and nothing else is split, as NumPy
    alone would; 0–8% faster for small GEMM-bound models such as a 784-512-512-10 MLP in different measurements,
    slower for the rest: docs/performance.md, "Threads")."""
    value = os.environ.get("KUSARI_NUMPY_THREADING", "pool").strip().lower() or "pool"
    if value not in ("pool", "blas"):
        raise ValueError(f"KUSARI_NUMPY_THREADING must be 'pool' or 'blas', got {value!r}")
    return value


def count():
    """Threads the NumPy backend computes with."""
    if _count is None:
        set_count(_default_count())
    return _count


def set_count(n):
    """Use ``n`` threads (``n >= 1``): in "pool" mode this pool's size, OpenBLAS then running single-threaded
    inside each part; in "blas" mode OpenBLAS's own thread count."""
    global _count, _pool, _owns_blas
    n = int(n)
    if n < 1:
        raise ValueError(f"the thread count must be at least 1, got {n}")
    from kusari.backend import blas_threads
    pool = n if mode() == "pool" else 1
    _owns_blas = blas_threads.available()
    if _owns_blas:
        blas_threads.set_num_threads(1 if pool > 1 else n)
    with _busy:
        while _workers < pool - 1:
            _start_worker()
        _count, _pool = n, pool


def pool_size():
    """Threads work is split over (1 in "blas" mode)."""
    count()
    return _pool


def splits_products():
    """True when this pool, not the BLAS, spreads matrix products over the threads."""
    return pool_size() > 1 and _owns_blas


class _Job:
    """One dispatch: ``fn(i)`` for ``i in range(parts)``; any thread that calls ``work`` claims parts until none is
    left, so parts a late worker never got to are run by the threads already there (the caller included)."""

    __slots__ = ("fn", "parts", "claim", "left", "lock", "done", "error")

    def __init__(self, fn, parts):
        self.fn, self.parts, self.claim, self.left = fn, parts, itertools.count(), parts
        self.lock, self.done, self.error = threading.Lock(), threading.Lock(), None
        self.done.acquire()                 # released by whoever finishes the last part

    def work(self):
        while True:
            i = next(self.claim)            # atomic under the GIL
            if i >= self.parts:
                return
            try:
                self.fn(i)
            except BaseException as e:      # handed to the caller, which re-raises it
                if self.error is None:
                    self.error = e
            finally:
                with self.lock:
                    self.left -= 1
                    last = self.left == 0
                if last:
                    self.done.release()


def _start_worker():
    global _workers
    _workers += 1
    threading.Thread(target=_work, name=f"kusari-numpy-{_workers}", daemon=True).start()


def _work():
    while True:
        job = _queue.get()
        job.work()
        del job                             # do not keep the arrays its function holds alive while idle


def _after_fork():
    """A forked child has no worker threads: start again from nothing."""
    global _count, _pool, _busy, _workers, _queue
    _workers, _queue, _busy = 0, queue.SimpleQueue(), threading.Lock()
    _count, _pool = None, 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def parts_for(work_ns, limit):
    """How many parts to split ``work_ns`` of estimated work into: at most ``limit`` (the items there are) and the
    thread count, each part at least ``MIN_PART_NS``."""
    n = pool_size()
    if n == 1 or limit < 2:
        return 1
    by_work = int(work_ns // MIN_PART_NS) if MIN_PART_NS > 0 else n      # MIN_PART_NS = 0: always split (tests)
    return max(1, min(n, limit, by_work))


def run(fn, parts):
    """Call ``fn(i)`` for ``i in range(parts)``, spread over the pool's threads (the caller's included; any part may
    run on any thread). Runs them one after another when ``parts == 1`` or the pool is busy. Re-raises the first
    error once every part has finished."""
    if parts == 1 or not _busy.acquire(blocking=False):
        for i in range(parts):
            fn(i)
        return
    try:
        helpers = min(parts, _pool) - 1
        while _workers < helpers:
            _start_worker()
        job = _Job(fn, parts)
        for _ in range(helpers):
            _queue.put(job)
        job.work()
        job.done.acquire()                  # parts still running on workers
        if job.error is not None:
            raise job.error
    finally:
        _busy.release()


def add_up(partials):
    """The sum of per-thread partial results (fresh arrays this module's callers own: the first one is added into),
    in part order, so the result does not depend on which thread finished first."""
    total = partials[0]
    for p in partials[1:]:
        total += p
    return total


def split(n, parts):
    """``parts`` contiguous slices covering ``range(n)``, sizes differing by at most one."""
    q, r = divmod(n, parts)
    out, lo = [], 0
    for i in range(parts):
        hi = lo + q + (i < r)
        out.append(slice(lo, hi))
        lo = hi
    return out


def for_slices(fn, n, work_ns):
    """Call ``fn(sl)`` on slices covering ``range(n)``: one slice, or one per part when ``work_ns`` is worth
    splitting."""
    parts = parts_for(work_ns, n)
    if parts == 1:
        fn(slice(0, n))
        return
    slices = split(n, parts)
    run(lambda i: fn(slices[i]), parts)


def _product_plan(a, b):
    """How to split ``a @ b`` (2-D): ``("rows", slices)`` of the result's rows, ``("inner", slices)`` of the inner
    axis (partial products summed), or None to leave it whole."""
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    work = 2.0 * m * k * n * NS_PER_FLOP
    if k >= 4 * max(m, n) and k >= 64 * _pool:
        # a long inner axis (a weight gradient over a big batch): split it and sum the partial products, so each
        # thread reads its share of both operands (split by rows, each would read all of b: a 289 x 15488 @
        # 15488 x 64 product took 6.3 ms on two threads that way, against 9.3 ms on one)
        parts = parts_for(work, k // 64)
        return ("inner", split(k, parts)) if parts > 1 else None
    parts = parts_for(work, m)
    return ("rows", split(m, parts)) if parts > 1 else None


def matmul_many(pairs):
    """``[a @ b for a, b in pairs]`` (2-D operands), the big products spread over the threads, all in one dispatch
    (a layer's input and kernel gradients, say): each thread computes its share of every product."""
    if not splits_products():
        return [np.matmul(a, b) for a, b in pairs]
    plans = [_product_plan(a, b) for a, b in pairs]
    parts = max((len(p[1]) for p in plans if p is not None), default=1)
    outs = [None] * len(pairs)
    partial = [[None] * parts for _ in pairs]
    for j, ((a, b), plan) in enumerate(zip(pairs, plans)):
        if plan is not None and plan[0] == "rows":
            outs[j] = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))

    def part(i):
        for j, ((a, b), plan) in enumerate(zip(pairs, plans)):
            if plan is None:
                if i == 0:
                    outs[j] = np.matmul(a, b)
            elif i < len(plan[1]):
                sl = plan[1][i]
                if plan[0] == "rows":
                    np.matmul(a[sl], b, out=outs[j][sl])
                else:
                    partial[j][i] = np.matmul(a[:, sl], b[sl])
    run(part, parts)
    for j, plan in enumerate(plans):
        if plan is not None and plan[0] == "inner":
            outs[j] = add_up(partial[j][:len(plan[1])])
    return outs


def matmul(a, b):
    """``a @ b`` for 2-D operands, spread over the threads when the product is big enough (and this pool owns the
    threading: see ``splits_products``)."""
    return matmul_many([(a, b)])[0]
