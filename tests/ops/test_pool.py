"""max_pool and average_pool: forward and gradients vs torch, gradcheck, double backward, errors."""
import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests

torch = pytest.importorskip("torch")
F = torch.nn.functional

MAXP = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVGP = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def same_pads(sp, k, s):
    pads = []
    for n, kk, ss in zip(sp, k, s):
        total = max((-(-n // ss) - 1) * ss + kk - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def torch_pool(kind, x, pool, strides=None, padding="valid"):
    """Channels-last torch tensors; "same" = TF (padding ignored by max, not counted in the average)."""
    nd = x.ndim - 2
    k = tup(pool, nd)
    s = k if strides is None else tup(strides, nd)
    xc = x.movedim(-1, 1)
    flat = []
    if padding == "same":
        flat = [p for lo_hi in reversed(same_pads(x.shape[1:-1], k, s)) for p in lo_hi]
    if kind == "max":
        y = MAXP[nd](F.pad(xc, flat, value=-float("inf")) if flat else xc, k, s)
    else:
        num = AVGP[nd](F.pad(xc, flat) if flat else xc, k, s)
        ones = torch.ones_like(xc[:, :1])
        y = num / AVGP[nd](F.pad(ones, flat) if flat else ones, k, s)
    return y.movedim(1, -1)


def to_np(torch_fn):
    def ref(*arrays):
        return torch_fn(*[torch.from_numpy(np.asarray(a, np.float64)) for a in arrays]).numpy()
    return ref


def row(kind, name, shape, pool, strides=None, padding="valid"):
    fn = ops.max_pool if kind == "max" else ops.average_pool
    tfn = lambda x: torch_pool(kind, x, pool, strides, padding)
    return OpSpec(name, lambda x: fn(x, pool, strides, padding), to_np(tfn), shapes=[shape], torch_fn=tfn)


def cf_torch(x):
    return F.max_pool2d(x, 2, 2)


SPECS = [
    row("max", "max_pool2d_tiled", (2, 4, 6, 3), 2),
    row("max", "max_pool2d_overlap_same", (1, 5, 6, 2), 3, 2, "same"),
    row("max", "max_pool2d_tuple", (1, 6, 7, 2), (2, 3), (1, 2), "same"),
    row("max", "max_pool2d_untiled_valid", (1, 7, 7, 2), 2),
    row("max", "max_pool1d_same", (2, 7, 3), 3, 2, "same"),
    row("max", "max_pool3d", (1, 4, 4, 4, 2), 2),
    row("max", "max_pool3d_same", (1, 3, 4, 5, 2), 2, 2, "same"),
    row("avg", "average_pool2d_tiled", (2, 4, 6, 3), 2),
    row("avg", "average_pool2d_overlap_same", (1, 5, 6, 2), 3, 2, "same"),
    row("avg", "average_pool2d_stride1_same", (1, 5, 5, 2), 3, 1, "same"),
    row("avg", "average_pool1d", (2, 9, 2), 3, 2),
    row("avg", "average_pool3d_same", (1, 3, 4, 5, 2), 2, 2, "same"),
    OpSpec("max_pool2d_channels_first", lambda x: ops.max_pool(x, 2, data_format="channels_first"),
           to_np(cf_torch), shapes=[(1, 2, 4, 4)], torch_fn=cf_torch),
    OpSpec("average_pool2d_channels_first",
           lambda x: ops.average_pool(x, (2, 1), data_format="channels_first"),
           to_np(lambda x: F.avg_pool2d(x, (2, 1))), shapes=[(1, 2, 4, 3)],
           torch_fn=lambda x: F.avg_pool2d(x, (2, 1))),
]
globals().update(make_op_tests(SPECS))


def rand(*shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("kind, pool, strides, padding", [
    ("max", 2, None, "valid"), ("max", 3, 2, "same"), ("avg", 3, 1, "same"), ("avg", 2, None, "valid")])
def test_double_backward_vs_torch(kind, pool, strides, padding):
    """d/dx of ||d sum(pool(x)^3) / dx||^2: goes through MaxPoolBackward -> gather (AvgPoolBackward -> AvgPool)."""
    x = rand(2, 6, 5, 2)
    fn = ops.max_pool if kind == "max" else ops.average_pool
    xk = kusari.tensor(x, requires_grad=True)
    (g,) = kusari.grad(ops.sum(fn(xk, pool, strides, padding) ** 3), [xk], create_graph=True)
    ops.sum(g * g).backward()
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad((torch_pool(kind, xt, pool, strides, padding) ** 3).sum(), [xt],
                                create_graph=True)
    (gt * gt).sum().backward()
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xk.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_max_pool_gradient_is_not_differentiated_through_argmax():
    """grad of sum(max_pool(x) * c) is constant in x: its derivative is zero (piecewise linear)."""
    xk = kusari.tensor(rand(1, 4, 4, 1), requires_grad=True)
    c = kusari.tensor(rand(1, 2, 2, 1, seed=1))
    (g,) = kusari.grad(ops.sum(ops.max_pool(xk, 2) * c), [xk], create_graph=True)
    assert not g.requires_grad
    assert sorted(np.flatnonzero(g.numpy())) == sorted(np.flatnonzero(np.isin(g.numpy(), c.numpy())))


def test_dtypes():
    x = kusari.tensor(rand(1, 4, 4, 2, dtype="float32"))
    assert ops.max_pool(x, 2).dtype == "float32"
    assert ops.average_pool(x, 3, 1, "same").dtype == "float32"
    xi = kusari.tensor(np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1))
    y = ops.average_pool(xi, 2)
    assert y.dtype == "float32" and y.numpy().ravel().tolist() == [2.5, 4.5, 10.5, 12.5]


@pytest.mark.parametrize("call, match", [
    (lambda: ops.max_pool(np.ones((1, 2, 2, 1)), 3), r"pool_size \(3, 3\) is larger.*\(2, 2\)"),
    (lambda: ops.average_pool(np.ones((1, 5, 2, 1)), (2, 3)), r"larger than the input's spatial shape \(5, 2\)"),
    (lambda: ops.max_pool(np.ones((4, 4)), 2), "rank 3, 4 or 5"),
    (lambda: ops.max_pool(np.ones((1, 4, 4, 1)), 2, padding="full"), "padding must be"),
    (lambda: ops.average_pool(np.ones((1, 4, 4, 1)), (2, 2, 2)), "pool_size"),
    (lambda: ops.max_pool(np.ones((1, 4, 4, 1)), 2, data_format="NCHW"), "data_format"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_same_pool_larger_than_input_is_fine():
    y = ops.max_pool(kusari.tensor(rand(1, 2, 2, 1)), 3, 1, "same")
    assert y.shape == (1, 2, 2, 1)
