"""``compile(jit_compile=True)`` on a backend that can compile (JAX): the train step as one compiled pure function.

kusari's own forward, loss, backward and metric updates run once under ``jax.jit``'s tracer: the enumerable state
(model weights, metric variables, random-generator keys and, where the optimizer can be traced, its variables) is
swapped in as traced arrays, the step runs as in eager mode, and the new state comes out as outputs; each later step
with the same batch shapes reuses the compiled function.

The optimizer update is part of the compiled function when ``optimizer._can_trace_update()`` (``Adam``/``AdamW`` and
``SGD`` with a float learning rate, no gradient accumulation, EMA or clipping): traced, they compute their
step-dependent scalars (Adam's bias correction) from the ``iterations`` variable with backend ops instead of as
Python floats, and ``iterations`` is incremented inside the compiled function. Other optimizers get the gradients
the compiled function returns and apply them eagerly (``eager_optimizer_calls`` counts those calls).

The first step runs eagerly (it builds the optimizer's slots and the metrics' variables). Python control flow that
depends on tensor values cannot be traced: the step then falls back to eager for good, with one warning naming the
reason.
"""
import warnings

from kusari import backend as _backend

__all__ = ["train_step"]


def train_step(model, data):
    """``model.train_step(data)``, compiled when ``model.jit_compile is True`` and the backend can compile."""
    if getattr(model, "jit_compile", None) is not True or getattr(model, "run_eagerly", False):
        return model.train_step(data)
    b = _backend.current()
    if not getattr(b, "supports_jit", False):
        return model.train_step(data)
    step = getattr(model, "_kusari_jit_step", None)
    if step is None or step.optimizer is not model.optimizer:
        step = model._kusari_jit_step = _CompiledTrainStep(model)
    return step(data)


def _leaves(x):
    from kusari.tensor import Tensor
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, dict):
        return [leaf for k in x for leaf in _leaves(x[k])]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    return []


def _rebuild(x, arrays):
    from kusari.tensor import Tensor
    if isinstance(x, Tensor):
        return Tensor._wrap(next(arrays))
    if isinstance(x, dict):
        return {k: _rebuild(v, arrays) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_rebuild(v, arrays) for v in x)
    return x


def _seed_generators(model):
    from kusari.random import SeedGenerator
    gens, seen = [], set()
    for layer in model._flatten_layers(include_self=True):
        for v in vars(layer).values():
            if isinstance(v, SeedGenerator) and id(v) not in seen:
                seen.add(id(v))
                gens.append(v)
    import kusari.random as R
    if R._global is not None and id(R._global) not in seen:
        gens.append(R._global)
    return [g for g in gens if hasattr(g.generator, "key")]


class _CompiledTrainStep:
    def __init__(self, model):
        self.model = model
        self.optimizer = model.optimizer
        self.steps = 0
        self.eager = False
        self.compiled = None
        self.traces = 0
        self.log_keys = []
        self.traced_update = None          # whether the optimizer update is inside the compiled function
        self.eager_optimizer_calls = 0     # optimizer updates applied eagerly after a compiled call

    def _state(self, traced_update):
        m = self.model
        tensors, seen = [], set()
        opt_vars = list(m.optimizer.variables) if traced_update else []
        for t in list(m.weights) + [v for metric in m.metrics for v in metric.variables] + opt_vars:
            if id(t) not in seen:
                seen.add(id(t))
                tensors.append(t)
        return tensors, _seed_generators(m)

    def __call__(self, data):
        m = self.model
        b = _backend.current()
        self.steps += 1
        if self.eager or self.steps == 1:
            return m.train_step(data)
        opt = m.optimizer
        traced_update = bool(opt.built and getattr(opt, "_can_trace_update", lambda: False)())
        if traced_update != self.traced_update:        # first compiled step, or the optimizer's settings changed
            self.compiled = None
            self.traced_update = traced_update
        tensors, gens = self._state(traced_update)
        weights = m.trainable_weights
        state = [t.data for t in tensors]
        keys = [g.generator.key for g in gens]
        data_leaves = _leaves(data)
        data_arrays = [t.data for t in data_leaves]
        captured = {}

        def pure(state, keys, data_arrays):
            self.traces += 1
            saved = [t.data for t in tensors]
            saved_keys = [g.generator.key for g in gens]
            opt = m.optimizer
            own_apply = vars(opt).get("apply")        # an instance-level override, restored below
            try:
                for t, a in zip(tensors, state):
                    t.data = a
                for g, k in zip(gens, keys):
                    g.generator.key = k
                traced_data = _rebuild(data, iter(data_arrays))

                def capture(grads, variables=None):
                    captured["grads"] = grads
                if not traced_update:
                    opt.apply = capture
                logs = m.train_step(traced_data)
                grads = captured.pop("grads", None)
                grads = [None if g is None else getattr(g, "data", g) for g in (grads or [])]
                log_keys = list(logs)
                captured["log_keys"] = log_keys
                log_vals = [getattr(logs[k], "data", logs[k]) for k in log_keys]
                return ([t.data for t in tensors], [g.generator.key for g in gens], grads, log_vals)
            finally:
                if not traced_update:
                    if own_apply is None:
                        del opt.apply
                    else:
                        opt.apply = own_apply
                for t, a in zip(tensors, saved):
                    t.data = a
                for g, k in zip(gens, saved_keys):
                    g.generator.key = k

        if self.compiled is None:
            self.compiled = b.jit(pure)
        try:
            new_state, new_keys, grads, log_vals = self.compiled(state, keys, data_arrays)
        except b.jit_errors as e:
            self.eager = True
            self.fallback_error = e
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            warnings.warn(f"jit_compile=True: the train step cannot be compiled ({type(e).__name__}: {first_line}); "
                          "Python control flow or .item()/float() on tensor values needs concrete numbers. "
                          "Running it eagerly from now on.", RuntimeWarning, stacklevel=3)
            return m.train_step(data)
        for t, a in zip(tensors, new_state):
            t.data = a
            t._bump()
        for g, k in zip(gens, new_keys):
            g.generator.key = k
        from kusari.tensor import Tensor
        if grads:
            self.eager_optimizer_calls += 1
            m.optimizer.apply([None if g is None else Tensor._wrap(g) for g in grads], weights)
        if "log_keys" in captured:       # set while tracing; a cached call reuses the last trace's keys
            self.log_keys = captured["log_keys"]
        return {k: Tensor._wrap(v) for k, v in zip(self.log_keys, log_vals)}
