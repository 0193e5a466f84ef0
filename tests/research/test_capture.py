"""Inner activations for every model style: kusari.capture taps, functional multi-output models and feature
extractors that share weights; all still differentiable."""
import numpy as np
import pytest

import kusari
from kusari import layers, ops


def _sequential():
    block2 = kusari.Sequential([layers.Dense(6, activation="tanh")], name="block2")
    return kusari.Sequential([kusari.Input((4,)), layers.Dense(5, activation="tanh", name="features"), block2,
                              layers.Dense(1)])


def _functional():
    inp = kusari.Input((4,))
    f = layers.Dense(5, activation="tanh", name="features")(inp)
    b = kusari.Sequential([kusari.Input((5,)), layers.Dense(6, activation="tanh")], name="block2")(f)
    return kusari.Model(inp, layers.Dense(1)(b))


class _Subclassed(kusari.Model):
    def __init__(self):
        super().__init__()
        self.features = layers.Dense(5, activation="tanh", name="features")
        self.block2 = kusari.Sequential([layers.Dense(6, activation="tanh")], name="block2")
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.block2(self.features(x)))


BUILDERS = {"sequential": _sequential, "functional": _functional, "subclassed": _Subclassed}


@pytest.mark.parametrize("style", list(BUILDERS))
def test_taps_for_every_model_style(style):
    kusari.utils.set_random_seed(0)
    model = BUILDERS[style]()
    x = kusari.random.normal((3, 4))
    with kusari.capture(model, ["features", "block2"]) as taps:
        y = model(x)
    assert taps["features"].shape == (3, 5) and taps["block2"].shape == (3, 6)
    np.testing.assert_allclose(model.get_layer("features")(x).numpy(), taps["features"].numpy(), rtol=1e-6)
    # still in the graph: d y / d features, checked against a forward from the tap treated as a leaf
    (g,) = kusari.grad(ops.sum(y), taps["features"])
    leaf = taps["features"].detach().requires_grad_()
    (g_ref,) = kusari.grad(ops.sum(model.layers[-1](model.get_layer("block2")(leaf))), [leaf])
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-5, atol=1e-7)
    # a loss on the tap trains the layers below it (feature matching in two lines)
    target = kusari.tensor(np.zeros((5,), "float32"))
    fm = ops.sum(ops.square(ops.mean(taps["features"], axis=0) - target))
    grads = kusari.grad(fm, model.get_layer("features").trainable_weights)
    assert all(np.abs(gr.numpy()).sum() > 0 for gr in grads)
    with pytest.raises(RuntimeError):          # the block above the tap has no part in that loss
        kusari.grad(fm, model.get_layer("block2").trainable_weights)


def test_taps_record_every_call_and_stop_after_the_block():
    model = _sequential()
    a, b = kusari.random.normal((2, 4)), kusari.random.normal((3, 4))
    with kusari.capture(model, "features") as taps:
        model(a)
        model(b)
    assert [t.shape[0] for t in taps.all["features"]] == [2, 3] and taps["features"].shape[0] == 3
    model(a)
    assert len(taps.all["features"]) == 2
    with pytest.raises(ValueError):
        kusari.capture(model, ["no_such_layer"])


def test_functional_inner_outputs_and_shared_feature_extractor():
    kusari.utils.set_random_seed(0)
    inp = kusari.Input((4,))
    features = layers.Dense(5, activation="relu", name="features")(inp)
    logits = layers.Dense(3, name="logits")(features)
    both = kusari.Model(inp, [logits, features])
    extractor = kusari.Model(both.input, both.get_layer("features").output)
    x = kusari.random.normal((2, 4))
    out_logits, out_features = both(x)
    np.testing.assert_allclose(extractor(x).numpy(), out_features.numpy())
    kernel = both.get_layer("features").kernel
    assert extractor.get_layer("features").kernel is kernel          # shared, not copied
    kernel.assign(kernel.numpy() * 2.0)
    np.testing.assert_allclose(extractor(x).numpy(), both(x)[1].numpy())


def test_subclassed_model_simply_returns_features():
    class Net(kusari.Model):
        def __init__(self):
            super().__init__()
            self.body = layers.Dense(5, activation="tanh")
            self.head = layers.Dense(2)

        def call(self, x):
            f = self.body(x)
            return self.head(f), f

    net = Net()
    logits, f = net(kusari.random.normal((3, 4)))
    (g,) = kusari.grad(ops.sum(logits), [f])
    np.testing.assert_allclose(g.numpy(), np.tile(net.head.kernel.numpy().sum(1), (3, 1)), rtol=1e-6)
