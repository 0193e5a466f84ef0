"""Time numpy conv2d forward + backward (input and filter grads) against torch.

Run: PYTHONPATH=. python benchmarks/conv_kernels.py
"""
import time

import numpy as np
import torch
import torch.nn.functional as F

from kusari.backend import numpy_conv as nc

SHAPES = [((128, 28, 28, 1), 32), ((128, 13, 13, 32), 64)]


def bench(fn, reps=20):
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main():
    rng = np.random.default_rng(0)
    print(f"torch threads: {torch.get_num_threads()}")
    for x_shape, filters in SHAPES:
        x = rng.standard_normal(x_shape, dtype=np.float32)
        w = rng.standard_normal((3, 3, x_shape[-1], filters), dtype=np.float32)
        pads = ((0, 0), (0, 0))
        y = nc.conv_forward(x, w, 1, pads)
        gy = rng.standard_normal(y.shape, dtype=np.float32)

        def np_fwd():
            nc.conv_forward(x, w, 1, pads)

        def np_all():
            nc.conv_forward(x, w, 1, pads)
            nc.conv_backward_input(gy, w, x.shape, 1, pads)
            nc.conv_backward_filter(x, gy, w.shape, 1, pads)

        xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
        wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy()).requires_grad_()
        gyt = torch.from_numpy(gy.transpose(0, 3, 1, 2).copy())

        def t_fwd():
            with torch.no_grad():
                F.conv2d(xt, wt)

        def t_all():
            xt.grad = wt.grad = None
            F.conv2d(xt, wt).backward(gyt)

        parts = {
            "fwd": (np_fwd, t_fwd),
            "fwd+bwd": (np_all, t_all),
        }
        for name, (fn_np, fn_t) in parts.items():
            a, b = bench(fn_np), bench(fn_t)
            print(f"{str(x_shape):>18} -> {filters:3d}  {name:8s} numpy {a:7.2f} ms  "
                  f"torch {b:7.2f} ms  torch/numpy {b / a:5.2f}")
        for name, fn in (("  bwd_input", lambda: nc.conv_backward_input(gy, w, x.shape, 1, pads)),
                         ("  bwd_filter", lambda: nc.conv_backward_filter(x, gy, w.shape, 1, pads))):
            print(f"{'':>26}{name:12s} numpy {bench(fn):7.2f} ms")


if __name__ == "__main__":
    main()
