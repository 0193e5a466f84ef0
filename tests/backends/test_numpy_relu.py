"""The NumPy backend's relu passes give exactly the bits of the plain NumPy forms, whatever the size, dtype,
layout and special values (NaN, inf, signed zeros)."""
import numpy as np
import pytest

from kusari.backend import numpy_relu
from kusari.backend.numpy_backend import NumpyBackend

SIZES = [0, 1, 7, numpy_relu.CHUNK - 1, numpy_relu.CHUNK, 2 * numpy_relu.CHUNK + 3]


def special(n, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30], dtype)
    x[:min(n, len(values))] = values[:n]
    return x


def same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_relu_into_matches_maximum(n, dtype):
    x = special(n, dtype, 0)
    want = np.maximum(x, 0)
    same_bits(numpy_relu.relu_into(x, np.empty_like(x)), want)
    y = x.copy()
    assert numpy_relu.relu_into(y, y) is y                  # in place
    same_bits(y, want)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_relu_grad_into_matches_mask_product(n, dtype):
    g, y = special(n, dtype, 1), np.maximum(special(n, dtype, 2), 0)
    g[-3:] = -np.abs(g[-3:])                                # negative g under a zero mask gives -0.0
    y[-3:] = 0
    with np.errstate(invalid="ignore"):                     # inf * 0 in both
        same_bits(numpy_relu.relu_grad_into(g, y, np.empty_like(g)), g * (y > 0))


def test_relu_into_other_layouts_and_dtypes():
    x = special(6 * 5, np.float32, 3).reshape(6, 5)
    same_bits(numpy_relu.relu_into(x.T, np.empty((5, 6), np.float32)), np.maximum(x.T, 0))     # strided input
    i = np.arange(-3, 3)
    same_bits(numpy_relu.relu_into(i, np.empty_like(i)), np.maximum(i, 0))                      # integers


def test_backend_relu_forms():
    b = NumpyBackend()
    x = special(5 * (numpy_relu.CHUNK + 1), np.float32, 4).reshape(-1, 5)
    same_bits(b.relu(x), np.maximum(x, 0))
    assert not np.shares_memory(b.relu(x), x)
    same_bits(b.relu(x[:, ::2]), np.maximum(x[:, ::2], 0))
    same_bits(b.relu(np.arange(-2, 2)), np.array([0, 0, 0, 1]))
    y = b.relu(x)
    g = special(x.size, np.float32, 5).reshape(x.shape)
    with np.errstate(invalid="ignore"):
        same_bits(b.relu_grad(g, y), g * (y > 0))
        same_bits(b.relu_grad(g[:, :1], y[:, :1]), g[:, :1] * (y[:, :1] > 0))                 # strided
