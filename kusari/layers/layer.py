"""``Layer``: owns weights and sub-layers, builds lazily from its first input, runs ``call`` (Keras' name;
``forward`` is accepted too).

>>> import kusari
>>> class Scale(kusari.layers.Layer):
...     def build(self, input_shape):
...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
...     def call(self, x):
...         return x * self.w
>>> layer = Scale()
>>> layer(kusari.tensor([[1.0, 2.0]])).tolist()
[[1.0, 2.0]]
>>> [w.name for w in layer.weights]
['w']
"""
import inspect
import re

from kusari import config, constraints, dtypes, initializers, regularizers
from kusari.autograd.mode import no_grad
from kusari.layers import symbolic
from kusari.layers.symbolic import Node, SymbolicTensor
from kusari.tensor import Parameter, Tensor

_NAME_COUNTS = {}


def unique_name(base):
    """``base``, then ``base_1``, ``base_2``… (per process; reset by ``kusari.utils.clear_session()``)."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names():
    _NAME_COUNTS.clear()


def snake_case(name):
    """Keras' to_snake_case: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``."""
    s = re.sub(r"\W+", "", name)
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", s)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class _CallContext:
    """What an outer call passes down: the training flag, and hooks that want to see every layer output."""
    depth = 0
    training = None
    hooks = []


def _unique(own, sub_lists):
    """``own``, then each list in ``sub_lists``, without repeats (a weight shared by two layers is listed once,
    where it first appears)."""
    out, seen = [], set()
    for weights in (own, *sub_lists):
        for w in weights:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
    return out


def call_context():
    return _CallContext


_ALLOWED_KWARGS = {"trainable", "name", "dtype", "input_shape", "input_dim", "batch_input_shape", "batch_size",
                   "autocast", "input_length"}


class Layer:
    """Base class of every layer and model."""

    def __init__(self, *, activity_regularizer=None, trainable=True, name=None, dtype=None, autocast=True, **kwargs):
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}")
        object.__setattr__(self, "_tracking", False)
        self._trainable_vars = []
        self._non_trainable_vars = []
        self._layers = []
        self._losses = []
        self._regularizers = []
        self._inbound_nodes = []
        self._trainable = bool(trainable)
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = dtypes.standardize(dtype) if dtype is not None else config.floatx()
        self.autocast = autocast
        self.built = False
        self.supports_masking = False
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._last_output_shape = None
        self._batch_input_shape = None
        self._build_input_shape = None
        if "batch_input_shape" in kwargs:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif "input_shape" in kwargs:
            self._batch_input_shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        elif "input_dim" in kwargs:
            self._batch_input_shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        object.__setattr__(self, "_tracking", True)

    # -- tracking of weights and sub-layers (assigning an attribute is enough) --
    def __setattr__(self, name, value):
        if getattr(self, "_tracking", False) and not name.startswith("_"):
            self._track(value)
        object.__setattr__(self, name, value)

    def _track(self, value):
        if isinstance(value, Layer):
            if value is not self and all(value is not l for l in self._layers):
                self._layers.append(value)
        elif isinstance(value, Parameter):
            if all(value is not v for v in self._trainable_vars + self._non_trainable_vars):
                (self._trainable_vars if value.trainable else self._non_trainable_vars).append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                if isinstance(v, (Layer, Parameter)):
                    self._track(v)
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, (Layer, Parameter)):
                    self._track(v)

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, autocast=True, aggregation="none"):
        """Create a weight (a Parameter) owned by this layer; Keras' defaults: glorot_uniform for floats."""
        shape = tuple(shape) if shape is not None else ()
        dtype = dtypes.standardize(dtype) if dtype is not None else self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if dtypes.is_float(dtype) else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype)
        if tuple(value.shape) != shape:
            raise ValueError(f"{self.name}: initializer gave shape {tuple(value.shape)} for weight {name!r} of "
                             f"shape {shape}")
        p = Parameter(value, dtype=dtype, trainable=trainable, name=name)
        p.path = f"{self.name}/{name}" if name else self.name
        p.constraint = constraints.get(constraint)
        (self._trainable_vars if trainable else self._non_trainable_vars).append(p)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._regularizers.append((p, reg))
        return p

    add_variable = add_weight

    # -- weights --
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezing takes effect at the next step: frozen weights stop requiring grad; nothing to recompile."""
        value = bool(value)
        self._trainable = value
        for v in self._trainable_vars:
            v.trainable = value
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self):
        return list(self._layers)

    def _flatten_layers(self, include_self=True):
        seen, out, stack = set(), [], [self] if include_self else list(reversed(self._layers))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._layers))
        return out

    @property
    def weights(self):
        """Own weights (trainable, then non-trainable), then each sub-layer's — Keras' order."""
        return _unique(self._trainable_vars + self._non_trainable_vars, (layer.weights for layer in self._layers))

    variables = weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return _unique(self._trainable_vars, (layer.trainable_weights for layer in self._layers))

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """The weights' values as NumPy arrays, in ``weights`` order: copies, as in Keras (``Tensor.numpy()`` may share
        memory with the weight, which an optimizer updates in place on numpy and torch)."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from a list of arrays in ``weights`` order; shapes must match."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"{self.name}: set_weights got {len(weights)} arrays but the layer has {len(mine)} "
                             f"weights ({', '.join(w.path for w in mine)})")
        for w, value in zip(mine, weights):
            shape = tuple(getattr(value, "shape", ()))
            if shape != w.shape:
                raise ValueError(f"{self.name}: weight {w.path} has shape {w.shape}, the value given has shape "
                                 f"{shape}")
        with no_grad():
            for w, value in zip(mine, weights):
                w.assign(value)

    def count_params(self):
        n = 0
        for w in self.weights:
            n += w.size
        return n

    @property
    def losses(self):
        """Losses added in the last call (``add_loss``, activity regularizers) plus weight regularizers."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
            for p, reg in layer._regularizers:
                out.append(reg(p))
        return out

    def add_loss(self, loss):
        self._losses.append(loss)

    def _clear_losses(self):
        for layer in self._flatten_layers():
            layer._losses = []

    # -- building and calling --
    def build(self, input_shape=None):
        self.built = True

    def call(self, *args, **kwargs):
        forward = getattr(type(self), "forward", None)
        if forward is not None:
            return forward(self, *args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} must define call() (or forward())")

    def compute_output_shape(self, input_shape):
        raise NotImplementedError

    def _call_params(self):
        cls = type(self)
        cache = cls.__dict__.get("_call_params_cache")
        if cache is None:
            fn = cls.call if (cls.call is not Layer.call or not hasattr(cls, "forward")) else cls.forward
            params = inspect.signature(fn).parameters
            cache = (set(params), any(p.kind == p.VAR_KEYWORD for p in params.values()))
            type.__setattr__(cls, "_call_params_cache", cache)
        return cache

    def __call__(self, *args, **kwargs):
        if symbolic.is_symbolic(args) or kwargs and symbolic.is_symbolic(kwargs):
            return self._symbolic_call(args, kwargs)
        ctx = _CallContext
        params, var_kw = self._call_params()
        if args:
            first = _to_tensors(args[0], self)
            args = (first,) + args[1:]
        else:
            first = None
        if "training" in params or var_kw:
            if kwargs.get("training") is None and ctx.training is not None:
                kwargs["training"] = ctx.training
        else:
            kwargs.pop("training", None)
        previous_mask = _mask_of(first) if first is not None else None
        if "mask" in params and kwargs.get("mask") is None and previous_mask is not None:
            kwargs["mask"] = previous_mask
        if not self.built:
            self._build_from(args, kwargs)
        outer_training = ctx.training
        if "training" in kwargs and kwargs["training"] is not None:
            ctx.training = bool(kwargs["training"])
        if ctx.depth == 0:
            self._clear_losses()
        ctx.depth += 1
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            ctx.depth -= 1
            ctx.training = outer_training
        if self.activity_regularizer is not None:  # Keras 3: the plain regularizer value, no division by batch
            for o in symbolic.flatten(outputs):
                if isinstance(o, Tensor):
                    self.add_loss(self.activity_regularizer(o))
        if isinstance(outputs, Tensor):
            self._last_output_shape = outputs.shape
            if self.supports_masking and first is not None and getattr(outputs, "_keras_mask", None) is None:
                mask = self.compute_mask(first, kwargs.get("mask", previous_mask))
                if mask is not None:
                    outputs._keras_mask = mask
        else:
            self._last_output_shape = symbolic.map_structure(
                lambda t: t.shape if isinstance(t, Tensor) else None, outputs)
        if ctx.hooks:
            for hook in list(ctx.hooks):
                hook(self, args, outputs)
        return outputs

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of this layer's output (default: pass the input's mask through when supported)."""
        return previous_mask if self.supports_masking else None

    def _build_from(self, args, kwargs):
        build = type(self).build
        params = list(inspect.signature(build).parameters)[1:]
        first = args[0] if args else None
        shape_of = (lambda t: tuple(t.shape) if hasattr(t, "shape") else None)
        if len(params) <= 1 or params[0] in ("input_shape", "input_shapes", "shape"):
            extra = {}
            call_names = [p for p in inspect.signature(self.call).parameters]
            for p in params[1:]:
                arg_name = p[:-len("_shape")] if p.endswith("_shape") else None
                if arg_name and arg_name in kwargs and kwargs[arg_name] is not None:
                    extra[p] = symbolic.map_structure(shape_of, kwargs[arg_name])
                elif arg_name and arg_name in call_names:
                    i = call_names.index(arg_name)
                    if i < len(args) and args[i] is not None:
                        extra[p] = symbolic.map_structure(shape_of, args[i])
            shape = symbolic.map_structure(shape_of, first) if first is not None else None
            self._build_input_shape = shape
            if params:
                build(self, shape, **extra)
            else:
                build(self)
        else:
            self._build_input_shape = symbolic.map_structure(shape_of, first)
            build(self, self._build_input_shape)
        self.built = True

    def _symbolic_call(self, args, kwargs):
        """Call on SymbolicTensors: run once on zeros to learn shapes (and build), record a Node."""
        sym_inputs = [t for t in symbolic.flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
        has_free_dims = any(d is None for t in sym_inputs for d in t.shape[1:])

        def run(fill):
            def concrete(t):
                if not isinstance(t, SymbolicTensor):
                    return t
                shape = tuple((2 if i == 0 else fill) if d is None else d for i, d in enumerate(t.shape))
                from kusari.backend import current
                return Tensor(current().zeros(shape, t.dtype))
            a = symbolic.map_structure(concrete, args)
            k = symbolic.map_structure(concrete, kwargs)
            if "training" not in k:
                k["training"] = False
            with no_grad():
                saved_hooks, _CallContext.hooks = _CallContext.hooks, []
                try:
                    return self(*a, **k)
                finally:
                    _CallContext.hooks = saved_hooks

        if has_free_dims and type(self).compute_output_shape is not Layer.compute_output_shape and args:
            spec = self._symbolic_from_output_shape(args, kwargs)
            if spec is not None:
                return spec
        out = run(3)
        out2 = run(5) if has_free_dims else None
        flat = symbolic.flatten(out)
        flat2 = symbolic.flatten(out2) if out2 is not None else flat
        sym_outputs = []
        for i, (o, o2) in enumerate(zip(flat, flat2)):
            if not isinstance(o, Tensor):
                raise TypeError(f"{self.name}: call() returned a {type(o).__name__}; layers must return tensors")
            shape = [None if j == 0 else (d if d == d2 else None)
                     for j, (d, d2) in enumerate(zip(o.shape, o2.shape))]
            sym_outputs.append(SymbolicTensor(shape, o.dtype, index=i))
        node = Node(self, args, kwargs, sym_outputs)
        for t in sym_outputs:
            t.node = node
        self._inbound_nodes.append(node)
        it = iter(sym_outputs)
        return symbolic.map_structure(lambda _: next(it), out)

    def _symbolic_from_output_shape(self, args, kwargs):
        """Symbolic outputs from ``compute_output_shape`` (used when some input dims are unknown, where a run on
        placeholder sizes could fail, e.g. a 5x5 kernel on a 3x3 placeholder)."""
        in_shape = symbolic.map_structure(lambda t: t.shape if isinstance(t, SymbolicTensor) else None, args[0])
        try:
            if not self.built:
                self._build_input_shape = in_shape
                self.build(in_shape)
                self.built = True
            out_shape = self.compute_output_shape(in_shape)
        except NotImplementedError:
            return None
        single = isinstance(out_shape, tuple) and all(d is None or isinstance(d, int) for d in out_shape)
        shapes = [out_shape] if single else list(out_shape)
        outs = [SymbolicTensor((None,) + tuple(sh)[1:], self.dtype, index=i) for i, sh in enumerate(shapes)]
        node = Node(self, args, kwargs, outs)
        for t in outs:
            t.node = node
        self._inbound_nodes.append(node)
        return outs[0] if single else outs

    # -- functional-API facts --
    def _node_outputs(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(f"layer {self.name!r} has never been called on a symbolic input, so it has no "
                                 f"{attr}; build a functional model (Input -> layers) first")
        node = self._inbound_nodes[0]
        return node

    @property
    def output(self):
        """The symbolic output of this layer's first call in a functional graph."""
        node = self._node_outputs("output")
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    @property
    def input(self):
        node = self._node_outputs("input")
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    @property
    def output_shape(self):
        if self._inbound_nodes:
            out = self.output
            return out.shape if isinstance(out, SymbolicTensor) else [o.shape for o in out]
        if self._last_output_shape is not None:
            return self._last_output_shape
        raise AttributeError(f"layer {self.name!r} has not been called yet, so its output shape is unknown")

    # -- config --
    def get_config(self):
        """The constructor arguments (JSON-serialisable) that rebuild this layer."""
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self._batch_input_shape)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _to_tensors(x, layer):
    """Layer inputs as Tensors; float inputs are cast to the layer's dtype (Keras' autocast)."""
    if isinstance(x, (list, tuple)):
        return type(x)(_to_tensors(v, layer) for v in x)
    if isinstance(x, dict):
        return {k: _to_tensors(v, layer) for k, v in x.items()}
    if x is None or isinstance(x, (str, bool)):
        return x
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if layer.autocast and x.dtype != layer.dtype and dtypes.is_float(x.dtype) and dtypes.is_float(layer.dtype):
        from kusari.ops import cast
        y = cast(x, layer.dtype)
        m = getattr(x, "_keras_mask", None)
        if m is not None:
            y._keras_mask = m
        return y
    return x


def _mask_of(x):
    if isinstance(x, Tensor):
        return getattr(x, "_keras_mask", None)
    if isinstance(x, (list, tuple)):
        masks = [getattr(t, "_keras_mask", None) for t in x if isinstance(t, Tensor)]
        return masks if any(m is not None for m in masks) else None
    return None
