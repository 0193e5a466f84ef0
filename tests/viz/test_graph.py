"""kusari.viz.to_dot / write_dot: the recorded graph as Graphviz dot text."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import kusari
from kusari.viz import to_dot, write_dot

NODE = re.compile(r"^\s*(\w+) \[(.*)\];$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")
LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{node: attribute text}, [(src, dst)] from dot text written by to_dot."""
    nodes, edges = {}, []
    lines = text.strip().splitlines()
    assert lines[0] == "digraph kusari {" and lines[-1] == "}"
    for line in lines[1:-1]:
        m = EDGE.match(line)
        if m:
            edges.append(m.groups())
            continue
        m = NODE.match(line)
        if m and m.group(1) != "node":
            nodes[m.group(1)] = m.group(2)
    return nodes, edges


def label(attrs):
    return LABEL.search(attrs).group(1)


def small_graph():
    w = kusari.Parameter(np.ones((3, 2), np.float32), name="w")
    x = kusari.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    h = kusari.ops.matmul(x, w)          # (4, 2)
    y = (h + 1.0).sum()
    return w, x, h, y


def by_label(nodes, text):
    return [n for n, a in nodes.items() if text in label(a)]


def test_node_and_edge_counts_of_a_known_graph():
    w, x, h, y = small_graph()
    nodes, edges = parse(to_dot(y))
    functions = {n: label(a) for n, a in nodes.items() if "shape=box" in a}
    tensors = {n: a for n, a in nodes.items() if "shape=box" not in a}
    assert sorted(functions.values()) == ["Add", "MatMul", "Sum"]
    assert len(tensors) == 6                     # x, w, h, 1.0, h + 1, y
    assert len(edges) == 8                       # 2 + 1 inputs in, one out per Function, ... see below
    src_dst = {(nodes[s], nodes[d]) for s, d in edges}
    assert len(src_dst) == 8
    # data flows input -> Function -> output
    fn_of = {v: k for k, v in functions.items()}
    assert sum(1 for s, d in edges if d == fn_of["MatMul"]) == 2
    assert sum(1 for s, d in edges if s == fn_of["MatMul"]) == 1
    assert sum(1 for s, d in edges if d == fn_of["Add"]) == 2
    (out,) = [d for s, d in edges if s == fn_of["Sum"]]
    assert "() float32" in label(nodes[out])
    assert not any(s == out for s, d in edges)   # the output is a sink


def test_labels_show_shapes_dtypes_and_names():
    w, x, h, y = small_graph()
    text = to_dot(y)
    nodes, _ = parse(text)
    labels = [label(a) for a in nodes.values()]
    assert "w\\n(3, 2) float32" in labels
    assert "(4, 3) float32" in labels and "(4, 2) float32" in labels
    plain = to_dot(y, show_shapes=False)
    assert "(4, 3)" not in plain and "float32" not in plain and 'label="w"' in plain


def test_parameters_and_grad_leaves_are_highlighted():
    w, x, h, y = small_graph()
    nodes, _ = parse(to_dot(y))
    (wn,) = by_label(nodes, "w\\n")
    (xn,) = by_label(nodes, "(4, 3)")
    hidden = by_label(nodes, "(4, 2)")            # h and h + 1.0
    assert "style=filled" in nodes[wn] and "style=filled" in nodes[xn]
    color = re.compile(r'fillcolor="(\w+)"')
    assert color.search(nodes[wn]).group(1) != color.search(nodes[xn]).group(1)   # Parameter vs leaf
    assert len(hidden) == 2 and all("filled" not in nodes[n] for n in hidden)
    const = [n for n, a in nodes.items() if "() float32" in label(a) and "filled" not in a]
    assert len(const) == 1                       # the constant 1.0 is not highlighted (the root is)


def test_tensor_used_twice_is_one_node_with_two_edges():
    x = kusari.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    nodes, edges = parse(to_dot(y))
    assert len(nodes) == 3 and len(edges) == 3
    (xn,) = [n for n, a in nodes.items() if "lightblue" in a]
    assert sum(1 for s, d in edges if s == xn) == 2


def test_several_roots_and_a_leaf_root():
    x = kusari.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2.0
    b = a + 1.0
    nodes, edges = parse(to_dot([a, b]))
    assert len([n for n, v in nodes.items() if "shape=box" in v]) == 2
    nodes, edges = parse(to_dot(x))
    assert len(nodes) == 1 and edges == []
    with pytest.raises(TypeError, match="to_dot"):
        to_dot([x, 3])


def test_works_after_backward_with_retain_graph():
    w, x, h, y = small_graph()
    before = to_dot(y)
    y.backward(retain_graph=True)
    assert to_dot(y) == before
    y.backward()                                  # freed: only the last node is left, marked as such
    nodes, edges = parse(to_dot(y))
    assert any("(freed)" in label(a) for a in nodes.values())


def test_deep_graph_does_not_recurse():
    x = kusari.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    nodes, edges = parse(to_dot(y))
    assert sum(1 for a in nodes.values() if "shape=box" in a) == 3000


def test_names_are_escaped():
    x = kusari.tensor([1.0], requires_grad=True)
    x.name = 'a "quoted" \\ name'
    text = to_dot(x * 2.0)
    nodes, _ = parse(text)
    assert any('a \\"quoted\\" \\\\ name' in label(a) for a in nodes.values())


def test_write_dot_is_atomic_and_complete(tmp_path):
    w, x, h, y = small_graph()
    path = tmp_path / "g.dot"
    path.write_text("old")
    assert write_dot(path, y) == str(path)
    assert path.read_text() == to_dot(y)
    assert sorted(os.listdir(tmp_path)) == ["g.dot"]   # no temporary left behind


def test_write_dot_failure_leaves_old_file(tmp_path):
    path = tmp_path / "g.dot"
    path.write_text("old")
    with pytest.raises(TypeError):
        write_dot(path, [3])
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["g.dot"]


def test_lazy_attribute():
    assert kusari.viz.to_dot is to_dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' binary not installed")
def test_dot_binary_accepts_the_text(tmp_path):
    w, x, h, y = small_graph()
    path = write_dot(tmp_path / "g.dot", y)
    r = subprocess.run(["dot", "-Tsvg", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "<svg" in r.stdout and "MatMul" in r.stdout
