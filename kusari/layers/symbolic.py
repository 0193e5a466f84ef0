"""Symbolic tensors for the functional API: ``x = Input((28, 28, 1)); y = Dense(10)(x)`` records a graph of layer
calls (``Node``s) without computing anything on real data.

kusari is define-by-run, so a layer called on symbolic tensors learns its output shape by running once on a tiny
batch of zeros (which also builds its weights, as Keras does at graph-construction time).
"""


class Node:
    """One call of ``layer``: the arguments (with SymbolicTensors in place) and the symbolic outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs            # flat list of SymbolicTensor
        self.inputs = [t for t in flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]

    @property
    def parent_nodes(self):
        return [t.node for t in self.inputs if t.node is not None]

    @property
    def index(self):
        """Position of this call among its layer's calls (Keras' node index)."""
        return next(i for i, n in enumerate(self.layer._inbound_nodes) if n is self)


class SymbolicTensor:
    """A placeholder with a shape (``None`` for unknown dims) and a dtype, produced by ``Input`` or a layer call."""

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype}{' name=' + self.name if self.name else ''}>"

    def __hash__(self):
        return id(self)

    def __len__(self):
        raise TypeError("a symbolic tensor has no length; use .shape")

    # Python operators record kusari.ops nodes (saved by name, like Keras' ops on KerasTensors)
    def __add__(self, other):
        return _op("add", self, other)

    def __radd__(self, other):
        return _op("add", other, self)

    def __sub__(self, other):
        return _op("subtract", self, other)

    def __rsub__(self, other):
        return _op("subtract", other, self)

    def __mul__(self, other):
        return _op("multiply", self, other)

    def __rmul__(self, other):
        return _op("multiply", other, self)

    def __truediv__(self, other):
        return _op("true_divide", self, other)

    def __rtruediv__(self, other):
        return _op("true_divide", other, self)

    def __pow__(self, other):
        return _op("power", self, other)

    def __matmul__(self, other):
        return _op("matmul", self, other)

    def __neg__(self):
        return _op("negative", self)

    def __getitem__(self, index):
        from kusari.layers.core import Lambda
        return Lambda(lambda a: a[index])(self)


def _op(name, *args):
    from kusari.layers.op_layer import OpLayer
    return OpLayer(name)(*args)


def flatten(structure):
    """Leaves of nested lists/tuples/dicts, in order."""
    if isinstance(structure, (list, tuple)):
        out = []
        for s in structure:
            out.extend(flatten(s))
        return out
    if isinstance(structure, dict):
        out = []
        for k in structure:
            out.extend(flatten(structure[k]))
        return out
    return [structure]


def map_structure(fn, structure):
    """The same nesting with ``fn`` applied to every leaf."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_symbolic(structure):
    return any(isinstance(t, SymbolicTensor) for t in flatten(structure))
