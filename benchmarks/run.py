"""Side-by-side training benchmarks: kusari beside PyTorch eager, JAX (jitted step), Keras 3 (JAX and torch
backends) and a hand-written NumPy MLP — and kusari on each of its backends beside that backend's own library and
Keras 3 on the same backend.

Each (workload, framework) pair runs in its own subprocess (``benchmarks/workloads/<framework>_wl.py``), the
frameworks alternate within each repeat, and the table shows medians over the repeats: samples/s, the ratio
kusari ÷ that framework (samples/s; > 1 means kusari is faster), peak RSS of the child, the first step's time, and
whether the loss fell in every repeat. ``import kusari`` time is measured in fresh interpreters.

Per backend: ``kusari-torch`` is kusari with ``KUSARI_BACKEND=torch`` (``model.fit``), compared with ``torch``
(PyTorch eager) and ``keras-torch`` (Keras 3 ``model.fit`` with ``KERAS_BACKEND=torch``); ``kusari-jax-jit`` is
kusari with ``KUSARI_BACKEND=jax`` and ``compile(jit_compile=True)``, compared with ``jax`` (a hand-written
``jax.jit`` step) and ``keras-jax``. Their ``÷ peer`` column is their samples/s ÷ each peer's (> 1: kusari on that
backend is faster than the library it runs on, or than Keras on it).

Run:  python benchmarks/run.py [--quick] [--json PATH] [--only kusari,torch] [--workloads mlp128,cnn128]
                               [--repeats N] [--threads N]

``--threads N`` exports OMP/OpenBLAS/MKL thread counts (and XLA's) to every child; the default leaves each
framework at its own default. Peers that are not installed are skipped with a note (``pip install -e .[benchmarks]``).
"""
import argparse
import importlib.util
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "workloads"))
from common import WORKLOADS  # noqa: E402

# name: (script, modules it needs)
FRAMEWORKS = {
    "kusari": ("kusari_wl.py", ()),
    "kusari-loop": ("kusari_wl.py", ()),
    "numpy-by-hand": ("numpy_wl.py", ()),
    "torch": ("torch_wl.py", ("torch",)),
    "jax": ("jax_wl.py", ("jax",)),
    "keras-jax": ("keras_wl.py", ("keras", "jax")),
    "keras-torch": ("keras_wl.py", ("keras", "torch")),
    "kusari-torch": ("kusari_wl.py", ("torch",)),
    "kusari-jax-jit": ("kusari_wl.py", ("jax",)),
}
PEERS = ("kusari-loop", "numpy-by-hand", "torch", "jax", "keras-jax", "keras-torch")
# kusari on a non-default backend: (KUSARI_BACKEND, kusari_wl.py --variant, the rows it is compared with)
BACKEND_ROWS = {
    "kusari-torch": ("torch", "", ("torch", "keras-torch")),
    "kusari-jax-jit": ("jax", "jit", ("jax", "keras-jax")),
}


def _installed(mods):
    return all(importlib.util.find_spec(m) is not None for m in mods)


def _env(threads):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if threads:
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[k] = str(threads)
        if threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                                "intra_op_parallelism_threads=1").strip()
    return env


def run_one(framework, workload, quick, env, timeout):
    script, _ = FRAMEWORKS[framework]
    cmd = [sys.executable, str(HERE / "workloads" / script), workload]
    if quick:
        cmd.append("--quick")
    if framework == "kusari-loop":
        cmd += ["--variant", "loop"]
    if framework.startswith("keras-"):
        env = {**env, "KERAS_BACKEND": framework[len("keras-"):]}
    else:
        env = {k: v for k, v in env.items() if k != "KERAS_BACKEND"}      # kusari reads it too
    if framework in BACKEND_ROWS:
        backend, variant, _ = BACKEND_ROWS[framework]
        env = {**env, "KUSARI_BACKEND": backend}
        if variant:
            cmd += ["--variant", variant]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"framework": framework, "workload": workload, "error": f"timed out after {timeout} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        return {"framework": framework, "workload": workload, "error": " | ".join(tail) or f"rc={p.returncode}"}
    return json.loads(lines[-1])


def import_time(env, repeats):
    """Median seconds, each in a fresh interpreter, of ``import kusari`` (submodules load lazily) and of ``import
    kusari`` plus first touching ``kusari.layers`` (which brings in NumPy and the layer/op modules)."""
    code = ("import time; t = time.perf_counter(); import kusari; a = time.perf_counter() - t; "
            "kusari.layers.Dense; print(a, time.perf_counter() - t)")
    times = []
    for _ in range(repeats):
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        times.append([float(v) for v in p.stdout.strip().splitlines()[-1].split()])
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def _versions():
    from importlib import metadata
    out = {}
    for name in ("numpy", "torch", "jax", "keras"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def summarize(runs):
    """One row per (workload, framework): medians over the repeats."""
    rows, by_key = [], {}
    for r in runs:
        by_key.setdefault((r["workload"], r["framework"]), []).append(r)
    for (workload, framework), rs in by_key.items():
        ok = [r for r in rs if "samples_per_s" in r]
        row = {"workload": workload, "framework": framework, "repeats": len(ok)}
        if not ok:
            row["note"] = rs[0].get("skipped") or rs[0].get("error", "")
            row["skipped" if "skipped" in rs[0] else "error"] = True
        else:
            row.update(
                batch=ok[0]["batch"], steps=ok[0]["steps"], data=ok[0]["data"],
                samples_per_s=statistics.median(r["samples_per_s"] for r in ok),
                peak_rss_mb=statistics.median(r["peak_rss_mb"] for r in ok),
                first_step_s=statistics.median(r["first_step_s"] for r in ok),
                loss_fell=all(r["loss_fell"] for r in ok),
                loss_before=ok[0]["loss_before"], loss_after=statistics.median(r["loss_after"] for r in ok),
                note=ok[0].get("note", ""), runs=[round(r["samples_per_s"], 1) for r in ok])
        rows.append(row)
    for row in rows:
        k = next((o for o in rows if o["workload"] == row["workload"] and o["framework"] == "kusari"
                  and "samples_per_s" in o), None)
        if k is not None and "samples_per_s" in row and row["framework"] != "kusari":
            row["kusari_ratio"] = k["samples_per_s"] / row["samples_per_s"]
        if row["framework"] in BACKEND_ROWS and "samples_per_s" in row:
            ratios = {}
            for peer_name in BACKEND_ROWS[row["framework"]][2]:
                peer = next((o for o in rows if o["workload"] == row["workload"] and o["framework"] == peer_name
                             and "samples_per_s" in o), None)
                if peer is not None:
                    ratios[peer_name] = row["samples_per_s"] / peer["samples_per_s"]
            if ratios:
                row["peer_ratios"] = ratios
    return rows


def table(rows, import_s):
    head = f"{'workload':<14} {'framework':<14} {'samples/s':>10} {'kusari/x':>9} {'peak MB':>8} {'1st step s':>10} " \
           f"{'loss fell':>9}  ÷ peer"
    out = [head, "-" * len(head)]
    for r in rows:
        if "samples_per_s" not in r:
            out.append(f"{r['workload']:<14} {r['framework']:<14} {'skipped' if r.get('skipped') else 'ERROR'}: "
                       f"{r['note']}")
            continue
        ratio = f"{r['kusari_ratio']:.2f}" if "kusari_ratio" in r else "-"
        peer = ", ".join(f"{v:.2f} ({k})" for k, v in r.get("peer_ratios", {}).items())
        out.append(f"{r['workload']:<14} {r['framework']:<14} {r['samples_per_s']:>10.0f} {ratio:>9} "
                   f"{r['peak_rss_mb']:>8.0f} {r['first_step_s']:>10.3f} {str(r['loss_fell']):>9}  {peer}".rstrip())
    if import_s is not None:
        out.append(f"import kusari: {import_s[0]:.3f} s; with first use of kusari.layers (loads NumPy): "
                   f"{import_s[1]:.3f} s (medians, fresh interpreters)")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a couple of steps per workload, one repeat")
    p.add_argument("--json", help="write one JSON line per row here")
    p.add_argument("--only", help="comma-separated frameworks (default: all installed)")
    p.add_argument("--workloads", help="comma-separated workloads (default: all)")
    p.add_argument("--repeats", type=int)
    p.add_argument("--threads", type=int, help="thread count exported to every child (default: leave alone)")
    p.add_argument("--timeout", type=float, default=600)
    a = p.parse_args(argv)
    frameworks = a.only.split(",") if a.only else list(FRAMEWORKS)
    workloads = a.workloads.split(",") if a.workloads else list(WORKLOADS)
    for name in frameworks + workloads:
        if name not in FRAMEWORKS and name not in WORKLOADS:
            p.error(f"unknown framework or workload {name!r}")
    repeats = a.repeats or (1 if a.quick else 3)
    env = _env(a.threads)
    missing = [f for f in frameworks if not _installed(FRAMEWORKS[f][1])]
    for f in missing:
        print(f"skipping {f}: {', '.join(FRAMEWORKS[f][1])} not installed (pip install -e .[benchmarks])")
    frameworks = [f for f in frameworks if f not in missing]
    runs = []
    t_start = time.perf_counter()
    for workload in workloads:
        for rep in range(repeats):
            order = frameworks if rep % 2 == 0 else frameworks[::-1]      # alternate: drift hits both sides
            for f in order:
                if f == "numpy-by-hand" and WORKLOADS[workload][0] != "mlp":
                    continue
                r = run_one(f, workload, a.quick, env, a.timeout)
                r.setdefault("framework", f)
                r["framework"] = f
                runs.append(r)
                print(f"  {workload} {f} #{rep + 1}: " + (f"{r['samples_per_s']:.0f} samples/s"
                      if "samples_per_s" in r else r.get("skipped") or "ERROR " + r.get("error", "")), flush=True)
    imp = import_time(env, 3 if a.quick else 7) if "kusari" in frameworks else None
    rows = summarize(runs)
    print()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"threads={a.threads or 'default'}, {repeats} repeat(s), {time.perf_counter() - t_start:.0f} s")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()))
    print(table(rows, imp))
    if a.json:
        with open(a.json, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
            if imp is not None:
                f.write(json.dumps({"workload": "import", "framework": "kusari", "import_s": imp[0],
                                    "import_and_layers_s": imp[1]}) + "\n")
    return rows


if __name__ == "__main__":
    main()
