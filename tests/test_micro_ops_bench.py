"""benchmarks/micro_ops.py runs (--quick) and writes one JSON line per case."""
import importlib.util
import json
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "micro_ops.py"


def _load():
    spec = importlib.util.spec_from_file_location("micro_ops", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("with_torch", [False, True])
def test_quick_run_writes_json_lines(tmp_path, capsys, with_torch):
    if with_torch:
        pytest.importorskip("torch")
    mod = _load()
    out = tmp_path / "bench.jsonl"
    args = ["--quick", "--json", str(out)] + ([] if with_torch else ["--no-torch"])
    mod.main(args)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["case"] for r in rows] == list(mod.CASES)
    assert all(r["kusari_ops_per_s"] > 0 for r in rows)
    if with_torch:
        assert all(r["torch_ops_per_s"] > 0 and r["ratio"] == pytest.approx(
            r["kusari_ops_per_s"] / r["torch_ops_per_s"], rel=1e-2) for r in rows)
    assert "kusari/torch" in capsys.readouterr().out
