"""The torch backend's own promises: torch tensors without requires_grad, dtypes both ways, in-place assign,
torch.Generator randomness with exact resume, torch's conv/pool kernels, CUDA when present."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kusari  # noqa: E402
from kusari import ops  # noqa: E402

from tests.backends._util import cuda_available  # noqa: E402


@pytest.fixture(autouse=True)
def _torch():
    kusari.set_backend("torch:cpu")


def test_arrays_are_torch_tensors_without_autograd():
    x = kusari.tensor([[1.0, 2.0]], requires_grad=True)
    y = (ops.tanh(x) * 3.0).sum()
    y.backward()
    for t in (x, y, x.grad):
        assert isinstance(t.data, torch.Tensor) and not t.data.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), 3 * (1 - np.tanh([[1.0, 2.0]]) ** 2), rtol=1e-6)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                                  "uint8", "bool"])
def test_dtype_names_map_both_ways(name):
    b = kusari.backend()
    assert b.dtype_name(b.dtype(name)) == name
    t = ops.zeros((2,), dtype=name)
    assert t.dtype == name and t.numpy().dtype.name == name


def test_python_data_follows_numpy_rules():
    assert kusari.tensor(1.5).dtype == "float32" and kusari.tensor(3).dtype == "int32"
    assert kusari.tensor(np.arange(3.0)).dtype == "float64"     # arrays keep their dtype


_SCALARS = [0.1, -2.5, 1e300, float("inf"), float("nan"), 3, -7, 2 ** 40, True, False]


@pytest.mark.parametrize("value,dtype", [
    (v, d) for v in _SCALARS for d in (None, "float32", "float16", "bfloat16", "float64", "int32", "int64", "bool")
    if not (d == "bool" and not isinstance(v, bool) or d in ("int32", "int64") and isinstance(v, float))])
def test_python_scalars_convert_like_numpy(value, dtype):
    """asarray's direct path for Python numbers gives the dtype and value of the NumPy route."""
    b = kusari.backend()
    with np.errstate(over="ignore"):
        ref = np.asarray(value) if dtype is None else np.asarray(value).astype(
            np.float32 if dtype == "bfloat16" else dtype)
    got = b.asarray(value, dtype)
    assert got.shape == () and b.dtype_name(got.dtype) == (dtype or ref.dtype.name)
    if dtype == "bfloat16":
        ref = torch.tensor(float(value), dtype=torch.float64).to(torch.bfloat16)
        assert torch.equal(got, ref) or (got.isinf() & ref.isinf()).item() or (got.isnan() & ref.isnan()).item()
    else:
        np.testing.assert_array_equal(got.numpy(), ref)


def test_relu_in_place_and_optimizer_kernels_keep_arrays():
    b = kusari.backend()
    a = torch.tensor([-1.0, 0.5, float("nan")])
    out = b.relu_(a)
    assert out is a and a[:2].tolist() == [0.0, 0.5] and a[2].isnan()
    p, g, m, v = (torch.full((3,), x) for x in (1.0, 0.5, 0.0, 0.0))
    out = b.adam_update(p, g, m, v, None, 0.1, 0.9, 0.999, 1e-7)
    assert out[0] is p and out[1] is m and out[2] is v and g.tolist() == [0.5] * 3
    np.testing.assert_allclose(p.numpy(), 1 - 0.1 * 0.05 / (np.sqrt(0.001 * 0.25) + 1e-7), rtol=1e-6)
    ps, bufs = b.sgd_update_many([p], [g], [torch.zeros(3)], 0.1, 0.9, False)
    assert ps[0] is p and bufs[0].tolist() == pytest.approx([-0.05] * 3)


def test_assign_is_in_place():
    p = kusari.Parameter([1.0, 2.0])
    before = p.data
    p.assign([3.0, 4.0])
    assert p.data is before and p.numpy().tolist() == [3.0, 4.0]
    p[0] = 7.0
    assert p.data is before and p.numpy().tolist() == [7.0, 4.0]


def test_rng_is_reproducible_and_resumable():
    g = kusari.random.SeedGenerator(3)
    state = g.state
    a = kusari.random.normal((4,), seed=g)
    g.set_state(state)
    assert kusari.random.normal((4,), seed=g).tolist() == a.tolist()
    assert kusari.random.uniform((3,), seed=5).tolist() == kusari.random.uniform((3,), seed=5).tolist()
    import json
    json.dumps(state)


def test_negative_step_and_numpy_style_advanced_indexing():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = kusari.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x[:, ::-1, ::-2].numpy(), a[:, ::-1, ::-2])
    np.testing.assert_array_equal(x[1, :, [0, 2]].numpy(), a[1, :, [0, 2]])   # int counts as advanced (NumPy)
    x[:, ::-1].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_and_pool_match_numpy(padding):
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((2, 7, 6, 3)).astype("float32")
    wa = rng.standard_normal((3, 3, 3, 4)).astype("float32")
    out = {}
    for name in ("numpy", "torch:cpu"):
        kusari.set_backend(name)
        x, w = kusari.tensor(xa, requires_grad=True), kusari.tensor(wa, requires_grad=True)
        y = ops.conv(x, w, strides=2, padding=padding)
        z = ops.max_pool(y, 2, strides=1, padding=padding) + ops.average_pool(y, 2, strides=1, padding=padding)
        (z * z).sum().backward()
        out[name] = [z.numpy(), x.grad.numpy(), w.grad.numpy()]
    for a, b in zip(out["torch:cpu"], out["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU visible to torch: the CUDA tests need one")
def test_cuda_model_matches_cpu():
    from kusari.testing import check_backends
    from kusari import layers
    from kusari.models import Sequential
    kusari.set_backend("numpy")
    model = Sequential([layers.Input((8, 8, 3)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                        layers.Flatten(), layers.Dense(3)])
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
    report = check_backends(model, x, backends=["numpy", "torch:cpu", "torch:cuda"])
    assert report["ok"]
    kusari.set_backend("torch:cuda")
    t = kusari.tensor([1.0, 2.0])
    assert t.device.startswith("cuda") and t.data.is_cuda
