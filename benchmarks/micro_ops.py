"""Per-op overhead on small tensors: kusari beside PyTorch (CPU, default thread count).

Each case runs a tiny workload many times and reports operations per second; ``ratio`` is kusari ops/s divided by
torch ops/s (higher is better for kusari; 1.0 means as fast as torch).

Run:  PYTHONPATH=. python benchmarks/micro_ops.py [--quick] [--json PATH] [--no-torch]
"""
import argparse
import json
import platform
import sys
import time

import numpy as np

import kusari

CASES = ("add_fwd_nograd", "add_fwd_bwd", "chain10_mul_add_bwd", "matmul16_fwd_bwd")


def _kusari_cases():
    rng = np.random.default_rng(0)
    a = kusari.tensor(rng.standard_normal(16, dtype=np.float32))
    b = kusari.tensor(rng.standard_normal(16, dtype=np.float32))
    xa = kusari.tensor(rng.standard_normal(16, dtype=np.float32), requires_grad=True)
    xb = kusari.tensor(rng.standard_normal(16, dtype=np.float32), requires_grad=True)
    ma = kusari.tensor(rng.standard_normal((16, 16), dtype=np.float32), requires_grad=True)
    mb = kusari.tensor(rng.standard_normal((16, 16), dtype=np.float32), requires_grad=True)
    seed16 = kusari.tensor(np.ones(16, np.float32))
    seed_mm = kusari.tensor(np.ones((16, 16), np.float32))
    add = kusari.ops.add
    matmul = kusari.ops.matmul

    def add_fwd_nograd():
        with kusari.no_grad():
            add(a, b)

    def add_fwd_bwd():
        add(xa, xb).backward(seed16)

    def chain():
        y = xa
        for _ in range(10):
            y = y * xb + xb
        y.backward(seed16)

    def mm():
        matmul(ma, mb).backward(seed_mm)

    # ops per call: the number of differentiable ops each call runs
    return {"add_fwd_nograd": (add_fwd_nograd, 1), "add_fwd_bwd": (add_fwd_bwd, 1),
            "chain10_mul_add_bwd": (chain, 20), "matmul16_fwd_bwd": (mm, 1)}


def _torch_cases():
    import torch
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, generator=g)
    b = torch.randn(16, generator=g)
    xa = torch.randn(16, generator=g, requires_grad=True)
    xb = torch.randn(16, generator=g, requires_grad=True)
    ma = torch.randn(16, 16, generator=g, requires_grad=True)
    mb = torch.randn(16, 16, generator=g, requires_grad=True)
    seed16 = torch.ones(16)
    seed_mm = torch.ones(16, 16)

    def add_fwd_nograd():
        with torch.no_grad():
            torch.add(a, b)

    def add_fwd_bwd():
        torch.add(xa, xb).backward(seed16)

    def chain():
        y = xa
        for _ in range(10):
            y = y * xb + xb
        y.backward(seed16)

    def mm():
        torch.matmul(ma, mb).backward(seed_mm)

    return {"add_fwd_nograd": (add_fwd_nograd, 1), "add_fwd_bwd": (add_fwd_bwd, 1),
            "chain10_mul_add_bwd": (chain, 20), "matmul16_fwd_bwd": (mm, 1)}


def measure(fn, ops_per_call, min_time, repeats):
    """Best-of-``repeats`` ops/s, each repeat running ``fn`` for at least ``min_time`` seconds."""
    fn()
    n = 1
    while True:  # calibrate the inner loop count
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4 or n >= 1 << 20:
            break
        n *= 2
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        best = max(best, n * ops_per_call / dt)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few short iterations only (smoke test)")
    p.add_argument("--json", metavar="PATH", help="append one JSON line per case to PATH")
    p.add_argument("--no-torch", action="store_true", help="measure kusari only")
    args = p.parse_args(argv)
    min_time, repeats = (0.01, 1) if args.quick else (0.2, 5)

    kc = _kusari_cases()
    tc = None
    torch_threads = None
    if not args.no_torch:
        try:
            import torch
            torch_threads = torch.get_num_threads()
            tc = _torch_cases()
        except ImportError:
            print("torch is not installed: kusari only", file=sys.stderr)
    rows = []
    for name in CASES:
        k = measure(*kc[name], min_time, repeats)
        t = measure(*tc[name], min_time, repeats) if tc else None
        rows.append({"benchmark": "micro_ops", "case": name, "kusari_ops_per_s": round(k, 1),
                     "torch_ops_per_s": None if t is None else round(t, 1),
                     "ratio": None if t is None else round(k / t, 4),
                     "torch_threads": torch_threads, "quick": args.quick,
                     "python": platform.python_version(), "numpy": np.__version__})
    print(f"{'case':<22}{'kusari ops/s':>14}{'torch ops/s':>14}{'kusari/torch':>14}")
    for r in rows:
        t = "-" if r["torch_ops_per_s"] is None else f"{r['torch_ops_per_s']:,.0f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['case']:<22}{r['kusari_ops_per_s']:>14,.0f}{t:>14}{ratio:>14}")
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    return rows


if __name__ == "__main__":
    main()
