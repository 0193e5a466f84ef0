"""``compile(jit_compile=True)`` on a backend that can compile (JAX): the train step as one compiled pure function.

kusari's own forward, loss, backward, optimizer update and metric updates run once under ``jax.jit``'s tracer: the
enumerable state (model weights, metric variables, random-generator keys, the optimizer's variables) is swapped in as
traced arrays, the step runs as in eager mode, and the new state comes out as outputs; each later step with the same
batch shapes reuses the compiled function. The logs come back as backend arrays: ``fit`` converts them to Python
floats only where they are read (see ``CallbackList``), so steps are dispatched without waiting for each other.

Every built-in optimizer (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Lion) is traced with a float
learning rate or a built-in ``LearningRateSchedule``, with weight decay, ``clipnorm`` / ``clipvalue`` /
``global_clipnorm``, ``gradient_accumulation_steps`` and EMA: its step-dependent numbers (bias corrections, the
schedule's value, clipping norms) are backend ops on the traced ``iterations`` (float64, cast like the eager Python
floats), and the per-step branches of accumulation and EMA overwriting compute both sides and ``where``-select by the
traced step. ``iterations += 1`` happens inside the compiled function. Kept eager (``optimizer._can_trace_update()``
is False): a callable learning rate (a closure may read anything, and tracing it would freeze its value), a custom
schedule class, and optimizer subclasses defined outside ``kusari.optimizers`` that override part of the update; for
those the compiled function returns the gradients and the optimizer applies them eagerly
(``eager_optimizer_calls`` counts those calls).

The first step runs eagerly (it builds the optimizer's slots and the metrics' variables). The state is enumerated
again at each epoch (``refresh``; ``fit`` calls it) and when the optimizer's variables or learning-rate object
change; a different set of tensors or of trainable weights traces the step again. Python control flow that depends
on tensor values cannot be traced: the step then falls back to eager for good, with one warning naming the reason.
"""
import warnings

from kusari import backend as _backend

__all__ = ["train_step", "refresh"]


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


def refresh(model):
    """Have the compiled step enumerate the model's state again before its next call (``fit`` does so each epoch,
    so weights made trainable or frozen between epochs are seen); a no-op without one."""
    step = getattr(model, "_kusari_jit_step", None)
    if step is not None:
        step.refresh()


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
        self.tensors = self.gens = self.weights = None
        self._signature = self._state_ids = None

    def refresh(self):
        """Enumerate the state again at the next step (``fit`` calls this each epoch): a retrace follows only if
        the swapped tensors, the generators or the trainable weights changed."""
        self._signature = None

    def _cheap_signature(self):
        """What can change the state between two steps without a new epoch: the optimizer's traceability, its
        variables and learning-rate object, the global random generator."""
        import kusari.random as R
        opt = self.model.optimizer
        traced = bool(opt.built and opt._can_trace_update())
        return traced, len(opt.variables), id(opt._learning_rate), id(R._global)

    def _enumerate_state(self, traced_update):
        m = self.model
        tensors, seen = [], set()
        opt_vars = list(m.optimizer.variables) if traced_update else []
        for t in list(m.weights) + [v for metric in m.metrics for v in metric.variables] + opt_vars:
            if id(t) not in seen:
                seen.add(id(t))
                tensors.append(t)
        self.tensors, self.gens, self.weights = tensors, _seed_generators(m), m.trainable_weights
        state_ids = [[id(t) for t in tensors], [id(g) for g in self.gens], [id(w) for w in self.weights]]
        if traced_update != self.traced_update or state_ids != self._state_ids:
            # first compiled step, or the optimizer's settings or the state changed: the compiled function closes
            # over the tensors it swaps (and bakes in which weights train), so trace it again
            self.compiled = None
            self.traced_update = traced_update
            self._state_ids = state_ids

    def __call__(self, data):
        m = self.model
        b = _backend.current()
        self.steps += 1
        if self.eager or self.steps == 1:
            return m.train_step(data)
        signature = self._cheap_signature()
        if signature != self._signature:
            self._enumerate_state(signature[0])
            self._signature = signature
        tensors, gens = self.tensors, self.gens
        if self.compiled is None:
            self.compiled = b.jit(self._pure_step(data))
        state = [t.data for t in tensors]
        keys = [g.generator.key for g in gens]
        data_arrays = [t.data for t in _leaves(data)]
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
            m.optimizer.apply([None if g is None else Tensor._wrap(g) for g in grads], self.weights)
        return {k: Tensor._wrap(v) for k, v in zip(self.log_keys, log_vals)}

    def _pure_step(self, data):
        """The train step as a pure function ``(state, keys, data arrays) -> (new state, new keys, gradients (when
        the update stays eager), log values)``, for the tensors enumerated now; ``data`` gives the batch's
        structure."""
        m = self.model
        tensors, gens, traced_update = self.tensors, self.gens, self.traced_update

        def pure(state, keys, data_arrays):
            self.traces += 1
            saved = [t.data for t in tensors]
            saved_keys = [g.generator.key for g in gens]
            opt = m.optimizer
            own_apply = vars(opt).get("apply")        # an instance-level override, restored below
            captured = {}
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
                self.log_keys = list(logs)        # set while tracing; compiled calls reuse the trace's keys
                log_vals = [getattr(logs[k], "data", logs[k]) for k in self.log_keys]
                return [t.data for t in tensors], [g.generator.key for g in gens], grads, log_vals
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
        return pure
