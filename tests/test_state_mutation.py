"""State changes go through the backend (DESIGN.md, *State*): outside ``kusari/backend/`` no code writes into an array
in place — no ``x.data[...] = v``, ``x.data += v``, ``out=`` arguments, ``copyto`` / ``fill`` / torch-style ``add_``
calls — so a functional backend (JAX inside ``jit_compile=True``) can trace every update. A static scan with a small
allowlist; ``Tensor.assign`` / ``__setitem__`` and the backend's ``assign`` / ``setitem`` are the sanctioned ways."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "kusari"
# host-side code that fills its own NumPy buffers (data loading, file formats), not training state
EXEMPT = ("backend", "data", "saving", "datasets.py")
INPLACE_METHODS = {"copyto", "fill", "put", "itemset", "setflags", "resize", "add_", "sub_", "mul_", "div_", "copy_",
                   "zero_", "fill_", "clamp_", "addcmul_", "addcdiv_", "lerp_", "set_", "index_put_", "index_add_",
                   "scatter_", "scatter_add_", "masked_fill_", "uniform_", "normal_", "__setitem__", "__iadd__",
                   "__isub__", "__imul__", "__itruediv__"}
ALLOWED = set()      # "path:line" entries, each with a reason next to it, if one is ever needed


def _is_state_array(node):
    """``<anything>.data`` or ``<anything>.grad``: a Tensor's array."""
    return isinstance(node, ast.Attribute) and node.attr in ("data", "grad")


def in_place_writes(source, filename="<src>"):
    """(line, what) for every in-place array write in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if isinstance(target, ast.Subscript) and _is_state_array(target.value):
                    found.append((node.lineno, f"{ast.unparse(target)} = ..."))
                elif isinstance(node, ast.AugAssign) and _is_state_array(target):
                    found.append((node.lineno, f"{ast.unparse(target)} {type(node.op).__name__}= ..."))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if any(kw.arg == "out" for kw in node.keywords):
                found.append((node.lineno, f"{ast.unparse(node.func)}(..., out=...)"))
            if node.func.attr in INPLACE_METHODS:
                found.append((node.lineno, f"{ast.unparse(node.func)}(...)"))
    return found


def _files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in EXEMPT:
            yield path


def test_no_in_place_array_writes_outside_backend():
    bad = []
    for path in _files():
        rel = path.relative_to(ROOT.parent)
        for line, what in in_place_writes(path.read_text(encoding="utf-8"), str(path)):
            if f"{rel}:{line}" not in ALLOWED:
                bad.append(f"{rel}:{line}: {what}")
    assert not bad, ("in-place array writes outside kusari/backend (use Tensor.assign / backend.assign / "
                     "backend.setitem, which a functional backend traces):\n" + "\n".join(bad))


def test_the_scan_finds_each_pattern():
    src = """
w.data[0] = 1.0
w.data[:, 1] += g
p.grad[...] = 0
w.data += g
np.copyto(w.data, v)
xp.add(a, b, out=a)
w.data.fill(0)
t.add_(g)
ok = {}
ok["k"] = 1
rows[3] += 1.0
w.data = new_array
w.assign(v)
run(out=folder)
"""
    assert [line for line, _ in in_place_writes(src)] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_the_training_path_is_scanned():
    scanned = {p.relative_to(ROOT).parts[0] for p in _files()}
    assert {"optimizers", "metrics", "layers", "training", "callbacks", "ops", "autograd"} <= scanned
