import numpy as np

from tests.examples._load import load_example

ex = load_example("lstm_language_model")


def test_unigram_entropy_and_windows():
    ids = np.array([0, 0, 1, 1], dtype="int32")
    assert np.isclose(ex.unigram_entropy(ids, 3), np.log(2))
    x, y = ex.windows(np.arange(10, dtype="int32"), 4, stride=2)
    assert (y == x + 1).all() and x.shape == (3, 4)


def test_loss_falls_below_unigram_entropy():
    model, vocab, history, held_out, h1 = ex.main(quick=True, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert held_out < h1 - 0.3, (held_out, h1)       # context is used: better than any context-free model
    text = ex.sample(model, vocab, "the ", n=5)
    assert text.startswith("the ") and len(text) == 9 and set(text) <= set(vocab.chars)
