"""Reductions: sum, mean, max, min, prod, var, std, logsumexp, argmax, argmin, cumsum, cumprod, all, any, …

max/min split the gradient equally among tied maxima (like ``torch.amax``). argmax/argmin/all/any/count_nonzero
give tensors without a gradient.
"""
import builtins

from kusari import config, dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.ops.shape import broadcast_to, reshape
from kusari.tensor import Tensor

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "logsumexp", "argmax", "argmin",
           "cumsum", "cumprod", "all", "any", "count_nonzero"]


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    uses_inputs = False

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return B().xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].shape
        if not self.keepdims:
            gy = reshape(gy, _keep_shape(shape, self.axes))
        return broadcast_to(gy, shape)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes when None).

    >>> import kusari
    >>> kusari.ops.sum(kusari.tensor([[1, 2], [3, 4]]), axis=0).tolist()
    [4, 6]
    """
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "sum")
    if x.dtype == "bool":
        x = Tensor(B().cast(x.data, "int32"))
    return Sum(axes, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``; integer inputs give floatx."""
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        from kusari.ops.arithmetic import cast
        x = cast(x, config.floatx())
    axes = normalize_axis(axis, x.ndim, "mean")
    n = 1
    for a in axes:
        n *= x.shape[a]
    return Sum(axes, keepdims)(x) * (1.0 / builtins.max(n, 1))


def _float(x):
    if not dtypes.is_float(x.dtype):
        from kusari.ops.arithmetic import cast
        x = cast(x, config.floatx())
    return x


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class MaxMin(Function):
    """max or min over ``axes``; the gradient is shared equally among the elements that attain it."""
    uses_outputs = True

    def __init__(self, axes, keepdims, kind, initial):
        self.axes, self.keepdims, self.kind, self.initial = axes, keepdims, kind, initial

    def forward(self, x):
        xp = B().xp
        f = xp.max if self.kind == "max" else xp.min
        y = f(x, axis=self.axes, keepdims=True)
        if self.initial is not None:
            pick = xp.maximum if self.kind == "max" else xp.minimum
            y = pick(y, xp.asarray(self.initial, dtype=x.dtype))
        hit = B().cast(x == y, B().dtype_name(x.dtype))
        count = xp.sum(hit, axis=self.axes, keepdims=True)
        self.share = hit / xp.maximum(count, xp.ones_like(count))   # a constant: 1/ties where x attains y
        return y if self.keepdims else xp.reshape(y, tuple(
            s for i, s in enumerate(y.shape) if i not in self.axes))

    def backward(self, gy):
        shape = self.inputs[0].shape
        if not self.keepdims:
            gy = reshape(gy, _keep_shape(shape, self.axes))
        return broadcast_to(gy, shape) * Tensor(self.share)


def _max_min(x, axis, keepdims, initial, kind):
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, kind)
    if initial is None and _count(x.shape, axes) == 0:
        raise ValueError(f"{kind}: reduction over an empty axis of shape {x.shape} needs `initial`")
    if x.dtype == "bool" or not dtypes.is_float(x.dtype):
        xp = B().xp
        f = xp.max if kind == "max" else xp.min
        y = f(x.data, axis=axes, keepdims=keepdims)
        if initial is not None:
            pick = xp.maximum if kind == "max" else xp.minimum
            y = pick(y, xp.asarray(initial, dtype=y.dtype))
        return Tensor(y)
    return MaxMin(axes, keepdims, kind, initial)(x)


def max(x, axis=None, keepdims=False, initial=None):
    """Largest value over ``axis`` (all axes when None); ties share the gradient equally.

    >>> import kusari
    >>> kusari.ops.max(kusari.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).tolist()
    [5.0, 3.0]
    """
    return _max_min(x, axis, keepdims, initial, "max")


def min(x, axis=None, keepdims=False, initial=None):
    """Smallest value over ``axis``; ties share the gradient equally."""
    return _max_min(x, axis, keepdims, initial, "min")


amax = max
amin = min


class Prod(Function):
    """Product over ``axes``. The gradient is the product of the other elements, exact also where x has zeros."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return B().xp.prod(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        from kusari.ops.arithmetic import where
        (x,) = self.inputs
        if not self.keepdims:
            gy = reshape(gy, _keep_shape(x.shape, self.axes))
        gy = broadcast_to(gy, x.shape)
        xp = B().xp
        zero = x.data == 0
        if B().is_concrete(zero) and not bool(xp.any(zero)):
            y = Prod(self.axes, True)(x)
            return gy * broadcast_to(y, x.shape) / x
        # with zeros: prod of others = (prod of non-zeros) * (prod of the other zeros)
        nzeros = xp.sum(B().cast(zero, "int32"), axis=self.axes, keepdims=True)
        x_nz = where(Tensor(zero), 1.0, x)
        p_nz = broadcast_to(Prod(self.axes, True)(x_nz), x.shape)
        p_z = broadcast_to(Prod(self.axes, True)(where(Tensor(zero), x, 1.0)), x.shape)
        at_nonzero = p_nz / x_nz * p_z
        # at a zero: product of the rest is p_nz if it is the only zero, else 0 (its own derivative there is
        # not tracked: second derivatives with two or more zeros in one slice are 0)
        lone = Tensor(xp.logical_and(zero, xp.broadcast_to(nzeros == 1, zero.shape)))
        at_zero = where(lone, p_nz, 0.0)
        return gy * where(Tensor(zero), at_zero, at_nonzero)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis``.

    >>> import kusari
    >>> kusari.ops.prod(kusari.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0).tolist()
    [3.0, 8.0]
    """
    x = as_tensor(x)
    if dtype is not None:
        from kusari.ops.arithmetic import cast
        x = cast(x, dtype)
    elif x.dtype == "bool":
        x = Tensor(B().cast(x.data, "int32"))
    axes = normalize_axis(axis, x.ndim, "prod")
    if not dtypes.is_float(x.dtype):
        return Tensor(B().xp.prod(x.data, axis=axes, keepdims=keepdims))
    return Prod(axes, keepdims)(x)


def var(x, axis=None, keepdims=False):
    """Population variance (divides by N) over ``axis``; integer inputs give floatx.

    >>> import kusari
    >>> kusari.ops.var(kusari.tensor([1.0, 2.0, 3.0, 4.0])).item()
    1.25
    """
    x = _float(as_tensor(x))
    axes = normalize_axis(axis, x.ndim, "var")
    d = x - mean(x, axes, keepdims=True)
    return mean(d * d, axes, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis``."""
    from kusari.ops.unary import sqrt
    return sqrt(var(x, axis, keepdims))


class LogSumExp(Function):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the maximum (no overflow)."""
    uses_outputs = True

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = B().xp
        m = xp.max(x, axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        y = xp.log(xp.sum(xp.exp(x - m), axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else xp.reshape(y, tuple(
            s for i, s in enumerate(y.shape) if i not in self.axes))

    def backward(self, gy):
        from kusari.ops.unary import exp
        (x,) = self.inputs
        y = self.output()
        if not self.keepdims:
            gy = reshape(gy, _keep_shape(x.shape, self.axes))
            y = reshape(y, _keep_shape(x.shape, self.axes))
        return broadcast_to(gy, x.shape) * exp(x - y)     # gy * softmax(x)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, numerically stable.

    >>> import kusari
    >>> round(kusari.ops.logsumexp(kusari.tensor([1000.0, 1000.0])).item(), 2)
    1000.69
    """
    x = _float(as_tensor(x))
    axes = normalize_axis(axis, x.ndim, "logsumexp")
    if _count(x.shape, axes) == 0:
        raise ValueError(f"logsumexp: reduction over an empty axis of shape {x.shape}")
    return LogSumExp(axes, keepdims)(x)


def _arg(x, axis, keepdims, kind):
    x = as_tensor(x)
    if axis is not None and not isinstance(axis, int):
        raise TypeError(f"{kind}: axis must be an int or None, got {axis!r}")
    if axis is not None:
        axis = normalize_axis(axis, x.ndim, kind)[0]
    if x.size == 0:
        raise ValueError(f"{kind}: attempt to take {kind} of an empty tensor of shape {x.shape}")
    xp = B().xp
    f = xp.argmax if kind == "argmax" else xp.argmin
    data = x.data
    if axis is None:
        y = f(xp.reshape(data, (-1,)), axis=0)
        if keepdims:
            y = xp.reshape(y, (1,) * x.ndim)
    else:
        y = f(data, axis=axis, keepdims=keepdims)
    return Tensor(B().cast(y, "int32"))


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value along ``axis`` (of the flattened tensor when None), int32, no gradient.

    >>> import kusari
    >>> kusari.ops.argmax(kusari.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).tolist()
    [1, 0]
    """
    return _arg(x, axis, keepdims, "argmax")


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value along ``axis``, int32, no gradient."""
    return _arg(x, axis, keepdims, "argmin")


def _flip(x, axis):
    from kusari.ops.shape import flip
    return flip(x, axis)


class CumSum(Function):
    uses_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return B().xp.cumulative_sum(x, axis=self.axis)

    def backward(self, gy):
        return _flip(CumSum(self.axis)(_flip(gy, self.axis)), self.axis)


class CumProd(Function):
    uses_outputs = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return B().xp.cumulative_prod(x, axis=self.axis)

    def backward(self, gy):
        (x,) = self.inputs
        ax = self.axis
        if not bool(B().xp.any(x.data == 0)):
            # d y_k / d x_i = y_k / x_i for k >= i: reverse cumulative sum of gy * y, divided by x
            return _flip(CumSum(ax)(_flip(gy * self.output(), ax)), ax) / x
        # zeros: grad_i = L_i * s_i with L_i = prod_{j<i} x_j and s_i = gy_i + x_{i+1} s_{i+1} (a loop along axis)
        from kusari.ops.indexing import _axis_slice
        from kusari.ops.shape import concatenate
        n = x.shape[ax]
        ones = Tensor(B().xp.ones_like(_axis_slice(x, ax, 0, 1).data))
        left = concatenate([ones, CumProd(ax)(_axis_slice(x, ax, 0, n - 1))], axis=ax) if n > 1 else ones
        s = [None] * n
        s[n - 1] = _axis_slice(gy, ax, n - 1, n)
        for i in range(n - 2, -1, -1):
            s[i] = _axis_slice(gy, ax, i, i + 1) + _axis_slice(x, ax, i + 1, i + 2) * s[i + 1]
        return left * concatenate(s, axis=ax)


def _cumulative(x, axis, dtype, kind):
    x = as_tensor(x)
    if dtype is not None:
        from kusari.ops.arithmetic import cast
        x = cast(x, dtype)
    elif x.dtype == "bool":
        x = Tensor(B().cast(x.data, "int32"))
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    elif not isinstance(axis, int):
        raise TypeError(f"{kind}: axis must be an int or None, got {axis!r}")
    axis = normalize_axis(axis, x.ndim, kind)[0]
    if x.ndim == 0:
        x = reshape(x, (1,))
    fn = CumSum(axis) if kind == "cumsum" else CumProd(axis)
    if not dtypes.is_float(x.dtype):
        return Tensor(fn.forward(x.data))
    return fn(x)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (of the flattened tensor when None).

    >>> import kusari
    >>> kusari.ops.cumsum(kusari.tensor([1.0, 2.0, 3.0])).tolist()
    [1.0, 3.0, 6.0]
    """
    return _cumulative(x, axis, dtype, "cumsum")


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (of the flattened tensor when None); gradient exact with zeros too."""
    return _cumulative(x, axis, dtype, "cumprod")


def _truth(x):
    x = as_tensor(x)
    return x.data if x.dtype == "bool" else x.data != 0


def all(x, axis=None, keepdims=False):
    """True where every element along ``axis`` is non-zero (bool, no gradient)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "all")
    return Tensor(B().xp.all(_truth(x), axis=axes, keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    """True where some element along ``axis`` is non-zero (bool, no gradient).

    >>> import kusari
    >>> kusari.ops.any(kusari.tensor([[0, 1], [0, 0]]), axis=1).tolist()
    [True, False]
    """
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "any")
    return Tensor(B().xp.any(_truth(x), axis=axes, keepdims=keepdims))


def count_nonzero(x, axis=None):
    """Number of non-zero elements along ``axis`` (int32, no gradient)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "count_nonzero")
    return Tensor(B().cast(B().xp.sum(B().cast(_truth(x), "int32"), axis=axes), "int32"))


Tensor.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
Tensor.max = lambda self, axis=None, keepdims=False: max(self, axis, keepdims)
Tensor.min = lambda self, axis=None, keepdims=False: min(self, axis, keepdims)
Tensor.prod = lambda self, axis=None, keepdims=False: prod(self, axis, keepdims)
Tensor.var = lambda self, axis=None, keepdims=False: var(self, axis, keepdims)
Tensor.std = lambda self, axis=None, keepdims=False: std(self, axis, keepdims)
Tensor.logsumexp = lambda self, axis=None, keepdims=False: logsumexp(self, axis, keepdims)
Tensor.argmax = lambda self, axis=None, keepdims=False: argmax(self, axis, keepdims)
Tensor.argmin = lambda self, axis=None, keepdims=False: argmin(self, axis, keepdims)
Tensor.cumsum = lambda self, axis=None: cumsum(self, axis)
Tensor.cumprod = lambda self, axis=None: cumprod(self, axis)
Tensor.all = lambda self, axis=None, keepdims=False: all(self, axis, keepdims)
Tensor.any = lambda self, axis=None, keepdims=False: any(self, axis, keepdims)
