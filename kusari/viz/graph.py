"""The recorded graph as Graphviz dot text (Chainer's ``computational_graph``): one node per Function (its class
name, a box) and one per Tensor (an ellipse with its name, shape and dtype); edges follow the data:
``input tensor -> Function -> output tensor``.

Leaves that require grad are filled light blue, Parameters gold (with their ``name``), the tensors you asked about
light grey. Render with ``dot -Tpng graph.dot -o graph.png``.

>>> import kusari
>>> w = kusari.Parameter([1.0, 2.0], name="w")
>>> text = kusari.viz.to_dot((w * 3.0).sum())
>>> "Multiply" in text and 'label="w' in text
True
"""
import os
import tempfile

from kusari.tensor import Parameter, Tensor

PARAMETER_COLOR = "gold"
LEAF_COLOR = "lightblue"
OUTPUT_COLOR = "lightgrey"


def _escape(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _tensor_label(t, show_shapes):
    parts = []
    if t.name:
        parts.append(str(t.name))
    if show_shapes:
        parts.append(f"{t.shape} {t.dtype}")
    if not parts:
        parts.append("Parameter" if isinstance(t, Parameter) else "Tensor")
    return "\n".join(parts)


def _walk(roots):
    """Tensors and Functions reachable from ``roots`` (discovery order) and the data-flow edges between them."""
    tensors, functions, edges = {}, {}, []
    stack = []
    for r in roots:
        if id(r) not in tensors:
            tensors[id(r)] = r
            stack.append(r)
    while stack:                      # iterative: deep graphs are fine
        t = stack.pop()
        fn = t.creator
        if fn is None:
            continue
        edges.append((fn, t))
        if id(fn) in functions:
            continue
        functions[id(fn)] = fn
        for x in fn.inputs or ():     # inputs is None once backward freed the graph
            edges.append((x, fn))
            if id(x) not in tensors:
                tensors[id(x)] = x
                stack.append(x)
    return tensors, functions, edges


def to_dot(tensor_or_tensors, show_shapes=True):
    """Graphviz dot text of the graph that produced ``tensor_or_tensors`` (a Tensor or a list of them).

    After a ``backward()`` without ``retain_graph=True`` the graph is freed: only the last Functions remain.
    """
    roots = [tensor_or_tensors] if isinstance(tensor_or_tensors, Tensor) else list(tensor_or_tensors)
    for i, r in enumerate(roots):
        if not isinstance(r, Tensor):
            raise TypeError(f"to_dot(): expected Tensors, item {i} is a {type(r).__name__}")
    tensors, functions, edges = _walk(roots)
    names = {}
    lines = ["digraph kusari {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    root_ids = {id(r) for r in roots}
    for k, t in enumerate(tensors.values()):
        names[id(t)] = f"t{k}"
        attrs = [f'label="{_escape(_tensor_label(t, show_shapes))}"', "shape=ellipse"]
        if isinstance(t, Parameter):
            attrs.append(f'style=filled, fillcolor="{PARAMETER_COLOR}"')
        elif t.creator is None and t.requires_grad:
            attrs.append(f'style=filled, fillcolor="{LEAF_COLOR}"')
        elif id(t) in root_ids:
            attrs.append(f'style=filled, fillcolor="{OUTPUT_COLOR}"')
        lines.append(f"  {names[id(t)]} [{', '.join(attrs)}];")
    for k, fn in enumerate(functions.values()):
        names[id(fn)] = f"f{k}"
        label = fn.name if fn.inputs is not None else f"{fn.name}\n(freed)"
        lines.append(f'  {names[id(fn)]} [label="{_escape(label)}", shape=box];')
    for src, dst in edges:
        lines.append(f"  {names[id(src)]} -> {names[id(dst)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(path, tensor_or_tensors, show_shapes=True):
    """Write ``to_dot(...)`` to ``path`` atomically (a temporary file in the same folder, then ``os.replace``);
    returns ``path``."""
    text = to_dot(tensor_or_tensors, show_shapes=show_shapes)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".dot", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
