"""The backward engine: an iterative walk over the recorded graph in decreasing generation order.

A node runs once all gradients for its outputs have arrived (generation order guarantees that), so gradients of
tensors used many times are summed first. No recursion: a 10,000-op chain is fine.
"""
import heapq

from kusari.autograd import mode

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to use values backward already freed): "
    "{name} has released what it saved. Pass retain_graph=True to the first backward() or kusari.grad() "
    "if you need to backward through the same graph again.")


class _Target:
    __slots__ = ("tensor", "grad")

    def __init__(self, tensor):
        self.tensor, self.grad = tensor, None


def run_backward(roots, root_grads, retain_graph, create_graph, targets=None):
    """Propagate ``root_grads`` from ``roots``.

    With ``targets=None`` every leaf that requires grad gets its ``.grad`` accumulated and ``None`` is returned.
    Otherwise only what leads to ``targets`` is computed, no ``.grad`` is written, and the list of gradients for
    ``targets`` is returned (``None`` where a target got none).
    """
    Tensor = _tensor_type
    leaf_grads = {}                      # id(leaf) -> [leaf, grad]
    target_slots = None
    needed = None
    if targets is not None:
        target_slots = {}
        for t in targets:
            target_slots.setdefault(id(t), _Target(t))
        needed = _needed_nodes(roots, target_slots)
    heap, touched = [], []               # touched: Functions holding gradients (a node is queued once)
    push = heapq.heappush

    def send(t, g):
        c = t.creator
        if c is None:
            if targets is None or id(t) in target_slots:
                slot = leaf_grads.get(id(t))
                if slot is None:
                    leaf_grads[id(t)] = [t, g]
                else:
                    slot[1] = slot[1] + g
            return
        if needed is not None and id(c) not in needed and id(t) not in target_slots:
            return  # kusari.grad: this branch does not lead to any input asked for
        grads = c._grads
        if grads is None:
            if c._n_out == 1:
                c._grads = [g]
            else:
                grads = c._grads = [None] * c._n_out
                grads[t.output_index] = g
            touched.append(c)
            push(heap, (-c.generation, len(touched), c))
        else:
            i = t.output_index
            grads[i] = g if grads[i] is None else grads[i] + g

    try:
        with mode.set_grad_enabled(create_graph):
            for r, g in zip(roots, root_grads):
                send(r, g)
            pop = heapq.heappop
            while heap:
                fn = pop(heap)[2]
                gys = fn._grads
                fn._grads = None
                if fn._hooks or fn._retained or target_slots:
                    _finish_outputs(fn, gys, target_slots)
                if needed is not None and id(fn) not in needed:
                    continue
                inputs = fn.inputs
                if inputs is None:
                    raise RuntimeError(FREED_MESSAGE.format(name=fn.name))
                if fn.uses_inputs:
                    _check_versions(fn, inputs)
                if fn.uses_outputs:
                    _check_output_versions(fn)
                if fn._n_out > 1:
                    for i, g in enumerate(gys):
                        if g is None:
                            gys[i] = Tensor(_backend_zeros_like(fn._out_data[i]))
                gxs = fn.backward(*gys)
                if type(gxs) is not tuple:
                    gxs = (gxs,)
                if len(gxs) != len(inputs):
                    raise RuntimeError(f"{fn.name}.backward returned {len(gxs)} gradients for {len(inputs)} inputs")
                for t, g in zip(inputs, gxs):
                    if g is None or not t.requires_grad:
                        continue
                    if g.data.shape != t.data.shape:
                        raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {g.shape} "
                                           f"for an input of shape {t.shape}")
                    send(t, g)
                if not retain_graph:
                    fn._release()
    finally:
        for c in touched:
            c._grads = None

    if targets is not None:
        for key, (leaf, g) in leaf_grads.items():
            target_slots[key].grad = _apply_hooks(leaf._hooks, g)
        return [target_slots[id(t)].grad for t in targets]
    with mode.set_grad_enabled(create_graph):
        for leaf, g in leaf_grads.values():
            g = _apply_hooks(leaf._hooks, g)
            if leaf.grad is not None:
                leaf.grad = leaf.grad + g
            elif create_graph:
                leaf.grad = g
            else:
                # .grad owns its memory: the engine's gradients may alias each other, the seed or a read-only
                # broadcast view, and optimizers update .grad in place
                leaf.grad = _owned(g)
    return None


def _finish_outputs(fn, gys, target_slots):
    """Run hooks, fill retained ``.grad``s and capture non-leaf targets for the outputs of ``fn``."""
    if fn._hooks:
        for i, hooks in fn._hooks.items():
            if gys[i] is not None:
                gys[i] = _apply_hooks(hooks, gys[i])
    if fn._retained:
        for i, ref in fn._retained.items():
            t = ref()
            if t is not None and gys[i] is not None:
                if target_slots is None:
                    g = gys[i]
                    if t.grad is not None:
                        with mode.set_grad_enabled(False):
                            t.grad = t.grad + g.detach()
                    else:
                        t.grad = _owned(g)
    if target_slots:
        for slot in target_slots.values():
            t = slot.tensor
            if t.creator is fn and gys[t.output_index] is not None:
                slot.grad = gys[t.output_index]


def _apply_hooks(hooks, g):
    if hooks:
        for h in hooks:
            r = h(g)
            if r is not None:
                g = r
    return g


def _check_versions(fn, inputs):
    for t, v in zip(inputs, fn._versions):
        vc = t._vc
        if (0 if vc is None else vc[0]) != v:
            break
    else:
        return
    for i, (t, v) in enumerate(zip(inputs, fn._versions)):
        now = 0 if t._vc is None else t._vc[0]
        if now != v:
            raise RuntimeError(
                f"one of the tensors needed for the gradient of {fn.name} (input {i}, shape {t.shape}) was "
                f"modified in place after it was used (version {v} -> {now}); compute the gradient before "
                f"changing it, or change a copy")


def _check_output_versions(fn):
    for i, vc in enumerate(fn._out_vc):
        if vc[0] != 0:
            raise RuntimeError(
                f"output {i} of {fn.name} is needed for its gradient but was modified in place after it was "
                f"computed (version 0 -> {vc[0]}); compute the gradient before changing it, or change a copy")


def _needed_nodes(roots, target_slots):
    """ids of the nodes whose backward must run to reach ``target_slots`` from ``roots``."""
    nodes, seen, stack = [], set(), [r.creator for r in roots if r.creator is not None]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes.append(fn)
        if fn.inputs is None:
            continue
        for t in fn.inputs:
            if t.creator is not None and id(t.creator) not in seen:
                stack.append(t.creator)
    needed = set()
    for fn in sorted(nodes, key=lambda f: f.generation):
        if fn.inputs is None:
            needed.add(id(fn))  # let the main loop raise the freed-graph error if it gets here
            continue
        for t in fn.inputs:
            if t.requires_grad and (id(t) in target_slots or (t.creator is not None and id(t.creator) in needed)):
                needed.add(id(fn))
                break
    return needed


def _owned(g):
    """A graph-free Tensor with its own (writable) copy of ``g``'s values."""
    from kusari import backend
    b = backend.of(g.data) or backend.current()
    return _tensor_type(b.xp.asarray(g.data, copy=True))


_tensor_type = None


def _backend_zeros_like(a):
    from kusari import backend
    b = backend.of(a) or backend.current()
    return b.xp.zeros_like(a)
