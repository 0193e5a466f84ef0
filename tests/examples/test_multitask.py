import numpy as np
import pytest

import kusari
from tests.examples._load import load_example

ex = load_example("multitask")


def _np_losses(model, x, y):
    out = model.predict(x, verbose=0)
    logits = out["digit"] - out["digit"].max(1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ce = -log_p[np.arange(len(x)), y["digit"]].mean()
    z, t = out["parity"], y["parity"]
    bce = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    return ce, bce


def test_logs_hold_both_head_losses_and_the_weighted_total():
    x, y = ex.load_data(64)
    model = ex.build_compiled()
    logs = model.test_on_batch(x, y, return_dict=True)
    assert {"loss", "digit_loss", "parity_loss"} <= set(logs)
    w = ex.LOSS_WEIGHTS
    assert logs["loss"] == pytest.approx(w["digit"] * logs["digit_loss"] + w["parity"] * logs["parity_loss"], rel=1e-5)
    ce, bce = _np_losses(model, x, y)                      # and each part is the loss it claims to be
    assert logs["digit_loss"] == pytest.approx(ce, rel=1e-4)
    assert logs["parity_loss"] == pytest.approx(bce, rel=1e-4)
    custom = ex.build_custom()                              # same seed, same weights, same numbers
    total, parts, _ = custom.losses_on(kusari.tensor(x), {k: kusari.tensor(v) for k, v in y.items()})
    assert total.item() == pytest.approx(logs["loss"], rel=1e-5)
    assert parts["parity_loss"].item() == pytest.approx(logs["parity_loss"], rel=1e-5)


def test_both_versions_reduce_the_loss_and_agree():
    x, y = ex.load_data(128)
    histories = {}
    for name, model in (("compiled", ex.build_compiled()), ("custom", ex.build_custom())):
        histories[name] = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    for h in histories.values():
        assert {"loss", "digit_loss", "parity_loss"} <= set(h)
        assert h["loss"][-1] < 0.8 * h["loss"][0]
        assert h["digit_loss"][-1] < h["digit_loss"][0] and h["parity_loss"][-1] < h["parity_loss"][0]
    for key in ("loss", "digit_loss", "parity_loss"):      # the hand-written step is the compiled one
        np.testing.assert_allclose(histories["custom"][key], histories["compiled"][key], rtol=1e-5)


def test_main_quick_runs_both():
    results = ex.main(quick=True, verbose=0)
    assert set(results) == {"compiled", "custom"}
    assert isinstance(results["custom"][0], ex.MultiTask)
