"""A character-level LSTM language model (Embedding -> LSTM -> Dense), trained with plain compile/fit on text the
example writes itself (a small random grammar; no download), then sampled one character at a time.

The yardstick is the unigram entropy of the text: a model that ignores context cannot do better than it
(in nats per character); the LSTM's cross-entropy must fall below it.

Run:  python examples/lstm_language_model.py            (longer training, then samples)
      python examples/lstm_language_model.py --quick    (a few steps; used by the tests)
"""
import sys

import numpy as np

import kusari
from kusari import layers, ops

SUBJECTS = ["the cat", "a dog", "my friend", "the old man", "a small bird", "the teacher"]
VERBS = ["sees", "likes", "chases", "finds", "draws", "remembers"]
OBJECTS = ["the ball", "a red apple", "the river", "an old book", "the moon", "a green hat"]
ENDINGS = [".", " today.", " again.", " in the garden."]


def make_text(n_sentences=2000, seed=0):
    rng = np.random.default_rng(seed)
    pick = lambda words: words[rng.integers(len(words))]   # noqa: E731
    return " ".join(f"{pick(SUBJECTS)} {pick(VERBS)} {pick(OBJECTS)}{pick(ENDINGS)}" for _ in range(n_sentences))


class Vocabulary:
    def __init__(self, text):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        return np.array([self.index[c] for c in text], dtype="int32")

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in ids)


def unigram_entropy(ids, size):
    """-Σ p log p of the character frequencies, in nats: the loss of the best context-free model."""
    p = np.bincount(ids, minlength=size) / len(ids)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def windows(ids, length, stride=None):
    """(inputs, next-character targets), both (n, length)."""
    stride = stride or length
    starts = np.arange(0, len(ids) - length - 1, stride)
    x = np.stack([ids[s:s + length] for s in starts])
    y = np.stack([ids[s + 1:s + length + 1] for s in starts])
    return x, y


def make_model(vocab_size, seq_len=None, embed=16, units=64):
    model = kusari.Sequential([
        kusari.Input((seq_len,), dtype="int32"),
        layers.Embedding(vocab_size, embed),
        layers.LSTM(units, return_sequences=True),
        layers.Dense(vocab_size),
    ], name="char_lm")
    model.compile(optimizer=kusari.optimizers.Adam(3e-2, global_clipnorm=1.0),
                  loss=kusari.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def sample(model, vocab, prompt, n=60, temperature=0.5, seed=0):
    """Extend ``prompt`` one character at a time (the whole prefix is re-read each step: plain and short)."""
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    with kusari.no_grad():
        for _ in range(n):
            logits = model(kusari.tensor(np.array([ids], dtype="int32")))[0, -1]
            p = ops.softmax(logits / temperature).numpy().astype("float64")
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return vocab.decode(ids)


def main(quick=False, verbose=1):
    kusari.utils.set_random_seed(0)
    text = make_text(240 if quick else 3000)
    vocab = Vocabulary(text)
    ids = vocab.encode(text)
    x, y = windows(ids, 32, stride=16)
    n_train = 320 if quick else int(0.9 * len(x))
    model = make_model(len(vocab))                     # Input((None,)): any length, for sampling too
    history = model.fit(x[:n_train], y[:n_train], batch_size=32, epochs=2 if quick else 10, verbose=verbose)
    held_out = model.evaluate(x[n_train:n_train + 64], y[n_train:n_train + 64], verbose=0)
    return model, vocab, history, held_out, unigram_entropy(ids, len(vocab))


if __name__ == "__main__":
    model, vocab, history, held_out, h1 = main(quick="--quick" in sys.argv)
    print(f"unigram entropy {h1:.3f} nats/char; LSTM loss: train {history.history['loss'][-1]:.3f}, "
          f"held out {held_out:.3f}")
    for prompt in ("the cat ", "a small "):
        print(repr(sample(model, vocab, prompt)))
