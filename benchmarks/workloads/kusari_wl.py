"""kusari: ``model.fit`` (the way users train; variant ``loop``: a plain custom loop with ``kusari.grad`` and
``optimizer.apply``; variant ``jit``: ``model.fit`` after ``compile(jit_compile=True)``, meant for the JAX backend).
The backend is whatever ``KUSARI_BACKEND`` names (``benchmarks/run.py`` sets it per framework row). Prints one JSON
line (with the backend's name)."""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from common import D_MODEL, FF, HEADS, SEQ, batches, data, emit, init_weights, now, parse_args  # noqa: E402

import kusari  # noqa: E402
from kusari import layers as L  # noqa: E402
from kusari import models, optimizers  # noqa: E402


def build(model):
    if model == "mlp":
        return models.Sequential([L.Input((784,)), L.Dense(512, activation="relu"),
                                  L.Dense(512, activation="relu"), L.Dense(10)])
    if model == "cnn":
        return models.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                                  L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
                                  L.Conv2D(64, 3, activation="relu"), L.Flatten(),
                                  L.Dense(64, activation="relu"), L.Dense(10)])
    if model == "lstm":
        return models.Sequential([L.Input((28, 28)), L.LSTM(128), L.Dense(10)])
    inp = L.Input((SEQ, D_MODEL))
    h = inp
    for _ in range(2):
        a = L.MultiHeadAttention(HEADS, D_MODEL // HEADS)(h, h)
        h = L.LayerNormalization()(h + a)
        f = L.Dense(D_MODEL)(L.Dense(FF, activation="relu")(h))
        h = L.LayerNormalization()(h + f)
    out = L.Dense(10)(L.GlobalAveragePooling1D()(h))
    return models.Model(inp, out)


def skip_reason(model):
    if model == "lstm" and not hasattr(L, "LSTM"):
        return "kusari.layers.LSTM does not exist yet"
    if model == "transformer" and not hasattr(L, "MultiHeadAttention"):
        return "kusari.layers.MultiHeadAttention does not exist yet"
    return None


def main():
    args = parse_args()
    reason = skip_reason(args.model)
    if reason:
        print(json.dumps({"framework": "kusari" + (f"-{args.variant}" if args.variant else ""),
                          "workload": args.workload, "skipped": reason}))
        return
    x, y, source = data(args.model, args.batch, max(args.steps, args.warmup))
    model = build(args.model)
    note = ""
    if args.model == "transformer":
        note = "kusari's own initialisation"
    else:
        model.set_weights(init_weights(args.model))
    opt = optimizers.Adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    loss_fn = kusari.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=opt, loss=loss_fn, jit_compile=args.variant == "jit")
    bs = batches(x, y, args.batch)
    x0, y0 = bs[0]
    loss_before = model.test_on_batch(x0, y0)

    if args.variant == "loop":
        weights = model.trainable_weights

        def step(xb, yb):
            xt, yt = kusari.tensor(xb), kusari.tensor(yb)
            loss = loss_fn(yt, model(xt, training=True))
            grads = kusari.grad(loss, weights)
            opt.apply(grads, weights)
            return loss

        t0 = now()
        step(*bs[0])
        first = now() - t0
        for xb, yb in bs[1:args.warmup]:
            step(xb, yb)
        t0 = now()
        for xb, yb in bs[:args.steps]:
            step(xb, yb)
        elapsed = now() - t0
    else:
        t0 = now()
        model.train_on_batch(x0, y0)
        first = now() - t0
        if args.warmup > 1:
            n = (args.warmup - 1) * args.batch
            model.fit(x[:n], y[:n], batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
        n = args.steps * args.batch
        t0 = now()
        model.fit(x[:n], y[:n], batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
        elapsed = now() - t0
    loss_after = model.test_on_batch(x0, y0)
    if kusari.backend().name == "numpy":
        from kusari.backend import numpy_threads
        note = "; ".join(filter(None, [note, f"threading: {numpy_threads.mode()}"]))
    emit("kusari", args, source=source, first_step_s=first, elapsed_s=elapsed, loss_before=loss_before,
         loss_after=loss_after, note=note, backend=kusari.backend().name)


if __name__ == "__main__":
    main()
