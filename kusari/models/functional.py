"""Functional models: a graph of layer calls from symbolic ``Input``s to outputs.

>>> import kusari
>>> from kusari import layers
>>> inp = kusari.Input((4,))
>>> hidden = layers.Dense(8, activation="relu", name="features")(inp)
>>> model = kusari.Model(inp, layers.Dense(2)(hidden))
>>> features = kusari.Model(model.input, model.get_layer("features").output)   # shares weights
>>> features(kusari.ops.ones((1, 4))).shape
(1, 8)
"""
from kusari.layers.input_layer import InputLayer
from kusari.layers.symbolic import SymbolicTensor, flatten, map_structure
from kusari.models.model import Model


class Functional(Model):
    """What ``kusari.Model(inputs, outputs)`` builds: a graph of layer calls, replayed on real tensors.

    >>> import kusari
    >>> a, b = kusari.Input((2,)), kusari.Input((3,))
    >>> merged = kusari.layers.concatenate([a, b])
    >>> model = kusari.Model([a, b], [kusari.layers.Dense(1)(merged), merged])
    >>> [y.shape for y in model([kusari.ops.ones((5, 2)), kusari.ops.ones((5, 3))])]
    [(5, 1), (5, 5)]
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        for what, struct in (("inputs", inputs), ("outputs", outputs)):
            for t in flatten(struct):
                if not isinstance(t, SymbolicTensor):
                    raise TypeError(f"Model({what}=...) must be symbolic tensors from kusari.Input and layer calls, "
                                    f"got {type(t).__name__}")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = flatten(inputs)
        self._flat_outputs = flatten(outputs)
        self._nodes = _topological_nodes(self._flat_outputs)
        input_ids = {id(t) for t in self._flat_inputs}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs[0]) not in input_ids:
                users = [n.layer.name for n in self._nodes if any(t is node.outputs[0] for t in n.inputs)]
                raise ValueError(f"graph disconnected: input {node.layer.name!r} is needed by layer(s) "
                                 f"{users} but is not among the model's inputs")
        for layer in _keras_layer_order(self._flat_inputs, self._flat_outputs, self._nodes):
            self._track(layer)
        self.built = True

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._flat_inputs)

    @property
    def outputs(self):
        return list(self._flat_outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self):
        return [t.node.layer.name for t in self._flat_inputs]

    @property
    def output_names(self):
        return [t.node.layer.name for t in self._flat_outputs]

    def call(self, inputs, training=None, mask=None):
        given = self._match_inputs(inputs)
        values = {id(sym): v for sym, v in zip(self._flat_inputs, given)}

        def lookup(t):
            return values[id(t)] if isinstance(t, SymbolicTensor) else t

        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = map_structure(lookup, node.args)
            kwargs = map_structure(lookup, node.kwargs)
            out = node.layer(*args, **kwargs)
            for sym, o in zip(node.outputs, flatten(out)):
                values[id(sym)] = o
        return map_structure(lookup, self._outputs_struct)

    def _match_inputs(self, inputs):
        n = len(self._flat_inputs)
        if isinstance(inputs, dict) and not isinstance(self._inputs_struct, dict):
            names = self.input_names
            missing = [k for k in names if k not in inputs]
            if missing:
                raise ValueError(f"{self.name}: inputs dict lacks {missing}; the model's inputs are {names}")
            return [inputs[k] for k in names]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
        flat = [adjust_rank(v, sym.shape) for v, sym in zip(flat, self._flat_inputs)] if len(flat) == n else flat
        if len(flat) != n:
            raise ValueError(f"{self.name}: expected {n} input(s) ({', '.join(self.input_names)}), got {len(flat)}")
        for sym, v in zip(self._flat_inputs, flat):
            shape = getattr(v, "shape", None)
            if shape is not None and len(shape) == len(sym.shape):
                for d_expected, d in zip(sym.shape[1:], tuple(shape)[1:]):
                    if d_expected is not None and d_expected != d:
                        raise ValueError(f"{self.name}: input {sym.node.layer.name!r} expects shape {sym.shape}, "
                                         f"got {tuple(shape)}")
            elif shape is not None and len(shape) != len(sym.shape):
                raise ValueError(f"{self.name}: input {sym.node.layer.name!r} expects shape {sym.shape} "
                                 f"(rank {len(sym.shape)}), got {tuple(shape)} (rank {len(shape)})")
        return flat

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}


def adjust_rank(x, expected):
    """Keras 3's convenience: a missing trailing 1-dim is added ((n, 28, 28) for (None, 28, 28, 1)), an extra
    trailing 1-dim is dropped."""
    shape = getattr(x, "shape", None)
    if shape is None:
        return x
    from kusari import ops
    if len(shape) == len(expected) - 1 and expected[-1] == 1:
        return ops.expand_dims(x, -1)
    if len(shape) == len(expected) + 1 and shape[-1] == 1:
        return ops.squeeze(x, -1)
    return x


def _keras_layer_order(inputs, outputs, nodes):
    """The model's layers in Keras 3's order (``keras.src.ops.function.map_graph``), which fixes the order of
    ``model.layers`` and so of ``get_weights``: by decreasing depth (distance from the outputs), ties by the first
    visit of a depth-first walk from the outputs. Input layers come first."""
    first_visit, seen, stack = {}, set(), [t.node for t in reversed(outputs)]
    while stack:      # iterative preorder, children in order: the order Keras' recursive walk sees layers in
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        first_visit.setdefault(id(node.layer), len(first_visit))
        stack.extend(reversed(node.parent_nodes))
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        layers[id(node.layer)] = node.layer
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        layer = t.node.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], first_visit[id(layer)], layers[id(layer)] = 0, -1, layer
    order = sorted(layers, key=lambda k: (-layer_depth[k], first_visit.get(k, len(first_visit))))
    return [layers[k] for k in order]


def _topological_nodes(outputs):
    """Nodes that produce ``outputs``, each after the nodes it depends on (iterative DFS)."""
    order, done, stack = [], set(), [(t.node, False) for t in reversed(outputs)]
    in_progress = set()
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            in_progress.discard(id(node))
            done.add(id(node))
            order.append(node)
            continue
        in_progress.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parent_nodes):
            if id(parent) not in done:
                stack.append((parent, False))
    return order
