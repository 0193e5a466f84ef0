import numpy as np
import pytest
import torch

import kusari
from kusari import layers
from kusari.testing.layer_test import run_layer_test


@pytest.mark.parametrize("kwargs,shape", [
    ({"input_dim": 5, "output_dim": 3}, (2, 4)),
    ({"input_dim": 5, "output_dim": 2, "mask_zero": True}, (3,)),
    ({"input_dim": 6, "output_dim": 2, "embeddings_regularizer": "l2"}, (2, 2, 3)),
])
def test_layer_test(kwargs, shape):
    run_layer_test(layers.Embedding, kwargs, input_shape=shape, input_dtype="int32",
                   expected_output_shape=shape + (kwargs["output_dim"],), expected_num_trainable_weights=1)


def test_defaults_and_layout():
    emb = layers.Embedding(7, 3)
    emb(kusari.tensor([[1, 2]]))
    assert [w.name for w in emb.weights] == ["embeddings"]
    assert emb.embeddings.shape == (7, 3)
    w = emb.get_weights()[0]
    assert np.all(np.abs(w) <= 0.05)                       # "uniform" = RandomUniform(-0.05, 0.05)
    assert emb.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_vs_torch_with_repeated_indices():
    w = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")
    idx = np.array([[1, 3, 1, 0], [5, 1, 3, 3]])
    emb = layers.Embedding(6, 4, weights=[w])
    y = emb(kusari.tensor(idx))
    r = np.random.default_rng(1).standard_normal(y.shape).astype("float32")
    (g,) = kusari.grad((y * kusari.tensor(r)).sum(), [emb.embeddings])
    temb = torch.nn.Embedding(6, 4)
    with torch.no_grad():
        temb.weight.copy_(torch.tensor(w))
    yt = temb(torch.tensor(idx))
    (yt * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), temb.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_float_indices_are_cast():
    emb = layers.Embedding(4, 2)
    np.testing.assert_array_equal(emb(kusari.tensor([[1.0, 3.0]])).numpy(), emb.get_weights()[0][[[1, 3]]])


def test_mask_zero():
    emb = layers.Embedding(5, 2, mask_zero=True)
    y = emb(kusari.tensor([[3, 1, 0, 0], [2, 0, 4, 0]]))
    assert y._keras_mask.tolist() == [[True, True, False, False], [True, False, True, False]]
    assert emb.compute_mask(kusari.tensor([[0, 1]])).tolist() == [[False, True]]
    plain = layers.Embedding(5, 2)
    assert getattr(plain(kusari.tensor([[0, 1]])), "_keras_mask", None) is None
    assert plain.compute_mask(kusari.tensor([[0, 1]])) is None


def test_mask_reaches_downstream_layer():
    seen = {}

    class Probe(layers.Layer):
        def call(self, inputs, mask=None):
            seen["mask"] = mask
            return inputs
    Probe()(layers.Embedding(5, 2, mask_zero=True)(kusari.tensor([[1, 0]])))
    assert seen["mask"].tolist() == [[True, False]]


def test_errors():
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim must be a positive int"):
        layers.Embedding(3, -1)
    with pytest.raises(IndexError, match=r"emb_x \(Embedding\).*\[0, 5\)"):
        layers.Embedding(5, 2, name="emb_x")(kusari.tensor([[7]]))
    with pytest.raises(ValueError, match="shape"):
        layers.Embedding(5, 2, weights=[np.zeros((4, 2), "float32")])


def test_training_reduces_loss_on_used_rows_only():
    emb = layers.Embedding(5, 2)
    emb(kusari.tensor([[1]]))
    before = emb.get_weights()[0].copy()
    y = emb(kusari.tensor([[1, 2]]))
    (g,) = kusari.grad((y * y).sum(), [emb.embeddings])
    kusari.optimizers.SGD(learning_rate=0.1).apply([g], [emb.embeddings])
    after = emb.get_weights()[0]
    np.testing.assert_array_equal(after[[0, 3, 4]], before[[0, 3, 4]])
    assert not np.allclose(after[[1, 2]], before[[1, 2]])
