"""``Optimizer``: the Keras 3 optimizer base (state, clipping, weight decay, schedules, EMA, accumulation).

All state is a list of ``Parameter``s (``optimizer.variables``: the step counter, the learning rate when it is a
float, then the slots, in creation order), so copying their values into a fresh optimizer built on the same model
variables resumes training exactly. State changes only through ``Parameter.assign`` or a fused backend kernel
(``Backend.adam_update`` …); a backend without the kernel gets the generic ``assign`` path written here.

>>> import kusari
>>> from kusari.optimizers import SGD
>>> w = kusari.Parameter([1.0, 2.0], name="w")
>>> opt = SGD(learning_rate=0.1)
>>> opt.apply([kusari.tensor([1.0, -1.0])], [w])
>>> [round(x, 6) for x in w.tolist()], int(opt.iterations)
([0.9, 2.1], 1)
"""
import re
import warnings

from kusari import config
from kusari.autograd.mode import no_grad
from kusari.backend.base import Backend
from kusari.optimizers import schedules as _schedules
from kusari.tensor import Parameter, Tensor

_NAME_UIDS = {}


def _auto_name(class_name):
    """Keras' ``auto_name``: snake_case, then ``adam``, ``adam_1``, ``adam_2`` …"""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    n = _NAME_UIDS.get(name, 0)
    _NAME_UIDS[name] = n + 1
    return name if n == 0 else f"{name}_{n}"


def _as_array(g):
    if isinstance(g, Tensor):
        return g.data
    return Tensor(g).data


class Optimizer:
    """Base class of all optimizers (Keras 3 ``keras.optimizers.Optimizer``).

    A subclass creates its slots in ``build(variables)`` (``add_optimizer_variables``) and updates one variable in
    ``update_step(gradient, variable, learning_rate)`` with ``self.assign`` / ``assign_add`` / ``assign_sub``.

    >>> import kusari
    >>> from kusari import ops
    >>> from kusari.optimizers import Optimizer
    >>> class PlainSGD(Optimizer):
    ...     def __init__(self, learning_rate=0.1, **kwargs):
    ...         super().__init__(learning_rate=learning_rate, **kwargs)
    ...     def update_step(self, gradient, variable, learning_rate):
    ...         self.assign_sub(variable, ops.multiply(gradient, learning_rate))
    >>> w = kusari.Parameter([1.0], name="w")
    >>> PlainSGD().apply([kusari.tensor([2.0])], [w])
    >>> w.tolist()
    [0.800000011920929]
    """

    # Keras' defaults; subclasses give their own learning_rate default
    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        self._lock = False
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name if name is not None else _auto_name(self.__class__.__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps:
            if not gradient_accumulation_steps >= 2:
                raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                                 f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._use_fused = True          # False forces the generic assign path (tests compare the two)
        self._iterations = self._make_variable(0, "int64", "iteration")
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            self._learning_rate = self._make_variable(self._check_lr(learning_rate), config.floatx(),
                                                      "learning_rate")

    @staticmethod
    def _check_lr(learning_rate):
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)):
            if isinstance(learning_rate, Tensor) and learning_rate.size == 1:
                return float(learning_rate)
            raise ValueError("Argument `learning_rate` should be float, or an instance of LearningRateSchedule, "
                             "or a callable (that takes in the current iteration value and returns the "
                             f"corresponding learning rate value). Received instead: learning_rate={learning_rate}")
        return float(learning_rate)

    # -- variables ---------------------------------------------------------------------------------
    def _make_variable(self, value, dtype, name):
        v = Parameter(value, dtype=dtype, trainable=False, name=name)
        v.path = f"{self.name}/{name}"
        self._variables.append(v)
        return v

    @property
    def variables(self):
        """All optimizer state in a stable order: iterations, learning rate (if a float), then the slots."""
        return self._variables[:]

    @property
    def iterations(self):
        """The step counter (an int64 ``Parameter``); with gradient accumulation, the number of real updates."""
        if self.gradient_accumulation_steps:
            return Tensor(self._iterations.data // self.gradient_accumulation_steps)
        return self._iterations

    def _step_count(self):
        n = int(self._iterations.item())
        if self.gradient_accumulation_steps:
            n //= self.gradient_accumulation_steps
        return n

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None, name=None):
        """A new optimizer variable (non-trainable ``Parameter``) tracked in ``variables``. ``initializer`` is
        ``"zeros"``, ``"ones"``, a number, or a callable ``(shape, dtype) -> array-like``."""
        from kusari import backend as _backend
        dtype = dtype or config.floatx()
        b = _backend.current()
        if callable(initializer):
            value = initializer(tuple(shape), dtype)
        elif initializer == "zeros":
            value = b.zeros(tuple(shape), dtype)
        elif initializer == "ones":
            value = b.ones(tuple(shape), dtype)
        elif isinstance(initializer, (int, float)):
            value = b.full(tuple(shape), initializer, dtype)
        else:
            raise ValueError(f"add_variable: unknown initializer {initializer!r}; use 'zeros', 'ones', a number "
                             "or a callable (shape, dtype) -> array")
        v = Parameter(value, dtype=dtype, trainable=False, name=name)
        v.path = f"{self.name}/{name}"
        self._variables.append(v)
        return v

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A slot shaped like ``reference_variable``, named ``{reference_variable.path}_{name}`` ('/' -> '_')."""
        name = name or "var"
        ref = getattr(reference_variable, "path", None) or getattr(reference_variable, "name", None)
        if ref is None:
            ref = f"variable_{len(self._variables)}"
        name = f"{str(ref).replace('/', '_').replace(':', '_')}_{name}"
        b = reference_variable.backend
        shape, dtype = reference_variable.shape, reference_variable.dtype
        if isinstance(initializer, (int, float)) and not isinstance(initializer, bool):
            value = b.full(shape, initializer, dtype)
        elif initializer == "zeros":
            value = b.zeros(shape, dtype)
        else:
            return self.add_variable(shape, initializer=initializer, dtype=dtype, name=name)
        v = Parameter(value, trainable=False, name=name)
        v.path = f"{self.name}/{name}"
        self._variables.append(v)
        return v

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable for each name; a list for one name, a tuple of lists for several (created
        interleaved per variable, as Keras does)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = [initializer] * len(names) if isinstance(initializer, (str, int, float)) or callable(initializer) \
            else list(initializer)
        if len(names) != len(inits):
            raise ValueError("The number of provided names must match the number of provided initializers.  "
                             f"Received name='{name}', initializer='{initializer}'")
        out = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                out[i].append(self.add_variable_from_reference(variable, name=n, initializer=init))
        return out[0] if isinstance(name, str) else out

    def build(self, variables):
        """Create the slots for ``variables`` (called by the first ``apply`` if you don't)."""
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = []
        for i, variable in enumerate(variables):
            self._trainable_variables_indices[id(variable)] = i
            if self.gradient_accumulation_steps:
                self._accumulated_gradients.append(
                    self.add_variable_from_reference(variable, name="gradient_accumulator"))
        self._trainable_variables = variables[:]
        self.built = True

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[id(variable)]

    def _check_variables_are_known(self, variables):
        for v in variables:
            if id(v) not in self._trainable_variables_indices:
                raise ValueError(f"Unknown variable: {getattr(v, 'path', None) or v!r}. This optimizer can only be "
                                 "called for the variables it was originally built with. When working with a new "
                                 "set of variables, you should recreate a new optimizer instance.")

    def set_weights(self, weights):
        """Set every optimizer variable (same order as ``variables``)."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                             "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        for variable, weight in zip(self._variables, weights):
            if tuple(variable.shape) != tuple(getattr(weight, "shape", ())):
                raise ValueError(f"Optimizer variable {variable.path} has shape {variable.shape} not compatible "
                                 f"with provided weight shape {tuple(weight.shape)}.")
            variable.assign(weight)

    def save_own_variables(self, store):
        for i, variable in enumerate(self.variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self.variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has {len(self.variables)} "
                   f"variables whereas the saved optimizer has {len(store.keys())} variables. ")
            if len(self.variables) == 0:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        for i, variable in enumerate(self.variables):
            variable.assign(store[str(i)])

    # -- updates as Keras spells them (custom update_step implementations use these) ----------------
    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        variable.assign_sub(value)

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError

    # -- learning rate -----------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate: the ``Parameter`` holding it (so ``.assign`` works), or a schedule's value at
        ``iterations``. Settable to a number (assigned) or to a schedule."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return lr(self._iterations)
        if isinstance(lr, Parameter):
            return lr
        if callable(lr):
            return lr()
        return lr

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        prev = self._learning_rate if isinstance(self._learning_rate, Parameter) else None
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate) \
                and not isinstance(learning_rate, Tensor):
            self._learning_rate = learning_rate
            if prev is not None:
                self._variables = [v for v in self._variables if v is not prev]
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable. If you "
                            "need the learning rate to be settable, you should instantiate the optimizer with a "
                            "float `learning_rate` argument.")
        if prev is None:   # was a plain callable: hold numbers in a variable again (after iterations)
            v = Parameter(float(learning_rate), dtype=config.floatx(), trainable=False, name="learning_rate")
            v.path = f"{self.name}/learning_rate"
            self._variables.insert(1, v)
            self._learning_rate = v
        else:
            prev.assign(float(learning_rate))

    def _current_lr(self):
        """The learning rate for this step as a Python float (float32-rounded like the variable); while the update
        is traced by a compiler (``jit_compile=True``), a backend array instead: the variable's traced array, or the
        schedule evaluated at the traced ``iterations``."""
        if self._traced():
            lr = self.learning_rate
            return lr.data if isinstance(lr, Tensor) else lr
        return float(self.learning_rate)

    # -- tracing (compile(jit_compile=True) on a backend that compiles) ------------------------------
    def _traced(self):
        """True while ``iterations`` holds a placeholder of a tracing compiler (``jax.jit``): the update is being
        compiled, so step-dependent scalars are computed with backend ops on ``iterations`` instead of as Python
        floats (the eager path is unchanged)."""
        it = self._iterations
        return not it.backend.is_concrete(it.data)

    def _step_index(self):
        """The number of updates done so far (``_step_count()``): an int eagerly, an int64 array while traced."""
        if not self._traced():
            return self._step_count()
        n = self._iterations.data
        return n // self.gradient_accumulation_steps if self.gradient_accumulation_steps else n

    def _traced_step(self):
        """``_step_index() + 1`` as a float64 backend array (the traced counterpart of ``_step_count() + 1``)."""
        return self._iterations.backend.cast(self._step_index(), "float64") + 1.0

    @staticmethod
    def _scalar(value, variable):
        """A step-dependent scalar for an update of ``variable``: a Python float as is (array ops round it to the
        variable's dtype), a traced float64 array cast to that dtype (the same rounding)."""
        if isinstance(value, (int, float)):
            return value
        return variable.backend.cast(value, variable.dtype)

    def _can_trace_update(self):
        """Whether ``apply`` can run under a tracing compiler, so ``kusari/training/jit.py`` compiles the update
        into the train step: True for the built-in optimizers and update rules (their step-dependent numbers —
        bias corrections, the schedule, clipping norms, accumulation and EMA selects — are backend ops on the traced
        ``iterations``) with a float learning rate or a built-in schedule. A callable learning rate (it may read
        anything), a custom schedule, or a subclass that overrides part of the update keeps the update eager."""
        lr = self._learning_rate
        if not (isinstance(lr, Parameter) or _schedules.is_builtin(lr)):
            return False
        cls = type(self)
        if cls not in _BUILTIN_UPDATE:
            _BUILTIN_UPDATE[cls] = not any(any(n in klass.__dict__ for n in _UPDATE_METHODS) for klass in cls.__mro__
                                           if not klass.__module__.startswith("kusari.optimizers."))
        return _BUILTIN_UPDATE[cls]

    # -- weight decay ------------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables (``var_list``) or any whose name contains one of ``var_names`` from weight decay."""
        self._exclude_from_weight_decay = set(id(v) for v in var_list) if var_list else set()
        if var_names and len(var_names) > 0:
            self._exclude_from_weight_decay_pattern = re.compile("|".join(set(var_names)))
        else:
            self._exclude_from_weight_decay_pattern = None
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable):
        cache = self.__dict__.setdefault("_exclude_from_weight_decay_cache", {})
        key = id(variable)
        if key in cache:
            return cache[key]
        use = True
        if key in getattr(self, "_exclude_from_weight_decay", set()):
            use = False
        pattern = getattr(self, "_exclude_from_weight_decay_pattern", None)
        if use and pattern is not None and re.search(pattern, str(variable.name or "")) is not None:
            use = False
        cache[key] = use
        return use

    def _apply_weight_decay(self, variables, lr):
        if self.weight_decay is None:
            return
        wd = self.weight_decay
        for variable in variables:
            if self._use_weight_decay(variable):
                p = variable.data
                variable.assign(p - p * wd * lr)

    # -- clipping (on arrays; always new arrays, never the caller's in place; array ops only, no host sync, so
    # it also runs traced) --------------------------------------------------------------------------
    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            out = []
            for g in grads:
                xp = _xp(g)
                norm = xp.sqrt(xp.sum(g * g))
                out.append((g * self.clipnorm) / xp.maximum(norm, self.clipnorm))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            b = _backend_of(grads[0])
            xp = b.xp
            total = None              # float64, like Python floats: the sum of the per-tensor float32 sums
            for g in grads:
                sq = b.cast(xp.sum(g * g), "float64")
                total = sq if total is None else total + sq
            # clip_norm / max(norm, clip_norm): 1 below the threshold; a NaN norm makes every gradient NaN (Keras)
            scale = self.global_clipnorm / xp.maximum(xp.sqrt(total), self.global_clipnorm)
            return [g * b.cast(scale, b.dtype_name(g.dtype)) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            v = self.clipvalue
            return [_xp(g).clip(g, -v, v) for g in grads]
        return grads

    # -- the step ----------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """``apply`` for a list of ``(gradient, variable)`` pairs; returns ``iterations``."""
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            return self._iterations
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(grads, trainable_variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Update ``trainable_variables`` (default: those the optimizer was built with) with ``grads``.

        ``None`` gradients and variables with ``trainable=False`` are skipped; the first call builds the slots.
        The gradients themselves are never modified."""
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built on "
                                 "a list of variables. Call `optimizer.build(trainable_variables)` first. ")
            if len(grads) != len(self._trainable_variables_indices):
                raise ValueError("When passing `grads` as a list of gradient tensors, the gradients must match "
                                 f"`optimizer.variables` one-to-on. Received a list of {len(grads)} gradients, but "
                                 f"the optimizer is tracking {len(self._trainable_variables)} trainable variables.")
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if len(grads) != len(trainable_variables):
                raise ValueError(f"apply(): got {len(grads)} gradients for {len(trainable_variables)} variables")
            if not self.built:
                self.build(trainable_variables)
                self.built = True
            self._check_variables_are_known(trainable_variables)
        with no_grad():
            grads, variables = self._filter_empty_gradients(grads, trainable_variables)
            pairs = [(g, v) for g, v in zip(grads, variables) if getattr(v, "trainable", True) is not False]
            if pairs:
                grads = [_as_array(g) for g, _ in pairs]
                variables = [v for _, v in pairs]
                grads = [g if g.dtype == v.data.dtype else v.backend.cast(g, v.dtype)
                         for g, v in zip(grads, variables)]
                if self.loss_scale_factor is not None:
                    grads = [g / self.loss_scale_factor for g in grads]
                self._backend_apply_gradients(grads, variables)
                for variable in variables:
                    if getattr(variable, "constraint", None) is not None:
                        variable.assign(variable.constraint(variable))
            self._iterations.assign_add(1)

    def _filter_empty_gradients(self, grads, variables):
        kept_g, kept_v, missing = [], [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(getattr(v, "path", None) or getattr(v, "name", None))
            else:
                kept_g.append(g)
                kept_v.append(v)
        if not kept_g:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
                          "`model.compile()`, did you forget to provide a `loss` argument?")
        return kept_g, kept_v

    def _backend_apply_gradients(self, grads, variables):
        if self.gradient_accumulation_steps:
            self._accumulate_or_update(grads, variables)
        else:
            self._update(grads, variables)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if self.ema_overwrite_frequency:
                due = (self._step_index() + 1) % self.ema_overwrite_frequency == 0
                if self._traced():
                    xp = self._iterations.backend.xp
                    for var, average in zip(self._trainable_variables, self._model_variables_moving_average):
                        var.assign(xp.where(due, average.data, var.data))
                elif due:
                    self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _accumulate_or_update(self, grads, variables):
        """Gradient accumulation: add to the accumulators, or, every ``gradient_accumulation_steps``-th call, update
        with their mean and zero them. Traced, both branches run and ``where`` selects by the traced step."""
        steps = self.gradient_accumulation_steps
        accs = [self._accumulated_gradients[self._get_variable_index(v)] for v in variables]
        if not self._traced():
            if (int(self._iterations.item()) + 1) % steps == 0:
                self._update([(g + a.data) / steps for g, a in zip(grads, accs)], variables)
                for a in accs:
                    a.assign(a.backend.zeros(a.shape, a.dtype))
            else:
                for g, a in zip(grads, accs):
                    a.assign(a.data + g)
            return
        xp = self._iterations.backend.xp
        due = (self._iterations.data + 1) % steps == 0
        state = list(variables) + [v for v in self._variables if v is not self._iterations]
        before = [t.data for t in state]
        self._update([(g + a.data) / steps for g, a in zip(grads, accs)], variables)
        for t, old in zip(state, before):
            if t.data is not old:              # changed by the update: keep the old value unless the step is due
                t.assign(xp.where(due, t.data, old))
        for g, a in zip(grads, accs):
            a.assign(xp.where(due, 0.0, a.data + g))

    def _update(self, grads, variables):
        grads = self._clip_gradients(grads)
        lr = self._current_lr()
        self._apply_weight_decay(variables, lr)
        self._backend_update_step(grads, variables, lr)

    def _backend_update_step(self, grads, variables, learning_rate):
        self._local_step = self._traced_step() if self._traced() else self._step_count() + 1
        if self._fast_path():
            if isinstance(self._local_step, int) and self._array_update_many(grads, variables, learning_rate):
                return
            for g, v in zip(grads, variables):
                self._array_update(g, v, learning_rate)
        else:
            for g, v in zip(grads, variables):
                self.update_step(Tensor(g), v, learning_rate)

    def _fast_path(self):
        """True when the update_step in use is a built-in one (it then works on arrays directly)."""
        for klass in type(self).__mro__:
            if "update_step" in klass.__dict__:
                return "_array_update" in klass.__dict__
        return False

    # -- helpers for the built-in update rules ------------------------------------------------------
    def _builtin_update_step(self, gradient, variable, learning_rate):
        """``update_step`` of the built-in optimizers: Keras' signature, array work in ``_array_update``."""
        self._local_step = self._step_count() + 1
        g = _as_array(gradient)
        if g.dtype != variable.data.dtype:
            g = variable.backend.cast(g, variable.dtype)
        with no_grad():
            self._array_update(g, variable, float(learning_rate))

    def _kernel(self, variable, name):
        """The backend's fused kernel ``name`` for ``variable``, or None (not overridden / disabled)."""
        if not self._use_fused:
            return None
        b = variable.backend
        fn = getattr(type(b), name, None)
        if fn is None or fn is getattr(Backend, name, None):
            return None
        return getattr(b, name)

    def _array_update_many(self, grads, variables, lr):
        """Update all ``variables`` with one multi-tensor backend kernel (eager steps only); False where the
        optimizer or the backend has none, and ``_array_update`` then runs per variable. Adam and SGD override it."""
        return False

    def _kernel_many(self, variables, name):
        """The backend's multi-tensor kernel ``name`` when every variable lives on that one backend and it overrides
        the kernel (``Backend.adam_update_many`` …); otherwise None."""
        b = variables[0].backend
        if any(v.backend is not b for v in variables):
            return None
        return self._kernel(variables[0], name)

    @staticmethod
    def _store(tensors, arrays):
        """Record a kernel's results: rebind where the backend returned new arrays; bump version counters."""
        for t, a in zip(tensors, arrays):
            if t is None:
                continue
            if a is not t.data:
                t.data = a
            t._bump()

    # -- EMA ---------------------------------------------------------------------------------------
    def _update_model_variables_moving_average(self, variables):
        n = self._step_index()
        if self._traced():
            momentum = self._iterations.backend.xp.where(n != 0, self.ema_momentum, 0.0)
        else:
            momentum = self.ema_momentum if n != 0 else 0.0
        for var, average in zip(variables, self._model_variables_moving_average):
            average.assign(average.data * self._scalar(momentum, var) + var.data * self._scalar(1 - momentum, var))

    def _overwrite_model_variables_with_average_value(self, variables):
        if len(variables) != len(self._model_variables_moving_average):
            raise ValueError(f"The length of model variables ({len(variables)}) to override does not match the "
                             "length of model variables stored in the optimizer "
                             f"({len(self._model_variables_moving_average)}). Please check if the optimizer was "
                             "called on your model.")
        for var, average in zip(variables, self._model_variables_moving_average):
            var.assign(average.data)

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, overwrite the model variables with their moving averages (end of ``fit``)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    def scale_loss(self, loss):
        """Multiply the loss by ``loss_scale_factor`` (if set) before computing gradients."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    # -- config ------------------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            learning_rate = _schedules.serialize(lr)
        elif isinstance(lr, Tensor):
            learning_rate = float(lr.item())
        else:
            learning_rate = lr
        return {"name": self.name, "learning_rate": learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


# the methods on the update path: a class outside kusari.optimizers that defines one keeps the update eager under
# jit_compile (``Optimizer._can_trace_update``, which caches its verdict per class in _BUILTIN_UPDATE)
_BUILTIN_UPDATE = {}
_UPDATE_METHODS = ("apply", "apply_gradients", "_backend_apply_gradients", "_accumulate_or_update", "_update",
                   "_clip_gradients", "_apply_weight_decay", "_backend_update_step", "update_step", "_array_update",
                   "_current_lr", "learning_rate", "_update_model_variables_moving_average")


def _backend_of(a):
    from kusari import backend as _backend
    return _backend.of(a) or _backend.current()


def _xp(a):
    return _backend_of(a).xp
