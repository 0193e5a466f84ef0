"""``Tensor``: an array of the current backend plus what autograd needs (grad, the node that made it).

>>> import kusari
>>> x = kusari.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad.numpy().tolist()
[[2.0, 4.0], [6.0, 8.0]]
"""
from kusari import backend as _backend
from kusari import config, dtypes
from kusari.autograd import engine as _engine
from kusari.autograd import function as _function
from kusari.autograd import mode as _mode


_DTYPE_NAMES = {}  # backend dtype object -> canonical name (dtype objects of different backends never compare equal)


class Tensor:
    """A multi-dimensional array that records the operations applied to it (define-by-run).

    ``Tensor(data, dtype=None, requires_grad=False)``; Python floats become ``floatx()`` (float32), Python ints
    int32, arrays keep their dtype.
    """
    __slots__ = ("data", "grad", "requires_grad", "creator", "output_index", "name", "_vc", "_hooks", "_mask",
                 "__weakref__")
    __array_ufunc__ = None          # NumPy defers ``ndarray + Tensor`` to Tensor.__radd__
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self.creator = None
        self.output_index = 0
        self.name = name
        self._vc = None
        self._hooks = None
        self.requires_grad = False
        if isinstance(data, Tensor) and self.data is data.data:
            self._vc = data._version_counter()  # same memory: an in-place change to either is seen by both
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, data, creator, index):
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = True
        t.creator = creator
        t.output_index = index
        t.name = None
        t._vc = None
        t._hooks = None
        return t

    @classmethod
    def _wrap(cls, data):
        """A graph-free Tensor around a backend array made by a kernel (no conversion: the fast path for ops
        under no_grad and for backward without create_graph)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = False
        t.creator = None
        t.output_index = 0
        t.name = None
        t._vc = None
        t._hooks = None
        return t

    # -- array facts --
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        n = 1
        for d in self.data.shape:
            n *= d
        return n

    @property
    def dtype(self):
        """The dtype's canonical name, e.g. ``"float32"``."""
        dt = self.data.dtype
        try:
            return _DTYPE_NAMES[dt]      # read on every op: skip the backend lookup for dtypes seen before
        except (KeyError, TypeError):
            name = self.backend.dtype_name(dt)
            try:
                _DTYPE_NAMES[dt] = name
            except TypeError:            # an unhashable dtype object: just do not cache it
                pass
            return name

    @property
    def backend(self):
        return _backend.of(self.data) or _backend.current()

    @property
    def device(self):
        return self.backend.device

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def numpy(self):
        """A NumPy array with this tensor's values (never part of the graph)."""
        return self.backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not dtypes.is_int(self.dtype):
            raise TypeError(f"only integer tensors can be used as an index, this one is {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.size} elements is ambiguous; "
                             "use .any() or .all()")
        return bool(self.item())

    __hash__ = object.__hash__

    @property
    def _keras_mask(self):
        """The Keras-style mask carried by this tensor (``None`` if it has none)."""
        try:
            return self._mask
        except AttributeError:
            return None

    @_keras_mask.setter
    def _keras_mask(self, mask):
        self._mask = mask

    def __repr__(self):
        body = repr(self.numpy()).replace("array(", "tensor(", 1)
        extra = []
        if self.creator is not None:
            extra.append(f"grad_fn={self.creator.name}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if extra:
            body = body[:-1] + ", " + ", ".join(extra) + ")"
        return body

    # -- autograd --
    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    def requires_grad_(self, requires_grad=True):
        """Set whether gradients are wanted for this leaf tensor; returns self."""
        if self.creator is not None and not requires_grad:
            raise RuntimeError("requires_grad can only be changed on leaf tensors; use detach() instead")
        if requires_grad and not dtypes.is_float(self.dtype):
            raise RuntimeError(f"only floating-point tensors can require gradients, this one is {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad`` is needed unless self has one element. The graph is freed afterwards unless
        ``retain_graph=True`` (which ``create_graph=True`` implies).
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph; did you make it "
                               "under no_grad(), or from tensors none of which requires grad?")
        grad = _seed_grad(self, grad, "backward()")
        if retain_graph is None:
            retain_graph = create_graph
        _engine.run_backward([self], [grad], retain_graph, create_graph)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves keep it anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.creator is not None:
            import weakref
            c = self.creator
            if c._retained is None:
                c._retained = {}
            c._retained[self.output_index] = weakref.ref(self)

    @property
    def retains_grad(self):
        c = self.creator
        return c is not None and bool(c._retained) and self.output_index in c._retained

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return replaces the gradient.
        Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad")
        if self.creator is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            c = self.creator
            if c._hooks is None:
                c._hooks = {}
            hooks = c._hooks.setdefault(self.output_index, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def detach(self):
        """The same values, cut from the graph (shares memory and the in-place version counter)."""
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t.requires_grad, t.creator, t.output_index = self.data, None, False, None, 0
        t.name, t._hooks = None, None
        t._vc = self._version_counter()
        return t

    def zero_grad(self):
        """Forget ``.grad`` (Chainer's ``cleargrad``)."""
        self.grad = None

    cleargrad = zero_grad

    # -- in-place changes (bump the version counter so autograd can tell) --
    def _version_counter(self):
        if self._vc is None:
            self._vc = [0]
        return self._vc

    @property
    def _version(self):
        return 0 if self._vc is None else self._vc[0]

    def _bump(self):
        self._version_counter()[0] += 1

    def _check_inplace(self, what):
        if _mode.grad_enabled and self.requires_grad:
            raise RuntimeError(f"{what}: in-place change of a tensor that requires grad while grad mode is on; "
                               "wrap it in kusari.no_grad(), or use a functional op (ops.where, ops.scatter_update)")

    def assign(self, value):
        """Overwrite the values in place (Keras ``Variable.assign``); shape must match. Returns self."""
        self._check_inplace("assign()")
        value = _to_array(value, self.dtype) if not isinstance(value, Tensor) else value.data
        if tuple(value.shape) != self.shape:
            raise ValueError(f"assign(): value of shape {tuple(value.shape)} does not fit a tensor of shape "
                             f"{self.shape}")
        self.data = self.backend.assign(self.data, value)
        self._bump()
        return self

    def assign_add(self, value):
        return self.assign(self.data + _operand_array(value, self))

    def assign_sub(self, value):
        return self.assign(self.data - _operand_array(value, self))

    def __setitem__(self, index, value):
        self._check_inplace("tensor[...] = value")
        index = _index_arrays(index)
        self.data = self.backend.setitem(self.data, index, _operand_array(value, self))
        self._bump()

    # -- conversion --
    def astype(self, dtype):
        from kusari import ops
        return ops.cast(self, dtype)

    def float(self):
        return self.astype("float32")

    def copy(self):
        from kusari import ops
        return ops.copy(self)

    clone = copy


class _HookHandle:
    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def _to_array(data, dtype=None):
    """The backend array for ``data`` with kusari's dtype rules."""
    B = _backend.current()
    if isinstance(data, Tensor):
        a = data.data
        return a if dtype is None else B.cast(a, dtypes.standardize(dtype))
    if dtype is not None:
        return B.asarray(data, dtypes.standardize(dtype))
    if isinstance(data, B.array_types) and hasattr(data, "dtype"):
        return data
    from_python = isinstance(data, (int, float, bool, list, tuple))
    a = B.asarray(data)
    if from_python:
        name = B.dtype_name(a.dtype)
        if name == "float64":
            a = B.cast(a, config.floatx())
        elif name == "int64":
            a = B.cast(a, "int32")
    return a


def _operand_array(value, like):
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (int, float, bool)):
        return like.backend.asarray(value, like.dtype)
    return _to_array(value)


def _index_arrays(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _seed_grad(t, grad, where):
    if grad is None:
        if t.size != 1:
            raise RuntimeError(f"{where}: grad can be implicitly created only for a tensor with one element; this "
                               f"one has shape {t.shape}, so pass grad= (a tensor of that shape)")
        return Tensor(t.backend.xp.ones_like(t.data))
    if not isinstance(grad, Tensor):
        grad = Tensor(_to_array(grad, t.dtype))
    if grad.shape != t.shape:
        raise ValueError(f"{where}: grad has shape {grad.shape} but the tensor has shape {t.shape}")
    return grad


class Parameter(Tensor):
    """A trainable leaf tensor owned by a layer or a user (Keras ``Variable``, Chainer ``Parameter``).

    ``trainable`` (default True) sets ``requires_grad``; updates go through ``assign``.

    >>> import kusari
    >>> w = kusari.Parameter([1.0, 2.0], name="w")
    >>> w.requires_grad, w.trainable
    (True, True)
    """
    __slots__ = ("path", "constraint")

    def __init__(self, data, dtype=None, trainable=True, name=None):
        super().__init__(data, dtype=dtype if dtype is not None else _default_param_dtype(data), name=name)
        self.path = name
        self.constraint = None
        self.requires_grad = bool(trainable) and dtypes.is_float(self.dtype)

    @property
    def trainable(self):
        return self.requires_grad

    @trainable.setter
    def trainable(self, value):
        self.requires_grad = bool(value) and dtypes.is_float(self.dtype)

    @property
    def value(self):
        return self

    def _check_inplace(self, what):
        # parameters change through assign() outside any graph; an optimizer step is the usual caller
        pass

    def __repr__(self):
        return f"<Parameter {self.name or ''} shape={self.shape} dtype={self.dtype}>\n{self.numpy()!r}"


def _default_param_dtype(data):
    if isinstance(data, Tensor) or hasattr(data, "dtype"):
        return None
    return config.floatx()


def tensor(data, dtype=None, requires_grad=False):
    """Make a Tensor from a list, a scalar, a NumPy array or another tensor.

    >>> import kusari
    >>> kusari.tensor([1, 2, 3]).dtype
    'int32'
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a list; no tensor's ``.grad`` is touched.

    ``inputs`` may be leaves or intermediate tensors. With ``create_graph=True`` the result is itself
    differentiable (double backprop).

    >>> import kusari
    >>> x = kusari.tensor(3.0, requires_grad=True)
    >>> (g,) = kusari.grad(x ** 3, [x], create_graph=True)
    >>> (gg,) = kusari.grad(g, [x])
    >>> g.item(), gg.item()
    (27.0, 18.0)
    """
    single_in = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs[{i}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"grad(): inputs[{i}] (shape {t.shape}) does not require grad")
    roots, seeds = [], []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if not o.requires_grad:
            raise RuntimeError(f"grad(): outputs[{i}] does not require grad; it is not connected to any input")
        roots.append(o)
        seeds.append(_seed_grad(o, g, "grad()"))
    if retain_graph is None:
        retain_graph = create_graph
    result = _engine.run_backward(roots, seeds, retain_graph, create_graph, targets=inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): inputs[{i}] (shape {inputs[i].shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        if g is not None and not create_graph and g.requires_grad:
            result[i] = g.detach()
    return result


_function._tensor_type = Tensor
_engine._tensor_type = Tensor
