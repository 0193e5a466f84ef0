"""Shared by every workload script: the data, the initial weights (NumPy, Keras layouts), timing and the JSON line.

Every framework trains the same architecture from the same float32 data and the same initial weights (where the
framework lets us set them) with Adam (lr 1e-3, beta 0.9/0.999, epsilon 1e-7), softmax cross-entropy on integer
labels. A run reports samples/s over ``steps`` timed steps after ``warmup`` steps, the first step's time, peak RSS,
and the loss on a fixed evaluation batch before and after training (``loss_fell`` proves the step did something).
"""
import argparse
import gzip
import json
import os
import pathlib
import resource
import sys
import time

import numpy as np

WORKLOADS = {
    # name: (model, batch, timed steps, warm-up steps)
    "mlp128": ("mlp", 128, 150, 5),
    "mlp16": ("mlp", 16, 400, 10),
    "cnn128": ("cnn", 128, 12, 2),
    "lstm128": ("lstm", 128, 20, 2),
    "transformer32": ("transformer", 32, 12, 2),
}
QUICK_STEPS, QUICK_WARMUP = 2, 1
LR, BETA_1, BETA_2, EPS = 1e-3, 0.9, 0.999, 1e-7
SEQ, D_MODEL, HEADS, FF = 64, 128, 4, 512          # transformer
MNIST = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--steps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--variant", default="")
    a = p.parse_args(argv)
    model, batch, steps, warmup = WORKLOADS[a.workload]
    if a.quick:
        steps, warmup = QUICK_STEPS, QUICK_WARMUP
    a.model, a.batch = model, batch
    a.steps = a.steps or steps
    a.warmup = warmup if a.warmup is None else a.warmup
    return a


def _mnist():
    try:
        with gzip.open(MNIST / "t10k-images-idx3-ubyte.gz") as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        return (x.astype(np.float32) / 255.0), y.astype(np.int32), "mnist-test"
    except OSError:
        return None


def data(model, batch, n_batches):
    """``(x, y, source)``: ``n_batches * batch`` float32 samples and int32 labels in the model's input layout."""
    n = n_batches * batch
    rng = np.random.default_rng(0)
    if model == "transformer":
        x = rng.standard_normal((n, SEQ, D_MODEL), dtype=np.float32)
        teacher = rng.standard_normal((D_MODEL, 10)).astype(np.float32)
        y = np.argmax(x.mean(axis=1) @ teacher, axis=1).astype(np.int32)
        return x, y, "synthetic"
    m = _mnist()
    if m is not None:
        x, y, source = m
        reps = -(-n // len(x))
        x, y = np.tile(x, (reps, 1, 1))[:n], np.tile(y, reps)[:n]
    else:
        x = rng.random((n, 28, 28), dtype=np.float32)
        teacher = rng.standard_normal((784, 10)).astype(np.float32)
        y = np.argmax(x.reshape(n, -1) @ teacher, axis=1).astype(np.int32)
        source = "synthetic"
    if model == "mlp":
        x = x.reshape(n, 784)
    elif model == "cnn":
        x = x.reshape(n, 28, 28, 1)
    return np.ascontiguousarray(x, np.float32), y, source


def _glorot(rng, fan_in, fan_out, shape):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape).astype(np.float32)


def init_weights(model):
    """Initial weights in Keras layouts and Keras ``model.weights`` order (Dense kernel (in, out), Conv HWIO,
    LSTM kernel (in, 4u) / recurrent (u, 4u) / bias (4u,) gates i, f, c, o)."""
    rng = np.random.default_rng(42)
    w = []

    def dense(i, o):
        w.extend([_glorot(rng, i, o, (i, o)), np.zeros(o, np.float32)])

    def conv(cin, cout):
        w.extend([_glorot(rng, 9 * cin, 9 * cout, (3, 3, cin, cout)), np.zeros(cout, np.float32)])

    if model == "mlp":
        dense(784, 512), dense(512, 512), dense(512, 10)
    elif model == "cnn":
        conv(1, 32), conv(32, 64), conv(64, 64), dense(576, 64), dense(64, 10)
    elif model == "lstm":
        u = 128
        bias = np.zeros(4 * u, np.float32)
        bias[u:2 * u] = 1.0                                    # unit_forget_bias
        w.extend([_glorot(rng, 28, 4 * u, (28, 4 * u)), _glorot(rng, u, 4 * u, (u, 4 * u)), bias])
        dense(u, 10)
    elif model == "transformer":
        for _ in range(2):
            for _ in range(4):                                  # q, k, v, out projections (d, d)
                dense(D_MODEL, D_MODEL)
            w.extend([np.ones(D_MODEL, np.float32), np.zeros(D_MODEL, np.float32)])
            dense(D_MODEL, FF), dense(FF, D_MODEL)
            w.extend([np.ones(D_MODEL, np.float32), np.zeros(D_MODEL, np.float32)])
        dense(D_MODEL, 10)
    return w


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(framework, args, *, source, first_step_s, elapsed_s, loss_before, loss_after, note="", **extra):
    row = {"framework": framework + (f"-{args.variant}" if args.variant else ""), "workload": args.workload,
           "batch": args.batch, "steps": args.steps, "samples_per_s": args.steps * args.batch / elapsed_s,
           "first_step_s": first_step_s, "peak_rss_mb": peak_rss_mb(), "loss_before": float(loss_before),
           "loss_after": float(loss_after), "loss_fell": bool(float(loss_after) < float(loss_before)),
           "data": source, "note": note, **extra}
    print(json.dumps(row), flush=True)


def batches(x, y, batch):
    """The list of ``(xb, yb)`` batches (contiguous float32 / int32)."""
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(x), batch)]


now = time.perf_counter
__all__ = ["WORKLOADS", "parse_args", "data", "init_weights", "emit", "batches", "now", "peak_rss_mb", "os", "sys"]
