"""``Function``: one differentiable primitive, forward and backward side by side.

``forward`` receives arrays and returns an array (or a tuple of arrays). ``backward`` receives the output
gradients as Tensors and returns one gradient Tensor (or ``None``) per input, written with kusari ops, so that the
gradient itself is differentiable (``create_graph=True``). Inside ``backward``, ``self.inputs`` are the input Tensors
and ``self.output()`` the (first) output Tensor; whatever else ``forward`` kept on ``self`` is explicit.

Set ``uses_inputs = False`` when backward never reads the inputs' values (add, reshape, …) and
``uses_outputs = True`` when it reads the output (exp, tanh, sigmoid): the engine then checks that no in-place
change touched those tensors in between.

>>> import kusari
>>> from kusari.autograd import Function
>>> class Square(Function):
...     def forward(self, x):
...         return x * x
...     def backward(self, gy):
...         (x,) = self.inputs
...         return gy * 2 * x
>>> x = kusari.tensor([3.0], requires_grad=True)
>>> Square()(x).backward(kusari.tensor([1.0]))
>>> x.grad.item()
6.0
"""
import weakref

from kusari.autograd import mode


class Function:
    __slots__ = ("inputs", "generation", "needs_input_grad", "_versions", "_out", "_out_data", "_out_vc", "_n_out",
                 "_grads", "_hooks", "_retained", "__dict__", "__weakref__")
    uses_inputs = True
    uses_outputs = False

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    def __call__(self, *inputs):
        # the hot path of every op: no needless lists, tuples or property lookups here
        n = len(inputs)
        if n == 2:
            y = self.forward(inputs[0].data, inputs[1].data)
        elif n == 1:
            y = self.forward(inputs[0].data)
        else:
            y = self.forward(*[t.data for t in inputs])
        if mode.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    return self._record(inputs, y, type(y) is tuple)
        wrap = _tensor_type._wrap
        if type(y) is tuple:
            return tuple([wrap(a) for a in y])
        return wrap(y)

    def _record(self, inputs, y, multi):
        self.inputs = inputs
        self.needs_input_grad = tuple([t.requires_grad for t in inputs])
        gen = 0
        for t in inputs:
            c = t.creator
            if c is not None and c.generation >= gen:
                gen = c.generation + 1
        self.generation = gen
        if self.uses_inputs:
            self._versions = tuple([0 if t._vc is None else t._vc[0] for t in inputs])
        self._grads = None
        self._hooks = None
        self._retained = None
        make = _tensor_type._from_op
        if multi:
            outs = tuple(make(a, self, i) for i, a in enumerate(y))
            self._n_out = len(outs)
            self._out_data = y
            if self.uses_outputs:
                self._out = tuple(weakref.ref(o) for o in outs)
                self._out_vc = tuple(o._version_counter() for o in outs)
            return outs
        out = make(y, self, 0)
        self._n_out = 1
        if self.uses_outputs:
            self._out_data = (y,)
            self._out = (weakref.ref(out),)
            # backward reads the output: an in-place change to it (or a view of it) must be caught
            self._out_vc = (out._version_counter(),)
        return out

    def output(self, index=0):
        """The ``index``-th output Tensor (for backward formulas that use it, e.g. ``d tanh = 1 - y**2``)."""
        t = self._out[index]()
        if t is None:  # nobody holds it any more: its value is still here, its graph edge is not needed
            t = _tensor_type(self._out_data[index])
        return t

    @property
    def name(self):
        return type(self).__name__

    def _release(self):
        """Free what backward needed (called after backward unless ``retain_graph``)."""
        self.inputs = None
        self._out = None
        self._out_data = None
        self.__dict__.clear()

    def __repr__(self):
        return f"<{self.name} generation={getattr(self, 'generation', '?')}>"


_tensor_type = None  # set by kusari.tensor to the Tensor class (avoids an import cycle)
