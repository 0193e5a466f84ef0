"""The Optimizer base: clipping, weight decay, None grads, state and exact resume, config, ``get``."""
import pathlib
import warnings

import numpy as np
import pytest

import kusari
from kusari import optimizers as O

from ._helpers import P0, grads_at, make_params, run_kusari

ALL = [O.SGD, O.Adam, O.AdamW, O.Adamax, O.Nadam, O.RMSprop, O.Adagrad, O.Adadelta, O.Lion]
RICH = {O.SGD: dict(momentum=0.9, nesterov=True), O.Adam: dict(amsgrad=True),
        O.RMSprop: dict(momentum=0.5, centered=True)}


def _one_step_delta(opt, grads):
    params = make_params()
    opt.apply([kusari.tensor(g) for g in grads], params)
    return [p.numpy() - p0 for p, p0 in zip(params, P0)]


# -- clipping --------------------------------------------------------------------------------------------------
def test_clipnorm_per_variable():
    g = [np.full((4, 3), 2.0, np.float32), np.array([0.1, 0.2, 0.0], np.float32)]
    d = _one_step_delta(O.SGD(learning_rate=1.0, clipnorm=1.0), g)
    np.testing.assert_allclose(-d[0], g[0] / np.linalg.norm(g[0]), rtol=1e-6)
    np.testing.assert_allclose(-d[1], g[1], rtol=1e-6)     # under the norm: unchanged


def test_global_clipnorm_matches_torch():
    torch = pytest.importorskip("torch")
    g = grads_at(P0)
    d = _one_step_delta(O.SGD(learning_rate=1.0, global_clipnorm=0.5), g)
    tg = [torch.tensor(x) for x in g]
    for t in tg:
        t.requires_grad_(False)
    ps = [torch.zeros_like(t, requires_grad=True) for t in tg]
    for p, t in zip(ps, tg):
        p.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(ps, 0.5)
    for a, p in zip(d, ps):
        np.testing.assert_allclose(-a, p.grad.numpy(), rtol=1e-5, atol=1e-7)
    total = np.sqrt(sum(float((x.astype(np.float64) ** 2).sum()) for x in d))
    assert abs(total - 0.5) < 1e-5


def test_clipvalue():
    g = [np.linspace(-3, 3, 12, dtype=np.float32).reshape(4, 3), np.array([0.5, -7.0, 1.0], np.float32)]
    d = _one_step_delta(O.SGD(learning_rate=1.0, clipvalue=1.0), g)
    for a, x in zip(d, g):
        np.testing.assert_allclose(-a, np.clip(x, -1, 1), rtol=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_gradients_never_modified(cls):
    grads = [kusari.tensor(g) for g in grads_at(P0)]
    before = [g.numpy().copy() for g in grads]
    for kw in (dict(), dict(clipnorm=0.1), dict(loss_scale_factor=4.0)):
        opt, params = cls(**kw), make_params()
        for _ in range(3):
            opt.apply(grads, params)
        for g, b in zip(grads, before):
            np.testing.assert_array_equal(g.numpy(), b)


# -- weight decay ----------------------------------------------------------------------------------------------
def test_weight_decay_and_exclusions():
    zero = [np.zeros((4, 3), np.float32), np.zeros(3, np.float32)]
    d = _one_step_delta(O.SGD(learning_rate=0.1, weight_decay=0.5), zero)
    np.testing.assert_allclose(d[0], -0.05 * P0[0], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(d[1], -0.05 * P0[1], rtol=1e-5, atol=1e-8)
    opt = O.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    d = _one_step_delta(opt, zero)
    np.testing.assert_allclose(d[0], -0.05 * P0[0], rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(d[1], 0)
    params = make_params()
    opt = O.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[params[0]])
    opt.apply([kusari.tensor(z) for z in zero], params)
    np.testing.assert_array_equal(params[0].numpy(), P0[0])
    assert not np.array_equal(params[1].numpy(), P0[1])


# -- skipping --------------------------------------------------------------------------------------------------
def test_none_gradients_skipped_with_warning():
    params = make_params()
    opt = O.Adam(learning_rate=0.1)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([kusari.tensor(grads_at(P0)[0]), None], params)
    assert not np.array_equal(params[0].numpy(), P0[0])
    np.testing.assert_array_equal(params[1].numpy(), P0[1])
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply([None, None], params)


def test_non_trainable_variables_skipped():
    params = make_params()
    params[1].trainable = False
    opt = O.SGD(learning_rate=0.1)
    opt.apply([kusari.tensor(g) for g in grads_at(P0)], params)
    np.testing.assert_array_equal(params[1].numpy(), P0[1])
    assert not np.array_equal(params[0].numpy(), P0[0])


def test_unknown_variable_and_unbuilt_errors():
    opt = O.SGD()
    with pytest.raises(ValueError, match="must already be built"):
        opt.apply([kusari.tensor([1.0])])
    params = make_params()
    opt.apply([kusari.tensor(g) for g in grads_at(P0)], params)
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([kusari.tensor([1.0])], [kusari.Parameter([0.0], name="other")])
    opt.apply([kusari.tensor(g) for g in grads_at(P0)])      # built: variables may be omitted
    assert int(opt.iterations) == 2


def test_update_bumps_version_counter():
    params = make_params()
    v0 = [p._version for p in params]
    O.Adam().apply([kusari.tensor(g) for g in grads_at(P0)], params)
    assert all(p._version > v for p, v in zip(params, v0))


def test_apply_gradients_and_iterations():
    params = make_params()
    opt = O.SGD(learning_rate=0.1)
    it = opt.apply_gradients(zip([kusari.tensor(g) for g in grads_at(P0)], params))
    assert it is opt.iterations and it.dtype == "int64" and int(it) == 1 and it.trainable is False


def test_constraint_applied_after_update():
    params = make_params()
    params[0].constraint = lambda v: np.clip(v.numpy(), 0.0, None)
    O.SGD(learning_rate=0.1).apply([kusari.tensor(g) for g in grads_at(P0)], params)
    assert params[0].numpy().min() >= 0.0


# -- state -----------------------------------------------------------------------------------------------------
def test_variables_names_and_order():
    w = kusari.Parameter(np.zeros((2, 2), np.float32), name="kernel")
    w.path = "dense/kernel"
    b = kusari.Parameter(np.zeros(2, np.float32), name="bias")
    opt = O.Adam(name="adam_t")
    opt.build([w, b])
    assert [v.name for v in opt.variables] == [
        "iteration", "learning_rate", "dense_kernel_momentum", "dense_kernel_velocity", "bias_momentum",
        "bias_velocity"]
    assert opt.variables[2].path == "adam_t/dense_kernel_momentum"
    assert all(not v.trainable for v in opt.variables)
    assert opt.variables[2].shape == (2, 2) and opt.variables[2].dtype == "float32"
    sgd = O.SGD()
    sgd.build([w])
    assert [v.name for v in sgd.variables] == ["iteration", "learning_rate"]   # no momentum slots at momentum=0


def test_auto_names_are_unique():
    a, b = O.RMSprop(), O.RMSprop()
    assert a.name.startswith("rm_sprop") and a.name != b.name   # Keras' to_snake_case("RMSprop")


def _kw(cls):
    return dict(RICH.get(cls, {}), learning_rate=0.01)


@pytest.mark.parametrize("extra", [{}, {"use_ema": True, "ema_overwrite_frequency": 3},
                                   {"gradient_accumulation_steps": 2}])
@pytest.mark.parametrize("cls", ALL)
def test_exact_resume_from_variables(cls, extra):
    opt = cls(**_kw(cls), **extra)
    params = make_params()
    run_kusari(opt, 3, params)
    # a fresh optimizer on copies of the model variables, state copied in through assign
    params2 = make_params([p.numpy() for p in params])
    fresh = cls(**_kw(cls), **extra)
    fresh.build(params2)
    assert len(fresh.variables) == len(opt.variables)
    for dst, src in zip(fresh.variables, opt.variables):
        assert dst.name == src.name and dst.shape == src.shape
        dst.assign(src.numpy())
    a = run_kusari(opt, 4, params)
    b = run_kusari(fresh, 4, params2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    for u, v in zip(opt.variables, fresh.variables):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_set_weights_and_own_variables_store():
    opt = O.Adam(learning_rate=0.01)
    params = make_params()
    run_kusari(opt, 2, params)
    store = {}
    opt.save_own_variables(store)
    other = O.Adam(learning_rate=0.5)
    other.build(make_params())
    other.load_own_variables(store)
    for u, v in zip(opt.variables, other.variables):
        np.testing.assert_array_equal(u.numpy(), v.numpy())
    third = O.Adam()
    third.build(make_params())
    third.set_weights([v.numpy() for v in opt.variables])
    assert float(third.learning_rate) == float(np.float32(0.01))
    with pytest.raises(ValueError, match="not yet been built"):
        O.Adam().set_weights([])


def test_gradient_accumulation():
    params = make_params()
    opt = O.SGD(learning_rate=0.1, gradient_accumulation_steps=2)
    g1 = [np.ones((4, 3), np.float32), np.ones(3, np.float32)]
    g2 = [np.full((4, 3), 3.0, np.float32), np.full(3, 3.0, np.float32)]
    opt.apply([kusari.tensor(g) for g in g1], params)
    np.testing.assert_array_equal(params[0].numpy(), P0[0])
    opt.apply([kusari.tensor(g) for g in g2], params)
    np.testing.assert_allclose(params[0].numpy(), P0[0] - 0.2, rtol=1e-6)
    assert int(opt._iterations) == 2 and int(opt.iterations) == 1


def test_ema_average_and_finalize():
    params = make_params()
    opt = O.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    g = [np.ones((4, 3), np.float32), np.ones(3, np.float32)]
    opt.apply([kusari.tensor(x) for x in g], params)
    avg = opt._model_variables_moving_average[0]
    np.testing.assert_allclose(avg.numpy(), P0[0] - 0.1, rtol=1e-6)      # first step: average = variable
    opt.apply([kusari.tensor(x) for x in g], params)
    np.testing.assert_allclose(avg.numpy(), 0.5 * (P0[0] - 0.1) + 0.5 * (P0[0] - 0.2), rtol=1e-6)
    opt.finalize_variable_values(params)
    np.testing.assert_array_equal(params[0].numpy(), avg.numpy())


def test_loss_scale_factor():
    d = _one_step_delta(O.SGD(learning_rate=1.0, loss_scale_factor=4.0),
                        [np.full((4, 3), 8.0, np.float32), np.zeros(3, np.float32)])
    np.testing.assert_allclose(d[0], -2.0, rtol=1e-6)
    assert float(O.SGD(loss_scale_factor=4.0).scale_loss(kusari.tensor(1.5))) == 6.0


# -- learning rate ---------------------------------------------------------------------------------------------
def test_learning_rate_settable_and_assignable():
    opt = O.Adam(learning_rate=0.1)
    assert isinstance(opt.learning_rate, kusari.Parameter)
    opt.learning_rate = 0.01
    assert float(opt.learning_rate) == float(np.float32(0.01))
    opt.learning_rate.assign(0.02)
    assert float(opt.learning_rate) == float(np.float32(0.02))
    assert opt.learning_rate in opt.variables
    d = _one_step_delta(O.SGD(learning_rate=0.3), [np.ones((4, 3), np.float32), np.ones(3, np.float32)])
    np.testing.assert_allclose(d[0], -0.3, rtol=1e-6)


def test_learning_rate_schedule_advances_with_iterations():
    sched = O.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = O.SGD(learning_rate=sched)
    assert [v.name for v in opt.variables] == ["iteration"]
    params = make_params()
    g = [np.ones((4, 3), np.float32), np.ones(3, np.float32)]
    prev = params[0].numpy().copy()
    for k in range(4):
        assert float(opt.learning_rate) == pytest.approx(0.1 * 0.5 ** k)
        opt.apply([kusari.tensor(x) for x in g], params)
        np.testing.assert_allclose(prev - params[0].numpy(), 0.1 * 0.5 ** k, rtol=1e-5)
        prev = params[0].numpy().copy()
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_callable_learning_rate():
    opt = O.SGD(learning_rate=lambda: 0.25)
    d = _one_step_delta(opt, [np.ones((4, 3), np.float32), np.ones(3, np.float32)])
    np.testing.assert_allclose(d[0], -0.25, rtol=1e-6)


# -- config, get, serialize -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_config_round_trip(cls):
    opt = cls(**_kw(cls), clipnorm=2.0)
    cfg = opt.get_config()
    again = cls.from_config(cfg)
    assert again.get_config() == cfg
    via = O.deserialize(O.serialize(opt))
    assert type(via) is cls and via.get_config() == cfg


def test_config_with_schedule():
    opt = O.Adam(learning_rate=O.schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5))
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "CosineDecay"
    again = O.Adam.from_config(cfg)
    assert isinstance(again._learning_rate, O.schedules.CosineDecay)
    assert again._learning_rate.get_config() == opt._learning_rate.get_config()


@pytest.mark.parametrize("name,cls", [("sgd", O.SGD), ("adam", O.Adam), ("adamw", O.AdamW),
                                      ("rmsprop", O.RMSprop), ("adagrad", O.Adagrad), ("adadelta", O.Adadelta),
                                      ("adamax", O.Adamax), ("nadam", O.Nadam), ("lion", O.Lion),
                                      ("Adam", O.Adam), ("SGD", O.SGD), ("RMSprop", O.RMSprop)])
def test_get_by_name(name, cls):
    assert type(O.get(name)) is cls


def test_get_other_identifiers_and_errors():
    opt = O.Adam()
    assert O.get(opt) is opt
    assert O.get(None) is None
    got = O.get({"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.9}})
    assert type(got) is O.SGD and got.momentum == 0.9 and float(got.learning_rate) == 0.5
    with pytest.raises(ValueError) as e:
        O.get("adamm")
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion"):
        assert repr(name) in str(e.value)
    with pytest.raises(ValueError, match="Could not interpret"):
        O.get(42)


def test_custom_update_step_subclass():
    class Plain(O.Optimizer):
        def __init__(self, learning_rate=0.5, **kw):
            super().__init__(learning_rate=learning_rate, **kw)

        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, kusari.ops.multiply(gradient, learning_rate))

    d = _one_step_delta(Plain(), [np.ones((4, 3), np.float32), np.ones(3, np.float32)])
    np.testing.assert_allclose(d[0], -0.5, rtol=1e-6)


def test_no_numpy_import_in_optimizers():
    root = pathlib.Path(kusari.__file__).parent / "optimizers"
    for f in root.glob("*.py"):
        text = f.read_text()
        assert "import numpy" not in text and "from numpy" not in text, f.name


@pytest.mark.parametrize("cls", ALL)
def test_scalar_variables_update_like_one_element_vectors(cls):
    """0-d variables (a learned temperature, a scale) go through the same fused kernels as any other."""
    kw = RICH.get(cls, {})
    scalar = kusari.Variable(np.float32(0.5))
    vector = kusari.Variable(np.array([0.5], np.float32))
    opt_s, opt_v = cls(**kw), cls(**kw)
    for g in (0.3, -0.2, 0.7, 0.1):
        opt_s.apply([kusari.tensor(np.float32(g))], [scalar])
        opt_v.apply([kusari.tensor(np.array([g], np.float32))], [vector])
    assert scalar.shape == ()
    np.testing.assert_allclose(scalar.numpy(), vector.numpy()[0], rtol=1e-6)
    assert scalar.numpy() != 0.5
