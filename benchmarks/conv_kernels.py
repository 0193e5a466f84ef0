"""Time convolutions forward and forward + backward through the kusari ops (Tensor level, autograd included)
against torch (CPU, same thread count), float32.

Run: PYTHONPATH=. python benchmarks/conv_kernels.py [--reps N] [--only NAME] [--baseline OLD_numpy_conv.py]
Columns: kusari (current kernels), torch, kusari / torch (lower is better; < 1 means kusari is faster), and with
``--baseline`` (another version of kusari/backend/numpy_conv.py, e.g.
``git show HEAD:kusari/backend/numpy_conv.py > /tmp/old_conv.py``) the same ops run on those kernels. They are
timed interleaved so that machine load hits them alike; on a busy machine, compare ratios from one run only.
"""
import contextlib
import importlib.util
import sys
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import kusari
from kusari import ops
from kusari.backend import numpy_conv as nc

# name, input (N, H, W, C), kernel (kh, kw, C_in // groups or C_in for depthwise, C_out or multiplier),
# strides, padding, kind
CASES = [
    ("conv 1->32", (128, 28, 28, 1), (3, 3, 1, 32), 1, "valid", "conv"),
    ("conv 32->64", (128, 13, 13, 32), (3, 3, 32, 64), 1, "valid", "conv"),
    ("depthwise 32", (128, 26, 26, 32), (3, 3, 32, 1), 1, "valid", "depthwise"),
    ("conv 32->64 s2", (128, 28, 28, 32), (3, 3, 32, 64), 2, "same", "conv"),
]


def bench(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


@contextlib.contextmanager
def kernels_from(module):
    """Run the ops on another numpy_conv module (the backend imports it by name at each call)."""
    import kusari.backend as pkg
    saved = sys.modules["kusari.backend.numpy_conv"]
    sys.modules["kusari.backend.numpy_conv"] = pkg.numpy_conv = module
    try:
        yield
    finally:
        sys.modules["kusari.backend.numpy_conv"] = pkg.numpy_conv = saved


def load_module(path):
    spec = importlib.util.spec_from_file_location("numpy_conv_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tf_same(n, k, s):
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--only", default=None, help="substring of a case name")
    ap.add_argument("--baseline", default=None, help="path of another numpy_conv.py to time beside")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    base = load_module(args.baseline) if args.baseline else None
    print(f"torch threads: {torch.get_num_threads()}   times: best of {args.reps}, ms")
    print(f"{'case':16s} {'part':8s} {'kusari':>8s} {'baseline':>9s} {'torch':>8s} {'kusari/torch':>13s} "
          f"{'baseline/torch':>15s}")
    for name, x_shape, w_shape, s, padding, kind in CASES:
        if args.only and args.only not in name:
            continue
        x = rng.standard_normal(x_shape, dtype=np.float32)
        w = rng.standard_normal(w_shape, dtype=np.float32)
        xk = kusari.tensor(x, requires_grad=True)
        wk = kusari.Parameter(w)
        op = ops.conv if kind == "conv" else ops.depthwise_conv
        y = op(xk, wk, s, padding)
        gyk = kusari.tensor(rng.standard_normal(y.shape, dtype=np.float32))

        def k_fwd():
            with kusari.no_grad():
                op(xk, wk, s, padding)

        def k_all():
            xk.grad = wk.grad = None
            op(xk, wk, s, padding).backward(gyk)

        xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
        if kind == "conv":
            wt, groups = torch.from_numpy(w.transpose(3, 2, 0, 1).copy()), 1
        else:
            c, m = w_shape[-2:]
            wt = torch.from_numpy(w.reshape(3, 3, 1, c * m).transpose(3, 2, 0, 1).copy())
            groups = c
        wt.requires_grad_()
        pads = [p for n in reversed(x_shape[1:3]) for p in tf_same(n, 3, s)] if padding == "same" else None
        gyt = torch.from_numpy(gyk.numpy().transpose(0, 3, 1, 2).copy())

        def t_conv():
            xin = F.pad(xt, pads) if pads else xt
            return F.conv2d(xin, wt, stride=s, groups=groups)

        def t_fwd():
            with torch.no_grad():
                t_conv()

        def t_all():
            xt.grad = wt.grad = None
            t_conv().backward(gyt)

        for part, fk, ft in (("fwd", k_fwd, t_fwd), ("fwd+bwd", k_all, t_all)):
            a, b = bench(fk, args.reps), bench(ft, args.reps)
            if base is None:
                print(f"{name:16s} {part:8s} {a:8.2f} {'':>9s} {b:8.2f} {a / b:13.2f}", flush=True)
                continue
            with kernels_from(base):
                c = bench(fk, args.reps)
            a, b = min(a, bench(fk, args.reps)), min(b, bench(ft, args.reps))   # second pass, interleaved
            print(f"{name:16s} {part:8s} {a:8.2f} {c:9.2f} {b:8.2f} {a / b:13.2f} {c / b:15.2f}", flush=True)


if __name__ == "__main__":
    main()
