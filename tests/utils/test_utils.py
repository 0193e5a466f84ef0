import numpy as np
import pytest

import kusari
from kusari import utils


def test_to_categorical_and_errors():
    assert utils.to_categorical([1, 0, 2]).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert utils.to_categorical(np.array([[1], [2]]), 4).shape == (2, 4)
    assert utils.to_categorical(np.zeros((2, 3), int), 2).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="labels must lie"):
        utils.to_categorical([3], 2)


def test_normalize_unit_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0]])


def test_pad_sequences_like_keras():
    seqs = [[1, 2, 3], [4, 5], [6]]
    assert utils.pad_sequences(seqs).tolist() == [[1, 2, 3], [0, 4, 5], [0, 0, 6]]
    assert utils.pad_sequences(seqs, padding="post", maxlen=2).tolist() == [[2, 3], [4, 5], [6, 0]]
    assert utils.pad_sequences(seqs, truncating="post", maxlen=2).tolist() == [[1, 2], [4, 5], [0, 6]]
    with pytest.raises(ValueError, match="padding"):
        utils.pad_sequences(seqs, padding="middle")


def test_set_random_seed_makes_models_reproducible():
    def make():
        utils.set_random_seed(42)
        layer = kusari.layers.Dense(4)
        layer(np.ones((1, 3), "float32"))  # weights are drawn when the layer builds
        return layer
    a, b = make(), make()
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())


def test_clear_session_resets_names():
    utils.clear_session()
    assert kusari.layers.Dense(1).name == "dense"
    assert kusari.layers.Dense(1).name == "dense_1"
    utils.clear_session()
    assert kusari.layers.Dense(1).name == "dense"
