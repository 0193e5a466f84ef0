import numpy as np
import pytest

import kusari
from tests.examples._load import load_example, same, snapshot

ex = load_example("transfer_learning")


def test_freeze_then_fine_tune_with_one_compiled_model():
    kusari.utils.set_random_seed(0)
    (xa, ya), (xb, yb) = ex.load_split()
    xa, ya, xb, yb = xa[:128], ya[:128], xb[:128], yb[:128]
    base = ex.pretrain(xa, ya, epochs=1)
    pretrained = snapshot(base.weights)
    model = ex.transfer_model(base)
    optimizer = model.optimizer

    def no_recompile(*args, **kwargs):
        pytest.fail("compile() called again")
    model.compile = no_recompile

    base.trainable = False
    assert len(model.trainable_weights) == 2                      # the new head's kernel and bias
    head = snapshot(model.get_layer("head_5_9").weights)
    model.fit(xb, yb, batch_size=32, epochs=1, verbose=0)
    assert same(pretrained, snapshot(base.weights))               # frozen during the whole first phase
    assert not same(head, snapshot(model.get_layer("head_5_9").weights))

    base.trainable = True
    model.optimizer.learning_rate = 1e-3
    model.fit(xb, yb, batch_size=32, epochs=1, verbose=0)
    assert model.optimizer is optimizer
    changed = [not np.array_equal(a, b.numpy()) for a, b in zip(pretrained, base.weights)]
    assert all(changed)                                           # every base weight moves once unfrozen


def test_main_quick_improves_accuracy():
    model, base, frozen, tuned = ex.main(quick=True, verbose=0)
    assert tuned.history["accuracy"][-1] > frozen.history["accuracy"][0]
    assert tuned.history["loss"][-1] < frozen.history["loss"][0]
