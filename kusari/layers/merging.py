"""Merging layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) and their functional forms
(``kusari.layers.add([a, b])`` ...). Each takes a list of tensors.

Element-wise merges follow Keras 3: inputs of lower rank get size-1 axes inserted at axis 1 until all ranks match,
then the shapes broadcast (sizes equal or 1); batch sizes must agree. Masks are combined with logical AND.

>>> import kusari
>>> from kusari import layers
>>> a, b = kusari.tensor([[1.0, 2.0]]), kusari.tensor([[3.0, 4.0]])
>>> layers.add([a, b]).tolist(), layers.concatenate([a, b]).shape
([[4.0, 6.0]], (1, 4))
"""
from kusari import ops
from kusari.layers.layer import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _shape_list(inputs):
    return ", ".join(str(_shape_of(x)) for x in inputs)


def _shape_of(x):
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return tuple(getattr(x, "shape", ()))


class _Merge(Layer):
    _min_inputs = 1
    _max_inputs = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_inputs(self, inputs):
        kind = type(self).__name__
        single = not isinstance(inputs, (list, tuple)) or (
            len(inputs) > 0 and all(d is None or isinstance(d, int) for d in inputs))
        if single:
            raise ValueError(f"{self.name} ({kind}): a merge layer must be called on a list of tensors, got a single "
                             f"input of shape {_shape_of(inputs)}")
        n = len(inputs)
        if n < self._min_inputs or (self._max_inputs is not None and n > self._max_inputs):
            want = (f"exactly {self._min_inputs}" if self._min_inputs == self._max_inputs
                    else f"at least {self._min_inputs}")
            raise ValueError(f"{self.name} ({kind}): needs {want} inputs, got {n} (shapes {_shape_list(inputs)})")

    def _elementwise_shapes(self, shapes):
        """Keras' rule: ranks padded at axis 1, then broadcast; returns the output shape or raises naming shapes."""
        kind = type(self).__name__
        batch = {s[0] for s in shapes if len(s) and s[0] is not None}
        if len(batch) > 1:
            raise ValueError(f"{self.name} ({kind}): cannot merge tensors with different batch sizes; got shapes "
                             f"{', '.join(str(tuple(s)) for s in shapes)}")
        rank = max(len(s) for s in shapes)
        padded = [tuple(s[:1]) + (1,) * (rank - len(s)) + tuple(s[1:]) for s in shapes]
        out = list(padded[0])
        for s in padded[1:]:
            for i, d in enumerate(s):
                o = out[i]
                if o == d or d == 1 or d is None:
                    continue
                if o == 1 or o is None:
                    out[i] = d
                else:
                    raise ValueError(f"{self.name} ({kind}): inputs have incompatible shapes "
                                     f"{', '.join(str(tuple(x)) for x in shapes)} (axis {i}: {out[i]} vs {d})")
        return tuple(out)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self._elementwise_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        self._check_inputs(inputs)
        self._elementwise_shapes([x.shape for x in inputs])
        rank = max(x.ndim for x in inputs)
        xs = []
        for x in inputs:
            while x.ndim < rank:
                x = ops.expand_dims(x, 1)
            xs.append(x)
        return self._merge_function(xs)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return self._elementwise_shapes(input_shape)

    def compute_mask(self, inputs, previous_mask=None):
        masks = previous_mask if previous_mask is not None else [getattr(x, "_keras_mask", None) for x in inputs]
        masks = [m for m in masks if m is not None]
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = ops.logical_and(out, m)
        return out


class Add(_Merge):
    """Element-wise sum of a list of tensors.

    >>> import kusari
    >>> kusari.layers.Add()([kusari.tensor([[1.0, 2.0]]), kusari.tensor([[3.0, 4.0]])]).tolist()
    [[4.0, 6.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    >>> import kusari
    >>> kusari.layers.Subtract()([kusari.tensor([[5.0]]), kusari.tensor([[3.0]])]).tolist()
    [[2.0]]
    """
    _min_inputs = _max_inputs = 2

    def _merge_function(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """Element-wise product of a list of tensors.

    >>> import kusari
    >>> kusari.layers.Multiply()([kusari.tensor([[2.0]]), kusari.tensor([[3.0]])]).tolist()
    [[6.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.multiply(out, x)
        return out


class Average(_Merge):
    """Element-wise mean of a list of tensors.

    >>> import kusari
    >>> kusari.layers.Average()([kusari.tensor([[2.0]]), kusari.tensor([[4.0]])]).tolist()
    [[3.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out / len(inputs)


class Maximum(_Merge):
    """Element-wise maximum of a list of tensors.

    >>> import kusari
    >>> kusari.layers.Maximum()([kusari.tensor([[2.0, 5.0]]), kusari.tensor([[4.0, 1.0]])]).tolist()
    [[4.0, 5.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.maximum(out, x)
        return out


class Minimum(_Merge):
    """Element-wise minimum of a list of tensors.

    >>> import kusari
    >>> kusari.layers.Minimum()([kusari.tensor([[2.0, 5.0]]), kusari.tensor([[4.0, 1.0]])]).tolist()
    [[2.0, 1.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Concatenates a list of tensors along ``axis``; all other dimensions must match.

    >>> import kusari
    >>> kusari.layers.Concatenate()([kusari.ops.ones((2, 3)), kusari.ops.ones((2, 4))]).shape
    (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        self._check_inputs(shapes)
        rank = len(shapes[0])
        ax = self.axis if self.axis >= 0 else self.axis + rank
        bad = None
        if any(len(s) != rank for s in shapes) or not 0 <= ax < rank:
            bad = "all inputs need the same rank and axis must be inside it"
        else:
            for i in range(rank):
                if i == ax:
                    continue
                dims = {s[i] for s in shapes if s[i] is not None}
                if len(dims) > 1:
                    bad = f"axis {i} differs"
                    break
        if bad:
            raise ValueError(f"{self.name} (Concatenate): inputs with matching shapes except on the concatenation "
                             f"axis {self.axis} are required, got shapes "
                             f"{', '.join(str(tuple(s)) for s in shapes)} ({bad})")
        return ax

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        ax = self._check_shapes([x.shape for x in inputs])
        return ops.concatenate(list(inputs), axis=ax)

    def compute_output_shape(self, input_shape):
        ax = self._check_shapes(input_shape)
        out = list(input_shape[0])
        sizes = [s[ax] for s in input_shape]
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def compute_mask(self, inputs, previous_mask=None):
        masks = previous_mask if previous_mask is not None else [getattr(x, "_keras_mask", None) for x in inputs]
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                m = ops.ones_like(x, dtype="bool")
            while m.ndim < x.ndim:
                m = ops.expand_dims(m, -1)
            full.append(ops.broadcast_to(m, x.shape))
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x, axis):
    return x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=axis, keepdims=True), 1e-12))


class Dot(_Merge):
    """Dot product of two tensors along ``axes`` (int or a pair), per sample (Keras ``batch_dot``); with
    ``normalize=True`` both are L2-normalised along those axes first (cosine similarity).

    The result keeps the remaining axes of the first input then those of the second; a rank-1 result becomes
    (batch, 1).

    >>> import kusari
    >>> kusari.layers.Dot(axes=1)([kusari.tensor([[1.0, 2.0]]), kusari.tensor([[3.0, 4.0]])]).tolist()
    [[11.0]]
    """
    _min_inputs = _max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, int) and not isinstance(axes, bool):
            self.axes = axes
        else:
            try:
                axes = tuple(int(a) for a in axes)
            except TypeError:
                axes = ()
            if len(axes) != 2:
                raise ValueError(f"Dot: axes must be an int or a tuple of 2 ints, got {axes!r}")
            self.axes = axes
        self.normalize = bool(normalize)
        self.supports_masking = False

    def _resolve(self, shapes):
        self._check_inputs(shapes)
        s1, s2 = (tuple(s) for s in shapes)
        if isinstance(self.axes, int):
            axes = [self.axes % len(s1), self.axes % len(s2)] if self.axes < 0 else [self.axes] * 2
        else:
            axes = [self.axes[0] % len(s1) if self.axes[0] < 0 else self.axes[0],
                    self.axes[1] % len(s2) if self.axes[1] < 0 else self.axes[1]]
        if len(s1) < 2 or len(s2) < 2:
            raise ValueError(f"{self.name} (Dot): inputs need a batch axis and at least one more; got shapes {s1}, "
                             f"{s2}")
        if axes[0] == 0 or axes[1] == 0 or axes[0] >= len(s1) or axes[1] >= len(s2):
            raise ValueError(f"{self.name} (Dot): axes {self.axes} are invalid for shapes {s1}, {s2} (the batch "
                             f"axis 0 cannot be contracted)")
        if s1[axes[0]] is not None and s2[axes[1]] is not None and s1[axes[0]] != s2[axes[1]]:
            raise ValueError(f"{self.name} (Dot): incompatible input shapes: axis {axes[0]} of {s1} has size "
                             f"{s1[axes[0]]} but axis {axes[1]} of {s2} has size {s2[axes[1]]}")
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise ValueError(f"{self.name} (Dot): batch sizes differ: shapes {s1}, {s2}")
        return axes

    def build(self, input_shape):
        self._resolve(input_shape)
        self.built = True

    def call(self, inputs):
        a1, a2 = self._resolve([x.shape for x in inputs])
        x1, x2 = inputs
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a1), _l2_normalize(x2, a2)
        letters = "bcdefghijklmnopqrstuvwxyz"
        n1, n2 = x1.ndim, x2.ndim
        l1 = ["a"] + list(letters[1:n1])
        l2 = ["a"] + list(letters[n1:n1 + n2 - 1])
        l2[a2] = l1[a1]
        out = [c for i, c in enumerate(l1) if i != a1] + [c for i, c in enumerate(l2) if i not in (0, a2)]
        y = ops.einsum(f"{''.join(l1)},{''.join(l2)}->{''.join(out)}", x1, x2)
        if y.ndim == 1:
            y = ops.expand_dims(y, 1)
        return y

    def compute_output_shape(self, input_shape):
        a1, a2 = self._resolve(input_shape)
        s1, s2 = input_shape
        out = [d for i, d in enumerate(s1) if i != a1] + [d for i, d in enumerate(s2) if i not in (0, a2)]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of ``Add``: ``add([a, b])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of ``Subtract``: ``subtract([a, b])``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of ``Multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of ``Average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of ``Maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of ``Minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of ``Concatenate``: ``concatenate([a, b], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of ``Dot``: ``dot([a, b], axes=1)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
