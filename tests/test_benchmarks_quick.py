"""benchmarks/run.py --quick --only kusari: every workload trains a couple of steps and its loss falls.

Timings are never asserted; this only proves the benchmark scripts run and that no workload is a no-op."""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quick_benchmark_kusari_only(tmp_path):
    out = tmp_path / "rows.jsonl"
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "kusari",
                        "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    trained = [r for r in rows if r["workload"] != "import"]
    sys.path.insert(0, str(ROOT / "benchmarks" / "workloads"))
    try:
        from common import WORKLOADS
    finally:
        sys.path.pop(0)
    assert sorted(r["workload"] for r in trained) == sorted(WORKLOADS)
    for r in trained:
        assert not r.get("error"), (r["workload"], r.get("note"))
        if r.get("skipped"):
            assert r["note"], r
            continue
        assert r["loss_fell"], r
        assert r["samples_per_s"] > 0 and r["peak_rss_mb"] > 0
    (imp,) = [r for r in rows if r["workload"] == "import"]
    assert imp["import_s"] > 0
