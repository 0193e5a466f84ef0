"""PyTorch state_dicts and Chainer snapshots, checked against the source framework's own outputs: torch models
built here; for Chainer (7.8 does not run on NumPy 2) a NumPy re-implementation of its forward pass."""
import numpy as np
import pytest

import kusari
from kusari.saving import ModelFileError
from kusari.saving.chainer_import import load_chainer_npz
from kusari.saving.torch_import import load_torch_state_dict

torch = pytest.importorskip("torch")
nn = torch.nn
L = kusari.layers
RNG = np.random.default_rng(0)


def _randomize_torch(module):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                v = torch.rand(t.shape, generator=g) + 0.5 if "running_var" in name else \
                    torch.randn(t.shape, generator=g) * 0.5
                t.copy_(v)
    return module.eval()


def test_mlp_by_order_from_dict_safetensors_and_pt(tmp_path):
    tm = _randomize_torch(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)))
    x = RNG.normal(size=(4, 6)).astype("float32")
    want = tm(torch.from_numpy(x)).detach().numpy()
    from safetensors.torch import save_file
    save_file(tm.state_dict(), str(tmp_path / "m.safetensors"))
    torch.save(tm.state_dict(), str(tmp_path / "m.pt"))
    for source in (tm.state_dict(), tmp_path / "m.safetensors", str(tmp_path / "m.pt")):
        km = kusari.Sequential([kusari.Input((6,)), L.Dense(8, activation="relu"), L.Dense(3)])
        load_torch_state_dict(km, source)
        np.testing.assert_allclose(km.predict(x, verbose=0), want, atol=1e-5, rtol=1e-5)


def test_cnn_with_batchnorm_channels_first_to_last():
    tm = _randomize_torch(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                        nn.MaxPool2d(2), nn.Conv2d(4, 2, 3)))
    x = RNG.normal(size=(2, 3, 8, 8)).astype("float32")
    want = tm(torch.from_numpy(x)).detach().numpy()
    km = kusari.Sequential([kusari.Input((8, 8, 3)), L.Conv2D(4, 3, padding="same"),
                            L.BatchNormalization(epsilon=1e-5), L.Activation("relu"), L.MaxPooling2D(),
                            L.Conv2D(2, 3)])
    load_torch_state_dict(km, tm.state_dict())
    got = km.predict(x.transpose(0, 2, 3, 1), verbose=0).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


class _Seq(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.rnn = rnn
        self.head = nn.Linear(5, 2)

    def forward(self, t):
        out, _ = self.rnn(self.emb(t))
        return self.head(out[:, -1])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_embedding_and_recurrent(kind):
    tm = _randomize_torch(_Seq(getattr(nn, kind)(4, 5, num_layers=2, batch_first=True)))
    t = RNG.integers(0, 10, size=(3, 7))
    want = tm(torch.from_numpy(t)).detach().numpy()
    rnn = getattr(L, kind)
    km = kusari.Sequential([kusari.Input((7,), dtype="int32"), L.Embedding(10, 4), rnn(5, return_sequences=True),
                            rnn(5), L.Dense(2)])
    load_torch_state_dict(km, tm.state_dict())
    np.testing.assert_allclose(km.predict(t.astype("int32"), verbose=0), want, atol=1e-5, rtol=1e-5)


def test_name_map_and_errors():
    tm = _randomize_torch(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)))
    sd = tm.state_dict()
    km = kusari.Sequential([kusari.Input((6,)), L.Dense(8, name="first"), L.Dense(3, name="second")])
    load_torch_state_dict(km, sd, name_map={"second": "2", "first": "0"})
    np.testing.assert_allclose(km.layers[1].kernel.numpy(), sd["2.weight"].numpy().T)
    small = kusari.Sequential([kusari.Input((6,)), L.Dense(8)])
    with pytest.raises(ModelFileError, match="2 parametrised layers"):
        load_torch_state_dict(small, sd)
    wrong = kusari.Sequential([kusari.Input((6,)), L.Dense(7), L.Dense(3)])
    with pytest.raises(ModelFileError, match=r"'0' gives kernel of shape \(6, 8\)"):
        load_torch_state_dict(wrong, sd)
    with pytest.raises(ModelFileError, match="which the file lacks"):
        load_torch_state_dict(km, sd, name_map={"first": "fc9"})


def test_pt_file_is_loaded_weights_only(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    torch.save({"w": Evil()}, str(tmp_path / "evil.pt"), pickle_module=pickle)
    km = kusari.Sequential([kusari.Input((6,)), L.Dense(8)])
    with pytest.raises(ModelFileError, match="weights_only=True"):
        load_torch_state_dict(km, str(tmp_path / "evil.pt"))


# -- Chainer ------------------------------------------------------------------------------------------------------

def _chainer_forward(params, x):
    """Chainer's forward for Convolution2D(pad=1) -> BatchNormalization (test mode, eps=2e-5) -> relu ->
    Linear (which flattens NCHW input in C order), written with NumPy from Chainer's definitions."""
    W, b = params["predictor/conv1/W"], params["predictor/conv1/b"]
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, W.shape[0], h, w), "float64")
    for i in range(3):
        for j in range(3):
            y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + w], W[:, :, i, j])
    y += b[None, :, None, None]
    g, be, m, v = (params[f"predictor/bn1/{k}"] for k in ("gamma", "beta", "avg_mean", "avg_var"))
    y = (y - m[None, :, None, None]) / np.sqrt(v[None, :, None, None] + 2e-5) * g[None, :, None, None] + \
        be[None, :, None, None]
    y = np.maximum(y, 0).mean(axis=(2, 3))            # global average pooling (F.average over H, W)
    return y @ params["predictor/fc/W"].T + params["predictor/fc/b"]


def test_chainer_npz_against_chainer_forward(tmp_path):
    rng = np.random.default_rng(3)
    params = {"predictor/conv1/W": rng.normal(size=(4, 3, 3, 3)), "predictor/conv1/b": rng.normal(size=4),
              "predictor/bn1/gamma": rng.normal(size=4), "predictor/bn1/beta": rng.normal(size=4),
              "predictor/bn1/avg_mean": rng.normal(size=4), "predictor/bn1/avg_var": rng.uniform(0.5, 1.5, 4),
              "predictor/bn1/N": np.array(17), "predictor/fc/W": rng.normal(size=(2, 4)),
              "predictor/fc/b": rng.normal(size=2)}
    params = {k: v.astype("float32") if v.ndim else v for k, v in params.items()}
    np.savez(tmp_path / "snap.npz", **params)
    x = rng.normal(size=(2, 3, 6, 6)).astype("float32")
    want = _chainer_forward(params, x)
    km = kusari.Sequential([kusari.Input((6, 6, 3)), L.Conv2D(4, 3, padding="same", name="c"),
                            L.BatchNormalization(epsilon=2e-5, name="bn"), L.Activation("relu"),
                            L.GlobalAveragePooling2D(), L.Dense(2, name="fc")])
    # natural order would be bn1, conv1, fc: name the links explicitly
    load_chainer_npz(km, tmp_path / "snap.npz", name_map={"c": "conv1", "bn": "bn1", "fc": "fc"},
                     path="predictor/")
    np.testing.assert_allclose(km.predict(x.transpose(0, 2, 3, 1), verbose=0), want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ModelFileError, match="the file has 3 parametrised layers"):
        load_chainer_npz(kusari.Sequential([kusari.Input((4,)), L.Dense(2)]), tmp_path / "snap.npz",
                         path="predictor/")


def test_chainer_linear_by_natural_order(tmp_path):
    rng = np.random.default_rng(4)
    params = {f"predictor/l{i}/{p}": rng.normal(size=s).astype("float32")
              for i, (o, n) in [(1, (5, 3)), (2, (5, 5)), (10, (2, 5))] for p, s in [("W", (o, n)), ("b", (o,))]}
    np.savez(tmp_path / "mlp.npz", **dict(reversed(list(params.items()))))
    km = kusari.Sequential([kusari.Input((3,)), L.Dense(5, activation="relu"), L.Dense(5, activation="relu"),
                            L.Dense(2)])
    load_chainer_npz(km, tmp_path / "mlp.npz")
    x = rng.normal(size=(4, 3)).astype("float32")
    h = np.maximum(x @ params["predictor/l1/W"].T + params["predictor/l1/b"], 0)
    h = np.maximum(h @ params["predictor/l2/W"].T + params["predictor/l2/b"], 0)
    want = h @ params["predictor/l10/W"].T + params["predictor/l10/b"]
    np.testing.assert_allclose(km.predict(x, verbose=0), want, atol=1e-5, rtol=1e-5)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match=r"bad\.npz: not a readable \.npz"):
        load_chainer_npz(km, tmp_path / "bad.npz")
