"""Property tests (hypothesis): broadcasting gradients and indexing gradients on random shapes and indices."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import kusari
from kusari import ops

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: from a common shape, each drops leading dims and sets some dims to 1."""
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    shapes = []
    for _ in range(2):
        lead = draw(st.integers(0, len(full)))
        shape = [1 if draw(st.booleans()) else s for s in full[lead:]]
        shapes.append(tuple(shape))
    return shapes


@SETTINGS
@given(broadcast_pair(), st.sampled_from(["add", "subtract", "multiply", "divide"]), st.integers(0, 2 ** 16))
def test_broadcast_gradient_shapes_and_values(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, size=shapes[0])
    b = rng.uniform(0.5, 2.0, size=shapes[1])
    x = kusari.tensor(a, requires_grad=True)
    y = kusari.tensor(b, requires_grad=True)
    getattr(ops, op)(x, y).sum().backward()
    assert x.grad.shape == a.shape and y.grad.shape == b.shape
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    ones = np.ones(out_shape)
    # closed forms: d/dx sum(f) = sum over the broadcast copies of df/dx
    dfdx, dfdy = {
        "add": (ones, ones),
        "subtract": (ones, -ones),
        "multiply": (b * ones, a * ones),
        "divide": (1.0 / b * ones, -a / (b * b) * ones),
    }[op]

    def sum_to(g, shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
        return g.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True) if shape else g

    np.testing.assert_allclose(x.grad.numpy(), sum_to(dfdx, a.shape), rtol=1e-10)
    np.testing.assert_allclose(y.grad.numpy(), sum_to(dfdy, b.shape), rtol=1e-10)
    if op == "add":   # the count of broadcast copies
        assert np.all(x.grad.numpy() == np.prod(out_shape) / max(a.size, 1))


@st.composite
def indexed(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    parts = []
    kind = draw(st.sampled_from(["basic", "advanced", "mask", "mixed"]))
    array_len = draw(st.integers(1, 5))  # every integer-array index has this length, so they broadcast together
    if kind == "mask":
        mask = np.array(draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0])))
        return shape, (mask,)
    for d, n in enumerate(shape):
        choice = draw(st.sampled_from(["int", "slice", "none", "skip"] +
                                      (["array"] if kind != "basic" else [])))
        if choice == "skip":
            break
        if choice == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif choice == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n, n)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            step = draw(st.one_of(st.none(), st.sampled_from([1, 2, -1, -2])))
            parts.append(slice(start, stop, step))
        elif choice == "none":
            parts.append(None)
            parts.append(slice(None))
        else:
            idx = draw(st.lists(st.integers(-n, n - 1), min_size=array_len, max_size=array_len))
            parts.append(np.array(idx))
    if draw(st.booleans()) and len(parts) < len(shape):
        parts.append(Ellipsis)  # after the parts, which were drawn for the leading dims, so they stay in range
    return shape, tuple(parts)


@SETTINGS
@given(indexed(), st.integers(0, 2 ** 16))
def test_index_gradient_is_a_scatter_of_w(case, seed):
    shape, idx = case
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    want_y = a[idx]
    x = kusari.tensor(a, requires_grad=True)
    y = x[idx]
    np.testing.assert_array_equal(y.numpy(), want_y)
    w = rng.standard_normal(want_y.shape)
    (y * kusari.tensor(w)).sum().backward()
    expect = np.zeros(shape)
    np.add.at(expect, idx, w)
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2), st.integers(0, 2 ** 16))
def test_take_gradient_is_a_scatter(shape, axis, seed):
    axis = axis % len(shape)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    idx = rng.integers(-shape[axis], shape[axis], size=rng.integers(1, 5))
    x = kusari.tensor(a, requires_grad=True)
    y = ops.take(x, idx, axis=axis)
    np.testing.assert_array_equal(y.numpy(), np.take(a, idx, axis))
    w = rng.standard_normal(y.shape)
    (y * kusari.tensor(w)).sum().backward()
    expect = np.zeros(shape)
    full = [slice(None)] * len(shape)
    full[axis] = idx
    np.add.at(expect, tuple(full), w)
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-12, atol=1e-12)
