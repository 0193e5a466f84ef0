import numpy as np
import pytest

import kusari
from kusari import layers


def test_sequential_with_and_without_input_agree_on_shapes():
    with_input = kusari.Sequential([kusari.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    assert with_input.built and with_input.output.shape == (None, 3)
    lazy = kusari.Sequential()
    lazy.add(layers.Dense(8, activation="relu"))
    lazy.add(layers.Dense(3))
    assert not lazy.weights
    assert lazy(np.ones((2, 4), np.float32)).shape == (2, 3)
    assert [w.shape for w in lazy.weights] == [w.shape for w in with_input.weights] == [(4, 8), (8,), (8, 3), (3,)]


def test_sequential_input_shape_kwarg_builds_like_keras():
    model = kusari.Sequential([layers.Dense(5, input_shape=(7,)), layers.Dense(2)])
    assert model.built and model.output.shape == (None, 2)


def test_sequential_rejects_wrong_input_shape_naming_the_layer_and_shapes():
    model = kusari.Sequential([kusari.Input((4,)), layers.Dense(2, name="first")])
    with pytest.raises(ValueError, match=r"first.*\(None, 4\).*\(3, 5\)"):
        model(np.ones((3, 5), np.float32))


def test_dense_rejects_wrong_last_dimension():
    layer = layers.Dense(2, name="d")
    layer(np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match=r"d \(Dense\).*4.*\(1, 5\)"):
        layer(np.ones((1, 5), np.float32))


def test_functional_multi_input_output_shared_layer_and_feature_extractor():
    a, b = kusari.Input((4,), name="a"), kusari.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    ha, hb = shared(a), shared(b)
    out = layers.Dense(1, name="head")(ha + hb)
    model = kusari.Model([a, b], [out, ha])
    xa, xb = np.random.rand(2, 4).astype("float32"), np.random.rand(2, 4).astype("float32")
    y, feat = model([xa, xb])
    w, bias = shared.get_weights()
    np.testing.assert_allclose(feat.numpy(), xa @ w + bias, rtol=1e-6)
    hw, hb_ = model.get_layer("head").get_weights()
    np.testing.assert_allclose(y.numpy(), (xa @ w + xb @ w + 2 * bias) @ hw + hb_, rtol=1e-5)
    # a feature extractor built from an inner output shares the weights
    extractor = kusari.Model(model.input, model.get_layer("shared").output)
    assert extractor.weights[0] is shared.kernel
    y_dict, _ = model({"a": xa, "b": xb})
    np.testing.assert_allclose(y_dict.numpy(), y.numpy())


def test_functional_graph_disconnected_is_reported():
    a, b = kusari.Input((2,), name="in_a"), kusari.Input((2,), name="in_b")
    out = layers.Dense(1)(layers.Concatenate()([a, b])) if hasattr(layers, "Concatenate") else \
        layers.Dense(1)(a + b)
    with pytest.raises(ValueError, match="in_b"):
        kusari.Model(a, out)


def test_nested_models_as_layers():
    inner = kusari.Sequential([kusari.Input((3,)), layers.Dense(4)], name="inner")
    inp = kusari.Input((3,))
    outer = kusari.Model(inp, layers.Dense(1)(inner(inp)))
    assert outer(np.ones((5, 3), np.float32)).shape == (5, 1)
    assert len(outer.weights) == 4


class Recursive(kusari.Model):
    """Depth depends on the input: define-by-run."""

    def __init__(self):
        super().__init__()
        self.cell = layers.Dense(4, activation="tanh")
        self.head = layers.Dense(1)

    def call(self, x, steps=None):
        h = x
        for _ in range(int(steps if steps is not None else x.shape[0])):
            h = self.cell(h)
        return self.head(h)


def test_subclassed_model_with_python_control_flow_and_summary(capsys):
    model = Recursive()
    y1 = model(np.ones((2, 4), np.float32), steps=1)
    y3 = model(np.ones((2, 4), np.float32), steps=3)
    assert y1.shape == y3.shape == (2, 1) and not np.allclose(y1.numpy(), y3.numpy())
    model.summary()
    text = capsys.readouterr().out
    assert "dense" in text and "(None, 4)" in text and "Total params: 25" in text


def test_forward_alias_and_trainable_weights():
    class Net(kusari.Model):
        def __init__(self):
            super().__init__()
            self.a = layers.Dense(2)
            self.b = layers.Dense(1)

        def forward(self, x):
            return self.b(self.a(x))

    net = Net()
    assert net(np.ones((1, 3), np.float32)).shape == (1, 1)
    assert len(net.trainable_weights) == 4
    net.a.trainable = False
    assert len(net.trainable_weights) == 2 and len(net.non_trainable_weights) == 2
    assert not net.a.kernel.requires_grad


def test_get_layer_errors_list_names():
    model = kusari.Sequential([kusari.Input((2,)), layers.Dense(1, name="only")])
    with pytest.raises(ValueError, match="only"):
        model.get_layer("missing")


def test_capture_taps_are_differentiable_in_a_subclassed_model():
    model = Recursive()
    x = kusari.tensor(np.random.rand(2, 4).astype("float32"))
    with kusari.capture(model, [model.cell.name]) as taps:
        y = model(x, steps=2)
    feat = taps[model.cell.name]
    assert len(taps.all[model.cell.name]) == 2 and feat.shape == (2, 4)
    (g,) = kusari.grad(y.sum(), [feat])
    assert g.shape == (2, 4)


def test_set_weights_checks_count_and_shapes():
    layer = layers.Dense(2)
    layer(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 2\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])


def test_ops_and_operators_on_symbolic_tensors_record_saveable_nodes(tmp_path):
    x = kusari.Input((3,))
    h = layers.Dense(3)(x)
    y = kusari.ops.relu(h * 2.0 + x)
    model = kusari.Model(x, y)
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "OpLayer", "OpLayer", "OpLayer"]
    data = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    w, b = model.layers[1].get_weights()
    np.testing.assert_allclose(model(data).numpy(), np.maximum((data @ w + b) * 2 + data, 0), rtol=1e-6)
    path = str(tmp_path / "ops.kusari")
    model.save(path)
    again = kusari.models.load_model(path)
    np.testing.assert_array_equal(again.predict(data, verbose=0), model.predict(data, verbose=0))


def test_sequential_infers_its_input_from_a_first_model_layer():
    base = kusari.Sequential([kusari.Input((5,)), layers.Dense(4)])
    model = kusari.Sequential([base, layers.Dense(2)])
    assert model.built and model.output.shape == (None, 2)
    assert len(model.trainable_weights) == 4


def test_reflected_operators_on_symbolic_tensors():
    x = kusari.Input((2,))
    model = kusari.Model(x, 1.0 - 2.0 * x + x / 4.0)
    data = np.array([[1.0, -2.0]], "float32")
    np.testing.assert_allclose(model(data).numpy(), 1.0 - 2.0 * data + data / 4.0, rtol=1e-6)
