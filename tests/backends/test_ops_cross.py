"""Every row of the op table (tests/ops) in float32 on each installed backend vs numpy: forward and gradient.

Tolerances by op family (rtol, atol) are ``kusari.testing.backends.FLOAT32_TOLERANCE``; each row's own float32
tolerance is used where it is looser. One test per (family, backend) runs all its rows and lists every mismatch.
"""
import importlib

import numpy as np
import pytest

import kusari
from kusari.testing.backends import FLOAT32_TOLERANCE, compare_arrays

from tests.backends._util import others_or_skip

FAMILIES = {"arithmetic": "elementwise", "unary": "elementwise", "creation": "elementwise", "shape": "elementwise",
            "indexing": "elementwise", "reduce": "reduction", "loss": "reduction", "nn": "reduction",
            "linalg": "matmul", "conv": "conv", "pool": "conv", "normalization": "normalization"}


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(spec, arrays):
    diff = spec.diff_indices(arrays)
    ins = [kusari.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    outs = _outputs(spec.fn(*ins))
    rng = np.random.default_rng(1)
    loss = None
    for o in outs:
        if o.requires_grad:
            term = (o * kusari.tensor(rng.standard_normal(o.shape).astype(o.numpy().dtype))).sum()
            loss = term if loss is None else loss + term
    grads = []
    if loss is not None:
        gs = kusari.grad(loss, [ins[i] for i in diff], allow_unused=True)
        grads = [None if g is None else g.numpy() for g in gs]
    return [o.numpy() for o in outs], grads


@pytest.mark.parametrize("backend_name", others_or_skip())
@pytest.mark.parametrize("family", list(FAMILIES))
def test_op_table_matches_numpy_in_float32(family, backend_name):
    specs = importlib.import_module(f"tests.ops.test_{family}").SPECS
    rtol0, atol0 = FLOAT32_TOLERANCE[FAMILIES[family]]
    problems, checked = [], 0
    for spec in specs:
        if "float32" not in spec.dtypes:
            continue
        arrays = spec.arrays("float32")
        results = {}
        for name in ("numpy", backend_name):
            kusari.set_backend(name)
            results[name] = _run(spec, arrays)
        atol_s, rtol_s = spec.tolerance("float32")
        rtol, atol = max(rtol0, rtol_s), max(atol0, atol_s)
        (ref_o, ref_g), (got_o, got_g) = results["numpy"], results[backend_name]
        pairs = [(f"output {i}", g, r) for i, (g, r) in enumerate(zip(got_o, ref_o))] + \
            [(f"grad {i}", g, r) for i, (g, r) in enumerate(zip(got_g, ref_g)) if g is not None or r is not None]
        for what, g, r in pairs:
            if g is None or r is None:
                problems.append(f"{spec.name} {what}: one backend gave no gradient")
                continue
            if g.dtype != r.dtype:
                problems.append(f"{spec.name} {what}: dtype {g.dtype} vs numpy's {r.dtype}")
            s = compare_arrays(g, r, rtol, atol)
            checked += 1
            if not s["ok"]:
                problems.append(f"{spec.name} {what}: max abs {s['max_abs']:.3g}, max rel {s['max_rel']:.3g} "
                                f"(rtol {rtol}, atol {atol}) {s.get('note', '')}")
    assert checked, f"no float32 rows in tests/ops/test_{family}.py"
    assert not problems, f"{backend_name} vs numpy, {family} ops:\n" + "\n".join(problems)
