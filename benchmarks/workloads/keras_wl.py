"""Keras 3 ``model.fit`` on the backend ``KERAS_BACKEND`` names: ``jax`` by default (a jit-compiled train step;
the ``keras-jax`` row) or ``torch`` (eager, Keras' default there; the ``keras-torch`` row, the peer of
``kusari-torch``). Prints one JSON line."""
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from common import BETA_1, BETA_2, D_MODEL, EPS, FF, HEADS, LR, SEQ, batches, data, emit, init_weights, now, \
    parse_args  # noqa: E402

import keras  # noqa: E402
from keras import layers as L  # noqa: E402


def build(model):
    if model == "mlp":
        return keras.Sequential([L.Input((784,)), L.Dense(512, activation="relu"), L.Dense(512, activation="relu"),
                                 L.Dense(10)])
    if model == "cnn":
        return keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                                 L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
                                 L.Conv2D(64, 3, activation="relu"), L.Flatten(), L.Dense(64, activation="relu"),
                                 L.Dense(10)])
    if model == "lstm":
        return keras.Sequential([L.Input((28, 28)), L.LSTM(128), L.Dense(10)])
    inp = L.Input((SEQ, D_MODEL))
    h = inp
    for _ in range(2):
        a = L.MultiHeadAttention(HEADS, D_MODEL // HEADS)(h, h)
        h = L.LayerNormalization()(h + a)
        f = L.Dense(D_MODEL)(L.Dense(FF, activation="relu")(h))
        h = L.LayerNormalization()(h + f)
    out = L.Dense(10)(L.GlobalAveragePooling1D()(h))
    return keras.Model(inp, out)


def main():
    args = parse_args()
    x, y, source = data(args.model, args.batch, max(args.steps, args.warmup))
    model = build(args.model)
    note = ""
    if args.model == "transformer":
        note = "Keras' own initialisation"
    else:
        model.set_weights(init_weights(args.model))
    model.compile(optimizer=keras.optimizers.Adam(LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x0, y0 = batches(x, y, args.batch)[0]
    before = model.test_on_batch(x0, y0)
    t0 = now()
    model.train_on_batch(x0, y0)
    first = now() - t0
    # fit compiles its own (multi-step) function on JAX: warm it up with a full-size call that is not timed (on
    # torch the same call is only a warm-up)
    n = args.steps * args.batch
    model.fit(x[:n], y[:n], batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
    t0 = now()
    model.fit(x[:n], y[:n], batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
    elapsed = now() - t0
    emit(f"keras-{keras.backend.backend()}", args, source=source, first_step_s=first, elapsed_s=elapsed,
         loss_before=before, loss_after=model.test_on_batch(x0, y0), note=note)


if __name__ == "__main__":
    main()
