import csv

import numpy as np

import kusari
from tests.examples._load import load_example, same, snapshot

ex = load_example("dcgan_feature_matching")


def _built_gan(real):
    gan = ex.build(seed=1)
    gan.train_step((real,))               # builds both optimizers' slots
    return gan


def test_generator_step_touches_only_the_generator():
    real = kusari.tensor(ex.load_digits(16))
    gan = _built_gan(real)
    g0, d0 = snapshot(gan.generator.weights), snapshot(gan.discriminator.weights)
    dopt0, gopt0 = snapshot(gan.d_optimizer.variables), snapshot(gan.g_optimizer.variables)
    gan.g_step(real)
    assert same(d0, snapshot(gan.discriminator.weights))
    assert same(dopt0, snapshot(gan.d_optimizer.variables))
    assert not same(g0, snapshot(gan.generator.weights))
    assert not same(gopt0, snapshot(gan.g_optimizer.variables))
    assert all(w.grad is None for w in gan.weights)          # kusari.grad never fills .grad


def test_discriminator_step_touches_only_the_discriminator():
    real = kusari.tensor(ex.load_digits(16))
    gan = _built_gan(real)
    g0, d0 = snapshot(gan.generator.weights), snapshot(gan.discriminator.weights)
    dopt0, gopt0 = snapshot(gan.d_optimizer.variables), snapshot(gan.g_optimizer.variables)
    gan.d_step(real)
    assert same(g0, snapshot(gan.generator.weights))
    assert same(gopt0, snapshot(gan.g_optimizer.variables))
    assert not same(d0, snapshot(gan.discriminator.weights))
    assert not same(dopt0, snapshot(gan.d_optimizer.variables))


def test_feature_matching_loss_decreases():
    real = kusari.tensor(ex.load_digits(32))
    gan = ex.build(seed=2)
    z = gan.sample_z(32)
    losses = [gan.g_step(real, z=z).item() for _ in range(8)]    # D fixed, same batch: plain descent
    assert losses[-1] < 0.7 * losses[0], losses


def test_feature_matching_loss_uses_the_features_layer():
    real = kusari.tensor(ex.load_digits(8))
    gan = ex.build(seed=3)
    z = gan.sample_z(8)
    features = kusari.Model(gan.discriminator.input, gan.discriminator.get_layer("features").output)
    f_real, f_fake = features(real), features(gan.generator(z))
    expected = np.sum((f_real.numpy().mean(0) - f_fake.numpy().mean(0)) ** 2)
    assert np.isclose(gan.g_loss(real, z).item(), expected, rtol=1e-5)


def test_fit_logs_both_losses(tmp_path):
    gan, history = ex.main(quick=True, log_dir=str(tmp_path), verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"} and len(history.history["g_loss"]) == 2
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [float(r["g_loss"]) for r in rows] == history.history["g_loss"]
    assert (tmp_path / "gan.weights.safetensors").exists()
    assert list((tmp_path / "train").glob("events.out.tfevents*"))
