"""A training loop written by hand — no ``fit`` — that keeps fit's comforts:

- ``kusari.utils.Progbar``: the Keras progress bar,
- metric objects (``Mean``, ``SparseCategoricalAccuracy``): ``update_state`` / ``result`` / ``reset_state``,
- a ``CallbackList`` driven by hand: History, CSVLogger, EarlyStopping, ModelCheckpoint work unchanged,
- ``kusari.callbacks.create_file_writer``: TensorBoard summaries from plain Python (per-step scalars, histograms).

Run:  python examples/custom_loop.py            (then: tensorboard --logdir logs_custom_loop)
      python examples/custom_loop.py --quick    (a few steps; used by the tests)
"""
import sys

import numpy as np

import kusari
from kusari import callbacks as C
from kusari import layers


def load_data(n=None):
    (x, y), (xt, yt) = kusari.datasets.digits.load_data()
    prep = lambda a: a.reshape(len(a), 64).astype("float32") / 16.0   # noqa: E731
    x, y, xt, yt = prep(x), y.astype("int32"), prep(xt), yt.astype("int32")
    if n is not None:
        x, y, xt, yt = x[:n], y[:n], xt[:n // 2], yt[:n // 2]
    return (x, y), (xt, yt)


def make_model():
    return kusari.Sequential([kusari.Input((64,)), layers.Dense(32, activation="relu", name="features"),
                              layers.Dense(10, name="logits")])


def train(model, data, val_data, epochs=5, batch_size=32, lr=1e-2, log_dir="logs_custom_loop", verbose=1,
          extra_callbacks=(), seed=0):
    (x, y), (xv, yv) = data, val_data
    optimizer = kusari.optimizers.Adam(lr)
    loss_fn = kusari.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss_metric = kusari.metrics.Mean(name="loss")
    acc_metric = kusari.metrics.SparseCategoricalAccuracy(name="accuracy")
    val_acc_metric = kusari.metrics.SparseCategoricalAccuracy(name="val_accuracy")
    steps = int(np.ceil(len(x) / batch_size))
    callbacks = C.CallbackList([C.CSVLogger(f"{log_dir}/log.csv"), *extra_callbacks], add_history=True,
                               model=model, epochs=epochs, steps=steps, verbose=verbose)
    writer = C.create_file_writer(f"{log_dir}/custom")
    rng = np.random.default_rng(seed)
    global_step = 0

    callbacks.on_train_begin()
    for epoch in range(epochs):
        for m in (loss_metric, acc_metric, val_acc_metric):
            m.reset_state()
        callbacks.on_epoch_begin(epoch)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        bar = kusari.utils.Progbar(steps, verbose=verbose, stateful_metrics=["loss", "accuracy"])
        order = rng.permutation(len(x))
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            idx = order[step * batch_size:(step + 1) * batch_size]
            xb, yb = kusari.tensor(x[idx]), kusari.tensor(y[idx])
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
            weights = model.trainable_weights
            optimizer.apply(kusari.grad(loss, weights), weights)
            loss_metric.update_state(loss)
            acc_metric.update_state(yb, logits)
            logs = {"loss": loss_metric.result().item(), "accuracy": acc_metric.result().item()}
            writer.scalar("batch_loss", loss, step=global_step)
            global_step += 1
            bar.update(step + 1, list(logs.items()))
            callbacks.on_train_batch_end(step, logs)
        with kusari.no_grad():
            val_acc_metric.update_state(kusari.tensor(yv), model(kusari.tensor(xv), training=False))
        logs["val_accuracy"] = val_acc_metric.result().item()
        writer.scalar("epoch_loss", logs["loss"], step=epoch)
        writer.scalar("epoch_val_accuracy", logs["val_accuracy"], step=epoch)
        writer.histogram("features/kernel", model.get_layer("features").kernel, step=epoch)
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:                     # EarlyStopping says so, as in fit
            break
    callbacks.on_train_end(logs)
    writer.close()
    return model.history


def main(quick=False, log_dir="logs_custom_loop", verbose=1, extra_callbacks=()):
    kusari.utils.set_random_seed(0)
    data, val = load_data(256 if quick else None)
    model = make_model()
    history = train(model, data, val, epochs=3 if quick else 15, log_dir=log_dir, verbose=verbose,
                    extra_callbacks=[C.EarlyStopping(monitor="val_accuracy", patience=3), *extra_callbacks])
    return model, history


if __name__ == "__main__":
    _, h = main(quick="--quick" in sys.argv)
    print({k: round(v[-1], 4) for k, v in h.history.items()})
