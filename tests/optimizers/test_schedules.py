"""Learning-rate schedules against closed forms and Keras' documented examples."""
import math

import pytest

from kusari.optimizers import schedules as S


def f(x):
    return float(x)


@pytest.mark.parametrize("step", [0, 1, 7, 10, 25, 99])
def test_exponential_decay(step):
    s = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    assert f(s(step)) == pytest.approx(0.1 * 0.9 ** (step / 10), rel=1e-6)
    st = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9, staircase=True)
    assert f(st(step)) == pytest.approx(0.1 * 0.9 ** (step // 10), rel=1e-6)


def test_piecewise_constant_keras_example():
    s = S.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [f(s(k)) for k in (0, 100000)] == [1.0, 1.0]
    assert [f(s(k)) for k in (100001, 110000)] == [0.5, 0.5]
    assert f(s(110001)) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="1 less than"):
        S.PiecewiseConstantDecay([1, 2], [1.0])


@pytest.mark.parametrize("step", [0, 3, 50, 100, 150])
def test_polynomial_decay(step):
    s = S.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=0.5)
    k = min(step, 100)
    assert f(s(step)) == pytest.approx((0.1 - 0.01) * (1 - k / 100) ** 0.5 + 0.01, rel=1e-6)
    c = S.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=2.0, cycle=True)
    ds = 100 * max(1, math.ceil(step / 100))
    assert f(c(step)) == pytest.approx((0.1 - 0.01) * (1 - step / ds) ** 2 + 0.01, rel=1e-6)


@pytest.mark.parametrize("step", [0, 1, 5, 12])
def test_inverse_time_decay(step):
    s = S.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    assert f(s(step)) == pytest.approx(0.1 / (1 + 0.5 * step / 2), rel=1e-6)
    st = S.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    assert f(st(step)) == pytest.approx(0.1 / (1 + 0.5 * (step // 2)), rel=1e-6)


@pytest.mark.parametrize("step", [0, 10, 50, 100, 130])
def test_cosine_decay(step):
    s = S.CosineDecay(0.1, 100, alpha=0.1)
    k = min(step, 100)
    want = 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * k / 100)) + 0.1)
    assert f(s(step)) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("step", [0, 2, 5, 6, 55, 105, 200])
def test_cosine_decay_warmup(step):
    s = S.CosineDecay(0.0, 100, warmup_target=0.2, warmup_steps=5)
    if step < 5:
        want = 0.2 * step / 5
    else:
        k = min(step, 105) - 5
        want = 0.2 * 0.5 * (1 + math.cos(math.pi * k / 100))
    assert f(s(step)) == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_cosine_decay_restarts():
    s = S.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5, alpha=0.0)
    assert f(s(0)) == pytest.approx(1.0)
    assert f(s(5)) == pytest.approx(0.5)
    assert f(s(10)) == pytest.approx(0.5)          # first restart: peak * m_mul
    assert f(s(20)) == pytest.approx(0.25)         # halfway through a 20-step period
    assert f(s(30)) == pytest.approx(0.25)         # second restart
    s1 = S.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0)
    assert f(s1(15)) == pytest.approx(0.5)


def test_step_may_be_a_variable():
    import kusari
    step = kusari.Parameter(7, dtype="int64", trainable=False)
    s = S.ExponentialDecay(1.0, 7, 0.5)
    assert f(s(step)) == pytest.approx(0.5)
    assert s(step).dtype == "float32"


def test_bad_steps_and_config_round_trip():
    with pytest.raises(ValueError, match="decay_steps"):
        S.ExponentialDecay(0.1, 0, 0.5)
    for s in (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), S.PiecewiseConstantDecay([1], [1.0, 0.5]),
              S.PolynomialDecay(0.1, 10, cycle=True), S.InverseTimeDecay(0.1, 10, 0.5),
              S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=3), S.CosineDecayRestarts(0.1, 10)):
        again = S.deserialize(S.serialize(s))
        assert type(again) is type(s) and again.get_config() == s.get_config()
        assert f(again(4)) == f(s(4))
    with pytest.raises(NotImplementedError):
        S.LearningRateSchedule()(0)
