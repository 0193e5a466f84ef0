import json

import numpy as np
import pytest

import kusari
from kusari import ops
from kusari.testing.op_test import OpSpec, make_op_tests

# dropout with a fixed int seed is a fixed function of x: gradcheck and double-grad apply
SPECS = [
    OpSpec("dropout_fixed_seed", lambda x: ops.dropout(x, 0.4, seed=3),
           lambda x: x * (np.asarray(kusari.random.uniform(x.shape, dtype="float64", seed=3)) >= 0.4) / 0.6,
           dtypes=("float64",)),
    OpSpec("dropout_noise_shape", lambda x: ops.dropout(x, 0.5, noise_shape=(1, 4), seed=7) * x),
]
globals().update(make_op_tests(SPECS))


@pytest.mark.parametrize("fn", [
    lambda s: kusari.random.normal((3, 2), seed=s),
    lambda s: kusari.random.uniform((4,), minval=-1, maxval=2, seed=s),
    lambda s: kusari.random.randint((5,), 0, 100, seed=s),
    lambda s: kusari.random.truncated_normal((50,), seed=s),
    lambda s: kusari.random.shuffle(kusari.tensor(np.arange(20)), seed=s),
    lambda s: kusari.random.categorical(kusari.tensor([[0.0, 1.0, 2.0]]), 10, seed=s),
])
def test_same_int_seed_same_numbers(fn):
    a, b, c = fn(5), fn(5), fn(6)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    assert not a.requires_grad


def test_seed_generator_advances_and_state_round_trip():
    g = kusari.random.SeedGenerator(42)
    state = json.loads(json.dumps(g.state))
    a = kusari.random.normal((4,), seed=g)
    b = kusari.random.normal((4,), seed=g)
    assert not np.array_equal(a.numpy(), b.numpy())
    g.set_state(state)
    np.testing.assert_array_equal(kusari.random.normal((4,), seed=g).numpy(), a.numpy())
    g2 = kusari.random.SeedGenerator(42)
    np.testing.assert_array_equal(kusari.random.normal((4,), seed=g2).numpy(), a.numpy())
    assert isinstance(g.next(), int)


def test_global_seed():
    kusari.random.set_seed(11)
    a = kusari.random.uniform((3,))
    b = kusari.random.uniform((3,))
    kusari.random.set_seed(11)
    np.testing.assert_array_equal(kusari.random.uniform((3,)).numpy(), a.numpy())
    assert not np.array_equal(a.numpy(), b.numpy())


def test_distributions_dtypes_and_ranges():
    n = kusari.random.normal((20000,), mean=2.0, stddev=3.0, seed=0)
    assert n.dtype == "float32" and abs(n.numpy().mean() - 2) < 0.1 and abs(n.numpy().std() - 3) < 0.1
    u = kusari.random.uniform((1000,), minval=-2.0, maxval=-1.0, dtype="float64", seed=0)
    assert u.dtype == "float64" and u.numpy().min() >= -2 and u.numpy().max() < -1
    r = kusari.random.randint((1000,), 3, 7, seed=0)
    assert r.dtype == "int32" and set(r.numpy().tolist()) == {3, 4, 5, 6}
    t = kusari.random.truncated_normal((5000,), mean=1.0, stddev=0.5, seed=0).numpy()
    assert t.min() >= 0.0 and t.max() <= 2.0
    x = np.arange(10)
    s = kusari.random.shuffle(kusari.tensor(np.stack([x, x])), axis=1, seed=0).numpy()
    assert sorted(s[0].tolist()) == x.tolist() and (s[0] == s[1]).all() and not (s[0] == x).all()
    c = kusari.random.categorical(kusari.tensor([[0.0, np.log(3.0)]]), 4000, seed=0).numpy()
    assert c.shape == (1, 4000) and abs(c.mean() - 0.75) < 0.03


def test_dropout_statistics_and_grad():
    x = kusari.tensor(np.ones((200, 100), dtype="float32"), requires_grad=True)
    y = ops.dropout(x, 0.3, seed=0)
    v = y.numpy()
    assert y.dtype == "float32"
    assert abs((v == 0).mean() - 0.3) < 0.01
    assert abs(v.mean() - 1.0) < 0.02
    np.testing.assert_allclose(v[v != 0], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), v)
    assert ops.dropout(x, 0.0) is x
    via_random = kusari.random.dropout(x, 0.3, seed=0)
    np.testing.assert_array_equal(via_random.numpy(), v)


def test_dropout_noise_shape_shares_mask():
    y = ops.dropout(kusari.tensor(np.ones((6, 5))), 0.5, noise_shape=(None, 1), seed=1).numpy()
    assert (y == y[:, :1]).all()


def test_random_errors():
    with pytest.raises(ValueError, match="rate"):
        ops.dropout(kusari.tensor([1.0]), 1.0)
    with pytest.raises(ValueError, match="noise_shape"):
        ops.dropout(kusari.tensor(np.ones((2, 3))), 0.5, noise_shape=(2, 2))
    with pytest.raises(ValueError, match="maxval"):
        kusari.random.randint((2,), 5, 5)
    with pytest.raises(ValueError, match="float"):
        kusari.random.normal((2,), dtype="int32")
    with pytest.raises(TypeError, match="seed"):
        kusari.random.normal((2,), seed="x")
    with pytest.raises(ValueError, match="seed"):
        kusari.random.SeedGenerator(-1)
