"""Multi-tensor optimizer kernels (``Backend.adam_update_many`` / ``sgd_update_many``): the torch backend's
``_foreach_*`` kernels give the numbers of its per-tensor kernels and of the NumPy backend, and the protocol's
default (a loop over the per-tensor kernel) gives the per-tensor numbers."""
import numpy as np
import pytest

import kusari
from kusari.backend.base import Backend
from kusari.optimizers import SGD, Adam, AdamW

RNG = np.random.default_rng(7)
SHAPES = [(6, 5), (5,), (2, 3, 4), (1,)]
P0 = [RNG.standard_normal(s).astype(np.float32) for s in SHAPES]
STEPS = 20
GRADS = [[RNG.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(STEPS)]

OPTIMIZERS = {
    "adam": lambda: Adam(learning_rate=0.01),
    "adam-amsgrad": lambda: Adam(learning_rate=0.01, amsgrad=True),
    "adamw": lambda: AdamW(learning_rate=0.01, weight_decay=0.05),
    "adamw-amsgrad": lambda: AdamW(learning_rate=0.01, weight_decay=0.05, amsgrad=True),
    "sgd": lambda: SGD(learning_rate=0.05),
    "sgd-momentum": lambda: SGD(learning_rate=0.05, momentum=0.9),
    "sgd-nesterov": lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
}


def _train(backend, make_opt, many=True):
    """Parameters after STEPS updates, the optimizer's slots, and the gradients as they were after the steps."""
    kusari.set_backend(backend)
    params = [kusari.Parameter(p.copy(), name=f"p{i}") for i, p in enumerate(P0)]
    opt = make_opt()
    if not many:
        opt._array_update_many = lambda grads, variables, lr: False      # the per-tensor kernels only
    grads_seen = []
    for gs in GRADS:
        grads = [kusari.tensor(g) for g in gs]
        opt.apply(grads, params)
        grads_seen.append([g.numpy().copy() for g in grads])
    slots = [v.numpy().copy() for v in opt.variables]
    return [p.numpy().copy() for p in params], slots, grads_seen


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_torch_multi_tensor_matches_per_tensor_and_numpy(name):
    pytest.importorskip("torch")
    make = OPTIMIZERS[name]
    many, many_slots, grads_seen = _train("torch:cpu", make)
    single, single_slots, _ = _train("torch:cpu", make, many=False)
    ref, ref_slots, _ = _train("numpy", make)
    for a, b, r in zip(many, single, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)
    for a, b, r in zip(many_slots, single_slots, ref_slots):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)
    for seen, given in zip(grads_seen, GRADS):      # kernels never write into the gradients
        for s, g in zip(seen, given):
            np.testing.assert_array_equal(s, g)


@pytest.mark.parametrize("name", ["adam", "sgd-momentum"])
def test_torch_optimizer_step_is_one_multi_tensor_call(name, monkeypatch):
    pytest.importorskip("torch")
    kusari.set_backend("torch:cpu")
    b = kusari.backend()
    kernel = "adam_update_many" if name.startswith("adam") else "sgd_update_many"
    single = kernel[:-len("_many")]
    calls = {kernel: 0, single: 0}

    def counting(k):
        original = getattr(type(b), k)

        def wrapper(self, *args):
            calls[k] += 1
            return original(self, *args)
        return wrapper

    for k in calls:
        monkeypatch.setattr(type(b), k, counting(k))
    params = [kusari.Parameter(p.copy()) for p in P0]
    OPTIMIZERS[name]().apply([kusari.tensor(g) for g in GRADS[0]], params)
    assert calls == {kernel: 1, single: 0}


def test_numpy_backend_has_multi_tensor_kernels():
    # one dispatch to the NumPy backend's threads per optimizer step (kusari/backend/numpy_threads.py)
    kusari.set_backend("numpy")
    b = kusari.backend()
    assert type(b).adam_update_many is not Backend.adam_update_many
    assert type(b).sgd_update_many is not Backend.sgd_update_many


@pytest.fixture(params=["default", "split"])
def numpy_split(request, monkeypatch):
    """The NumPy backend as it runs, and with every kernel split over two threads however small."""
    from kusari.backend import numpy_threads
    if request.param == "split":
        n = numpy_threads.count()
        numpy_threads.set_count(2)
        monkeypatch.setattr(numpy_threads, "MIN_PART_NS", 0)
        yield request.param
        numpy_threads.set_count(n)
    else:
        yield request.param


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update_many_matches_adam_update(amsgrad, numpy_split):
    kusari.set_backend("numpy")
    b = kusari.backend()
    rng = np.random.default_rng(3)

    def state():
        return [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(5)]

    p, g, m, v, h = state()
    v = [np.abs(a) for a in v]
    h = [np.abs(a) for a in h]
    copies = [[a.copy() for a in lst] for lst in (p, m, v, h)]
    out = b.adam_update_many(p, g, m, v, h if amsgrad else None, 0.01, 0.9, 0.999, 1e-7)
    for i in range(len(SHAPES)):
        want = b.adam_update(copies[0][i], g[i], copies[1][i], copies[2][i], copies[3][i] if amsgrad else None,
                             0.01, 0.9, 0.999, 1e-7)
        for got_list, w in zip(out, want):
            if w is None:
                assert got_list is None
            else:
                np.testing.assert_array_equal(got_list[i], w)


@pytest.mark.parametrize("momentum", [None, "plain", "nesterov"])
def test_sgd_update_many_matches_sgd_update(momentum, numpy_split):
    kusari.set_backend("numpy")
    b = kusari.backend()
    rng = np.random.default_rng(4)
    p, g, m = ([rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(3))
    p2, m2 = [a.copy() for a in p], [a.copy() for a in m]
    bufs = None if momentum is None else m
    params, out_bufs = b.sgd_update_many(p, g, bufs, 0.05, 0.9, momentum == "nesterov")
    assert (out_bufs is None) == (momentum is None)
    for i in range(len(SHAPES)):
        want_p, want_m = b.sgd_update(p2[i], g[i], None if momentum is None else m2[i], 0.05, 0.9,
                                      momentum == "nesterov")
        np.testing.assert_array_equal(params[i], want_p)
        if momentum is not None:
            np.testing.assert_array_equal(out_bufs[i], want_m)


def test_backend_default_adam_update_many_loops_over_adam_update():
    kusari.set_backend("numpy")
    b = kusari.backend()
    rng = np.random.default_rng(5)
    p, g, m, v = ([rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(4))
    v = [np.abs(a) for a in v]
    copies = [[a.copy() for a in lst] for lst in (p, m, v)]
    out = Backend.adam_update_many(b, p, g, m, v, None, 0.01, 0.9, 0.999, 1e-7)
    for i in range(len(SHAPES)):
        want = b.adam_update(copies[0][i], g[i], copies[1][i], copies[2][i], None, 0.01, 0.9, 0.999, 1e-7)
        for got_list, w in zip(out[:3], want[:3]):
            np.testing.assert_array_equal(got_list[i], w)


def test_numpy_many_kernels_take_0d_and_odd_layouts(numpy_split):
    # a 0-d variable (NumPy hands back scalars) and a non-contiguous one go whole, beside chunked ones
    kusari.set_backend("numpy")
    b = kusari.backend()
    rng = np.random.default_rng(6)
    p = [np.float32(0.5) * np.ones((), np.float32), rng.standard_normal((40, 3)).astype(np.float32),
         np.asfortranarray(rng.standard_normal((7, 5)).astype(np.float32))]
    g = [np.full((), 0.25, np.float32), rng.standard_normal((40, 3)).astype(np.float32),
         rng.standard_normal((7, 5)).astype(np.float32)]
    m = [np.zeros_like(a) for a in p]
    want = [b.sgd_update(np.array(a, copy=True), gg, np.zeros_like(a), 0.1, 0.9, False) for a, gg in zip(p, g)]
    params, bufs = b.sgd_update_many(p, g, m, 0.1, 0.9, False)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(params[i]), np.asarray(want[i][0]))
        np.testing.assert_array_equal(np.asarray(bufs[i]), np.asarray(want[i][1]))
