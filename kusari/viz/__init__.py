"""Visualisation: the recorded computational graph as Graphviz dot text (``to_dot``, ``write_dot``).

>>> import kusari
>>> x = kusari.tensor([1.0, 2.0], requires_grad=True)
>>> print(kusari.viz.to_dot((x * x).sum()).splitlines()[0])
digraph kusari {
"""
from kusari.viz.graph import to_dot, write_dot

__all__ = ["to_dot", "write_dot"]
