"""Shape ops: reshape, transpose, expand_dims, squeeze, broadcast_to, sum_to, concatenate, stack, split, pad, tile,
repeat, flip, roll, moveaxis, swapaxes, …

View-producing ops share the input's in-place version counter, so an in-place change through a view is caught.
"""
from kusari import dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.tensor import Tensor

__all__ = ["reshape", "transpose", "broadcast_to", "sum_to", "expand_dims", "squeeze", "ravel", "concatenate",
           "stack", "split", "unstack", "hstack", "vstack", "pad", "tile", "repeat", "flip", "roll", "moveaxis",
           "swapaxes"]


def _share_version(out, x):
    """``out`` is a view of ``x``: they share the in-place version counter."""
    out._vc = x._version_counter()
    return out


class Reshape(Function):
    uses_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return B().xp.reshape(x, self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


class Transpose(Function):
    uses_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return B().xp.permute_dims(x, self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return transpose(gy, tuple(inverse))


class BroadcastTo(Function):
    uses_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return B().xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    """Sum ``x`` down to ``shape`` (the reverse of broadcasting)."""
    uses_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1)
        y = B().xp.sum(x, axis=axes, keepdims=True) if axes else x
        if lead:
            y = B().xp.reshape(y, self.shape)
        return y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def reshape(x, newshape):
    """``x`` with a new shape (one dimension may be -1).

    >>> import kusari
    >>> kusari.ops.reshape(kusari.tensor([1, 2, 3, 4]), (2, -1)).shape
    (2, 2)
    """
    x = as_tensor(x)
    if isinstance(newshape, int):
        newshape = (newshape,)
    newshape = tuple(int(s) for s in newshape)
    if newshape == x.shape:
        return x
    known = 1
    for s in newshape:
        if s != -1:
            known *= s
    n = x.size
    if newshape.count(-1) > 1 or (-1 in newshape and (known == 0 or n % known)) or \
            (-1 not in newshape and known != n):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({n} elements) into {newshape}")
    return _share_version(Reshape(newshape)(x), x)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim - 1, -1, -1))
    axes = tuple(a % x.ndim for a in axes) if x.ndim else ()
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    if axes == tuple(range(x.ndim)):
        return x
    return _share_version(Transpose(axes)(x), x)


def broadcast_to(x, shape):
    x = as_tensor(x)
    shape = tuple(int(s) for s in shape)
    if x.shape == shape:
        return x
    ok = len(shape) >= x.ndim and all(a == b or a == 1 for a, b in zip(x.shape[::-1], shape[::-1]))
    if not ok:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return _share_version(BroadcastTo(shape)(x), x)


def sum_to(x, shape):
    """Sum ``x`` over broadcast dimensions so that it has ``shape``."""
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def expand_dims(x, axis):
    """Insert a length-1 axis at ``axis`` (an int or a tuple of ints)."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = sorted(a % ndim for a in axes)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    x = as_tensor(x)
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length {x.shape[a]}, not 1")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def ravel(x):
    return reshape(x, (-1,))


class Concatenate(Function):
    uses_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return B().xp.concat(xs, axis=self.axis)

    def backward(self, gy):
        return Split(self.axis, self.sizes)(gy)


class Split(Function):
    """Cut ``x`` along ``axis`` into pieces of the given ``sizes``; several outputs (views)."""
    uses_inputs = False

    def __init__(self, axis, sizes):
        self.axis, self.sizes = axis, sizes

    def forward(self, x):
        out, start = [], 0
        lead = (slice(None),) * self.axis
        for n in self.sizes:
            out.append(x[lead + (slice(start, start + n),)])
            start += n
        return tuple(out)

    def backward(self, *gys):
        return Concatenate(self.axis)(*gys)


def _same_dtype(xs):
    from kusari.ops.arithmetic import cast
    dt = xs[0].dtype
    for x in xs[1:]:
        dt = dtypes.result_type(dt, x.dtype)
    return [x if x.dtype == dt else cast(x, dt) for x in xs]


def concatenate(xs, axis=0):
    """Join tensors along an existing axis.

    >>> import kusari
    >>> kusari.ops.concatenate([kusari.tensor([[1, 2]]), kusari.tensor([[3, 4]])], axis=0).shape
    (2, 2)
    """
    if isinstance(xs, Tensor) or not len(xs):
        raise ValueError("concatenate: expected a non-empty list of tensors")
    xs = _same_dtype([as_tensor(x) for x in xs])
    nd = xs[0].ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    axis = normalize_axis(axis, nd, "concatenate")[0]
    for k, x in enumerate(xs[1:], 1):
        if x.ndim != nd or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if i != axis):
            raise ValueError(f"concatenate: shapes {xs[0].shape} and {x.shape} (tensor {k}) differ outside axis "
                             f"{axis}")
    return Concatenate(axis)(*xs)


def stack(x, axis=0):
    """Join tensors of one shape along a new axis.

    >>> import kusari
    >>> kusari.ops.stack([kusari.tensor([1, 2]), kusari.tensor([3, 4])], axis=1).tolist()
    [[1, 3], [2, 4]]
    """
    if isinstance(x, Tensor) or not len(x):
        raise ValueError("stack: expected a non-empty list of tensors")
    xs = [as_tensor(t) for t in x]
    for k, t in enumerate(xs[1:], 1):
        if t.shape != xs[0].shape:
            raise ValueError(f"stack: all tensors need one shape; tensor 0 has {xs[0].shape}, tensor {k} has "
                             f"{t.shape}")
    axis = normalize_axis(axis, xs[0].ndim + 1, "stack")[0]
    return concatenate([expand_dims(t, axis) for t in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices (a list), NumPy style; returns a list.

    >>> import kusari
    >>> [t.tolist() for t in kusari.ops.split(kusari.tensor([1, 2, 3, 4]), [1, 3])]
    [[1], [2, 3], [4]]
    """
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("split: cannot split a zero-dimensional tensor")
    axis = normalize_axis(axis, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of length {n} cannot be split into {k} equal sections")
        sizes = [n // k] * k
    else:
        bounds = [0] + [min(max(int(i) if i >= 0 else int(i) + n, 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])]
        # NumPy semantics for unsorted indices give empty pieces; the total must still be n
        if sum(sizes) != n:
            raise ValueError(f"split: indices {list(indices_or_sections)} must be increasing")
    outs = Split(axis, sizes)(x)
    return [_share_version(o, x) for o in outs]


def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list (the inverse of ``stack``)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("unstack: cannot unstack a zero-dimensional tensor")
    axis = normalize_axis(axis, x.ndim, "unstack")[0]
    n = x.shape[axis]
    if num is not None and num != n:
        raise ValueError(f"unstack: num={num} but axis {axis} of shape {x.shape} has length {n}")
    if n == 0:
        return []
    return [squeeze(t, axis) for t in split(x, n, axis)]


def hstack(xs):
    """Concatenate along axis 1 (axis 0 for 1-D tensors)."""
    xs = [as_tensor(x) for x in xs]
    return concatenate(xs, axis=0 if xs and xs[0].ndim == 1 else 1)


def vstack(xs):
    """Concatenate along axis 0, 1-D tensors becoming rows."""
    xs = [as_tensor(x) for x in xs]
    return concatenate([reshape(x, (1, -1)) if x.ndim < 2 else x for x in xs], axis=0)


class PadConstant(Function):
    uses_inputs = False

    def __init__(self, pairs, value):
        self.pairs, self.value = pairs, value

    def forward(self, x):
        return B().pad(x, self.pairs, mode="constant", constant_values=self.value)

    def backward(self, gy):
        from kusari.ops.indexing import getitem
        return getitem(gy, tuple(slice(lo, lo + n) for (lo, _), n in zip(self.pairs, self.inputs[0].shape)))


_PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap")


def _pad_pairs(pad_width, ndim):
    try:
        if isinstance(pad_width, int):
            pairs = [(pad_width, pad_width)] * ndim
        else:
            pw = [tuple(p) if isinstance(p, (tuple, list)) else p for p in pad_width]
            if pw and all(isinstance(p, int) for p in pw):
                if len(pw) == 1:
                    pw = [(pw[0], pw[0])]
                elif len(pw) == 2:
                    pw = [tuple(pw)]
                else:
                    raise ValueError
            if len(pw) == 1:
                pw = pw * ndim
            pairs = [(int(a), int(b)) for a, b in pw]
    except (TypeError, ValueError):
        raise ValueError(f"pad: pad_width {pad_width!r} is not an int, a (before, after) pair or one pair per axis")
    if len(pairs) != ndim:
        raise ValueError(f"pad: pad_width has {len(pairs)} pairs for a tensor with {ndim} dimensions")
    if any(a < 0 or b < 0 for a, b in pairs):
        raise ValueError(f"pad: pad widths must be >= 0, got {pairs}")
    return tuple(pairs)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad with ``mode`` "constant" (``constant_values``, default 0), "reflect", "symmetric", "edge" or "wrap".

    >>> import kusari
    >>> kusari.ops.pad(kusari.tensor([1.0, 2.0]), (1, 2)).tolist()
    [0.0, 1.0, 2.0, 0.0, 0.0]
    """
    x = as_tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: unknown mode {mode!r}; use one of {', '.join(_PAD_MODES)}")
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values is only for mode='constant', not {mode!r}")
    pairs = _pad_pairs(pad_width, x.ndim)
    if mode == "constant":
        return PadConstant(pairs, 0 if constant_values is None else constant_values)(x)
    for (a, b), n in zip(pairs, x.shape):
        if (a or b) and (n == 0 or (mode == "reflect" and n == 1)):
            raise ValueError(f"pad: mode {mode!r} cannot pad an axis of length {n} (shape {x.shape})")
    # every other mode is a gather: pad the element numbers the same way, then take (scatter-add backward)
    from kusari.ops.indexing import take
    xp = B().xp
    idx = xp.reshape(B().arange(0, x.size, 1, "int64"), x.shape)
    idx = B().pad(idx, pairs, mode=mode)
    return take(reshape(x, (-1,)), Tensor(idx))


def tile(x, repeats):
    """Repeat the whole tensor ``repeats`` times along each axis (NumPy ``tile``)."""
    x = as_tensor(x)
    reps = (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats must be >= 0, got {reps}")
    nd = max(len(reps), x.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - x.ndim) + x.shape
    inter, big, final = [], [], []
    for r, s in zip(reps, shape):
        inter += [1, s]
        big += [r, s]
        final.append(r * s)
    return reshape(broadcast_to(reshape(x, tuple(inter)), tuple(big)), tuple(final))


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened tensor when None).

    >>> import kusari
    >>> kusari.ops.repeat(kusari.tensor([1, 2]), 2).tolist()
    [1, 1, 2, 2]
    """
    x = as_tensor(x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    axis = normalize_axis(axis, x.ndim, "repeat")[0]
    n = x.shape[axis]
    if isinstance(repeats, Tensor):
        repeats = repeats.tolist()
    if not isinstance(repeats, int) and len(repeats) == 1:
        repeats = int(repeats[0])
    if isinstance(repeats, int):
        if repeats < 0:
            raise ValueError(f"repeat: repeats must be >= 0, got {repeats}")
        shape = x.shape
        y = expand_dims(x, axis + 1)
        y = broadcast_to(y, shape[:axis + 1] + (repeats,) + shape[axis + 1:])
        return reshape(y, shape[:axis] + (n * repeats,) + shape[axis + 1:])
    repeats = [int(r) for r in repeats]
    if len(repeats) != n or any(r < 0 for r in repeats):
        raise ValueError(f"repeat: need {n} non-negative repeats for axis {axis} of shape {x.shape}, got {repeats}")
    from kusari.ops.indexing import take
    xp = B().xp
    idx = xp.repeat(B().arange(0, n, 1, "int64"), B().asarray(repeats, "int64"))
    return take(x, Tensor(idx), axis=axis)


class Flip(Function):
    uses_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return B().xp.flip(x, axis=self.axes)

    def backward(self, gy):
        return Flip(self.axes)(gy)


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when None); a view."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "flip")
    if not axes:
        return x
    return _share_version(Flip(axes)(x), x)


def roll(x, shift, axis=None):
    """Shift elements cyclically along ``axis`` (of the flattened tensor when None)."""
    x = as_tensor(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    shifts = (shift,) if isinstance(shift, int) else tuple(shift)
    axes = normalize_axis(axis, x.ndim, "roll")
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes")
    for s, a in zip(shifts, axes):
        n = x.shape[a]
        if n == 0:
            continue
        k = s % n
        if k:
            lo, hi = split(x, [n - k], a)
            x = concatenate([hi, lo], axis=a)
    return x


def moveaxis(x, source, destination):
    """Move axes ``source`` to positions ``destination`` (ints or sequences), the others keep their order."""
    x = as_tensor(x)
    src = normalize_axis(source, x.ndim, "moveaxis")
    dst = normalize_axis(destination, x.ndim, "moveaxis")
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must be distinct axes of "
                         "the same number")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    x = as_tensor(x)
    a = normalize_axis(axis1, x.ndim, "swapaxes")[0]
    b = normalize_axis(axis2, x.ndim, "swapaxes")[0]
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return transpose(x, tuple(order))


def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


Tensor.reshape = lambda self, *shape: reshape(self, _shape_args(shape))
Tensor.view = Tensor.reshape
Tensor.transpose = lambda self, *axes: transpose(self, _shape_args(axes) if axes else None)
Tensor.T = property(lambda self: transpose(self))
Tensor.flatten = lambda self: reshape(self, (-1,))
Tensor.squeeze = lambda self, axis=None: squeeze(self, axis)
Tensor.expand_dims = lambda self, axis: expand_dims(self, axis)
Tensor.unsqueeze = Tensor.expand_dims
Tensor.broadcast_to = lambda self, *shape: broadcast_to(self, _shape_args(shape))
Tensor.flip = lambda self, axis=None: flip(self, axis)
Tensor.swapaxes = lambda self, axis1, axis2: swapaxes(self, axis1, axis2)
Tensor.moveaxis = lambda self, source, destination: moveaxis(self, source, destination)
Tensor.tile = lambda self, repeats: tile(self, repeats)
Tensor.repeat = lambda self, repeats, axis=None: repeat(self, repeats, axis)
