"""JAX with a ``jax.jit``-compiled train step (model and Adam written with jax.numpy / lax). Prints one JSON line."""
import json
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from common import BETA_1, BETA_2, EPS, LR, batches, data, emit, init_weights, now, parse_args  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402


def _dense(p, x):
    return x @ p[0] + p[1]


def _conv(p, x):
    y = lax.conv_general_dilated(x, p[0], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(y + p[1])


def _pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def forward(model, w, x):
    if model == "mlp":
        h = jax.nn.relu(_dense(w[0:2], x))
        h = jax.nn.relu(_dense(w[2:4], h))
        return _dense(w[4:6], h)
    if model == "cnn":
        h = _pool(_conv(w[0:2], x))
        h = _pool(_conv(w[2:4], h))
        h = _conv(w[4:6], h).reshape(x.shape[0], -1)
        return _dense(w[8:10], jax.nn.relu(_dense(w[6:8], h)))
    k, r, b = w[0:3]
    u = r.shape[0]

    def cell(carry, xt):
        h, c = carry
        z = xt @ k + h @ r + b
        i, f, g, o = jax.nn.sigmoid(z[:, :u]), jax.nn.sigmoid(z[:, u:2 * u]), jnp.tanh(z[:, 2 * u:3 * u]), \
            jax.nn.sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), None

    zeros = jnp.zeros((x.shape[0], u), x.dtype)
    (h, _), _ = lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
    return _dense(w[3:5], h)


def main():
    args = parse_args()
    if args.model == "transformer":
        print(json.dumps({"framework": "jax", "workload": args.workload,
                          "skipped": "no hand-written JAX transformer (keras-jax covers it)"}))
        return
    x, y, source = data(args.model, args.batch, max(args.steps, args.warmup))
    model = args.model

    def loss_fn(w, xb, yb):
        z = forward(model, w, xb)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), yb[:, None], axis=1))

    @jax.jit
    def step(w, m, v, t, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(w, xb, yb)
        t = t + 1
        alpha = LR * jnp.sqrt(1 - BETA_2 ** t) / (1 - BETA_1 ** t)
        m = [mi + (gi - mi) * (1 - BETA_1) for mi, gi in zip(m, g)]
        v = [vi + (gi * gi - vi) * (1 - BETA_2) for vi, gi in zip(v, g)]
        w = [wi - alpha * mi / (jnp.sqrt(vi) + EPS) for wi, mi, vi in zip(w, m, v)]
        return w, m, v, t, loss

    eval_loss = jax.jit(loss_fn)
    w = [jnp.asarray(a) for a in init_weights(model)]
    m = [jnp.zeros_like(a) for a in w]
    v = [jnp.zeros_like(a) for a in w]
    t = jnp.asarray(0.0, jnp.float32)
    bs = [(jnp.asarray(a), jnp.asarray(b)) for a, b in batches(x, y, args.batch)]
    before = float(eval_loss(w, *bs[0]))
    t0 = now()
    w, m, v, t, loss = step(w, m, v, t, *bs[0])
    loss.block_until_ready()
    first = now() - t0
    for xb, yb in bs[1:args.warmup]:
        w, m, v, t, loss = step(w, m, v, t, xb, yb)
    loss.block_until_ready()
    t0 = now()
    for xb, yb in bs[:args.steps]:
        w, m, v, t, loss = step(w, m, v, t, xb, yb)
    loss.block_until_ready()
    elapsed = now() - t0
    emit("jax", args, source=source, first_step_s=first, elapsed_s=elapsed, loss_before=before,
         loss_after=float(eval_loss(w, *bs[0])), jax_version=jax.__version__)


_ = math
if __name__ == "__main__":
    main()
