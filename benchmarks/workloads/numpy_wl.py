"""numpy-by-hand: the MLP's forward, backward and Adam step written directly in NumPy (float32, in place where it
can be) — no framework, the ceiling for a NumPy engine. Prints one JSON line."""
import json
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from common import BETA_1, BETA_2, EPS, LR, batches, data, emit, init_weights, now, parse_args  # noqa: E402

import numpy as np  # noqa: E402


def loss_and_dlogits(z, yb):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    n = len(yb)
    loss = float(np.log(s[:, 0]).mean() - z[np.arange(n), yb].mean())
    e /= s
    e[np.arange(n), yb] -= 1.0
    e *= np.float32(1.0 / n)
    return loss, e


def main():
    args = parse_args()
    if args.model != "mlp":
        print(json.dumps({"framework": "numpy-by-hand", "workload": args.workload,
                          "skipped": "numpy-by-hand covers the MLP only"}))
        return
    x, y, source = data(args.model, args.batch, max(args.steps, args.warmup))
    w1, b1, w2, b2, w3, b3 = params = init_weights("mlp")
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    t = [0]

    def forward(xb):
        h1 = xb @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3
        z += b3
        return h1, h2, z

    def step(xb, yb):
        h1, h2, z = forward(xb)
        loss, dz = loss_and_dlogits(z, yb)
        grads = [None] * 6
        grads[4], grads[5] = h2.T @ dz, dz.sum(axis=0)
        dh2 = dz @ w3.T
        dh2 *= h2 > 0
        grads[2], grads[3] = h1.T @ dh2, dh2.sum(axis=0)
        dh1 = dh2 @ w2.T
        dh1 *= h1 > 0
        grads[0], grads[1] = xb.T @ dh1, dh1.sum(axis=0)
        t[0] += 1
        alpha = LR * math.sqrt(1 - BETA_2 ** t[0]) / (1 - BETA_1 ** t[0])
        for p, g, m, v in zip(params, grads, ms, vs):
            tmp = g - m
            tmp *= 1 - BETA_1
            m += tmp
            np.square(g, out=tmp)
            tmp -= v
            tmp *= 1 - BETA_2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += EPS
            u = m * alpha
            u /= tmp
            p -= u
        return loss

    bs = batches(x, y, args.batch)
    x0, y0 = bs[0]
    before = loss_and_dlogits(forward(x0)[2], y0)[0]
    t0 = now()
    step(x0, y0)
    first = now() - t0
    for xb, yb in bs[1:args.warmup]:
        step(xb, yb)
    t0 = now()
    for xb, yb in bs[:args.steps]:
        step(xb, yb)
    elapsed = now() - t0
    emit("numpy-by-hand", args, source=source, first_step_s=first, elapsed_s=elapsed, loss_before=before,
         loss_after=loss_and_dlogits(forward(x0)[2], y0)[0])


if __name__ == "__main__":
    main()
