"""Activations and friends (keras.ops.nn): relu, gelu, sigmoid, softplus, softmax, log_softmax, one_hot, moments, …

The ones used in every network (relu, sigmoid, softplus, softmax, log_softmax) are single Functions with
numerically stable forwards; the rest are short compositions of differentiable ops. Every backward is written with
kusari ops, so second derivatives work.
"""
from kusari import config, dtypes
from kusari.autograd.function import Function
from kusari.ops.arithmetic import cast, maximum, minimum, where
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.ops.reduce import mean, sum as _sum
from kusari.ops.unary import _float, abs as _abs, erf, exp, expm1, tanh
from kusari.tensor import Tensor

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "sigmoid", "softplus",
           "softsign", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "softmax", "log_softmax",
           "log_sigmoid", "tanh", "one_hot", "multi_hot", "moments"]


def _axes(axis, ndim, op):
    axes = normalize_axis(axis, ndim, op)
    return axes[0] if len(axes) == 1 else axes


class Relu(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return B().relu(x)

    def backward(self, gy):
        mask = self.output().data > 0
        return gy * Tensor(B().cast(mask, gy.dtype))


class ClipGrad(Function):
    """``clip(x, lo, hi)`` with gradient 1 strictly inside (lo, hi) and 0 outside (relu6, hard_sigmoid)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = B().xp
        return xp.minimum(xp.maximum(x, self.lo), self.hi)

    def backward(self, gy):
        x = self.inputs[0].data
        mask = (x > self.lo) & (x < self.hi)
        return gy * Tensor(B().cast(mask, gy.dtype))


class LeakyRelu(Function):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return B().xp.where(x > 0, x, x * self.slope)

    def backward(self, gy):
        x = self.inputs[0].data
        factor = B().xp.where(x > 0, 1.0, self.slope)
        return gy * Tensor(B().cast(factor, gy.dtype))


class Sigmoid(Function):
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        xp = B().xp
        z = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

    def backward(self, gy):
        y = self.output()
        return gy * (y * (1.0 - y))


class Softplus(Function):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): finite for any x; the derivative is sigmoid(x)."""

    def forward(self, x):
        xp = B().xp
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class Softmax(Function):
    """exp(x - max) / sum; backward ``y * (g - sum(g * y))`` in ops (one node instead of five)."""
    uses_inputs = False
    uses_outputs = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = B().xp
        e = xp.exp(x - xp.max(x, axis=self.axis, keepdims=True))
        return e / xp.sum(e, axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.output()
        return y * (gy - _sum(gy * y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """x - max - log(sum(exp(x - max))); backward ``g - softmax(x) * sum(g)`` with softmax = exp(output)."""
    uses_inputs = False
    uses_outputs = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = B().xp
        shifted = x - xp.max(x, axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))

    def backward(self, gy):
        y = self.output()
        return gy - exp(y) * _sum(gy, axis=self.axis, keepdims=True)


# -- wrappers --------------------------------------------------------------------------------------------------------

def relu(x):
    """max(x, 0).

    >>> import kusari
    >>> kusari.ops.relu(kusari.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return Relu()(_float(x))


def relu6(x):
    """min(max(x, 0), 6)."""
    return ClipGrad(0.0, 6.0)(_float(x))


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, ``negative_slope * x`` otherwise.

    >>> import kusari
    >>> kusari.ops.leaky_relu(kusari.tensor([-2.0, 2.0]), negative_slope=0.25).tolist()
    [-0.5, 2.0]
    """
    return LeakyRelu(float(negative_slope))(_float(x))


def elu(x, alpha=1.0):
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    x = _float(x)
    # expm1 only sees non-positive values: no overflow (and no inf * 0 = nan in the gradient) for large x
    neg = expm1(minimum(x, 0.0)) * alpha
    return where(x > 0, x, neg)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """``scale * elu(x, alpha)`` with the self-normalising constants (alpha≈1.6733, scale≈1.0507)."""
    return elu(x, _SELU_ALPHA) * _SELU_SCALE


def celu(x, alpha=1.0):
    """max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))."""
    x = _float(x)
    return relu(x) + expm1(minimum(x, 0.0) * (1.0 / alpha)) * alpha


_SQRT_2_OVER_PI = 0.7978845608028654
_SQRT_HALF = 0.7071067811865476


def gelu(x, approximate=True):
    """Gaussian error linear unit: ``x * Phi(x)``; ``approximate=True`` (the Keras default) uses the tanh form
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))``, False the exact ``0.5 x (1 + erf(x / sqrt 2))``.

    >>> import kusari
    >>> round(kusari.ops.gelu(kusari.tensor(1.0), approximate=False).item(), 4)
    0.8413
    """
    x = _float(x)
    if approximate:
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * (tanh(inner) + 1.0) * 0.5
    return x * (erf(x * _SQRT_HALF) + 1.0) * 0.5


def sigmoid(x):
    """1 / (1 + exp(-x)), stable for any x.

    >>> import kusari
    >>> kusari.ops.sigmoid(kusari.tensor([0.0, -1000.0])).tolist()
    [0.5, 0.0]
    """
    return Sigmoid()(_float(x))


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    x = _float(x)
    return x * sigmoid(x)


swish = silu


def softplus(x):
    """log(1 + exp(x)), stable for any x."""
    return Softplus()(_float(x))


def softsign(x):
    """x / (1 + |x|)."""
    x = _float(x)
    return x / (_abs(x) + 1.0)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3's definition): 0 below -3, 1 above 3, linear in between."""
    x = _float(x)
    return relu6(x + 3.0) * (1.0 / 6.0)


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    x = _float(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return ClipGrad(-1.0, 1.0)(_float(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    x = _float(x)
    return -softplus(-x)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (an int or a tuple), computed after subtracting the max (stable).

    >>> import kusari
    >>> kusari.ops.softmax(kusari.tensor([1000.0, 1000.0])).tolist()
    [0.5, 0.5]
    """
    x = _float(x)
    if x.ndim == 0:
        raise ValueError("softmax: needs a tensor with at least one dimension, got a scalar")
    return Softmax(_axes(axis, x.ndim, "softmax"))(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed stably as ``x - logsumexp(x)``."""
    x = _float(x)
    if x.ndim == 0:
        raise ValueError("log_softmax: needs a tensor with at least one dimension, got a scalar")
    return LogSoftmax(_axes(axis, x.ndim, "log_softmax"))(x)


def one_hot(x, num_classes, axis=-1, dtype=None):
    """Integer labels -> one-hot vectors of length ``num_classes`` inserted at ``axis``; labels outside
    [0, num_classes) give all-zero vectors (as in Keras). No gradient.

    >>> import kusari
    >>> kusari.ops.one_hot(kusari.tensor([0, 2]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    x = as_tensor(x)
    if dtypes.is_float(x.dtype):
        x = cast(x, "int32")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be positive, got {num_classes}")
    dtype = dtypes.standardize(dtype) or config.floatx()
    out_ndim = x.ndim + 1
    if not -out_ndim <= axis < out_ndim:
        raise ValueError(f"one_hot: axis {axis} is out of range for an output with {out_ndim} dimensions")
    axis = axis % out_ndim
    xp = B().xp
    labels = xp.expand_dims(x.data, axis=axis)
    shape = [1] * out_ndim
    shape[axis] = num_classes
    classes = xp.reshape(B().arange(0, num_classes, 1, x.dtype), tuple(shape))
    return Tensor(B().cast(labels == classes, dtype))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None):
    """Per row of integer labels, a vector with 1 at every label present (one_hot, then max over the labels)."""
    if num_classes is None:
        raise ValueError("multi_hot: num_classes is required")
    x = as_tensor(inputs)
    oh = one_hot(x, num_classes, axis=axis, dtype=dtype)
    reduce_axis = 1 if x.ndim > 1 else 0     # Keras: labels are along axis 1 (axis 0 for a 1-D input)
    return Tensor(B().xp.max(oh.data, axis=reduce_axis))


def moments(x, axes, keepdims=False):
    """``(mean, variance)`` of ``x`` over ``axes`` (the biased variance, as Keras).

    >>> import kusari
    >>> m, v = kusari.ops.moments(kusari.tensor([1.0, 3.0]), axes=0)
    >>> m.item(), v.item()
    (2.0, 1.0)
    """
    x = _float(x)
    axes = normalize_axis(axes, x.ndim, "moments")
    m = mean(x, axis=axes, keepdims=True)
    d = x - m
    v = mean(d * d, axis=axes, keepdims=keepdims)
    if not keepdims:
        from kusari.ops.shape import squeeze
        m = squeeze(m, axes) if axes else m
    return m, v


Tensor.relu = relu
Tensor.sigmoid = sigmoid
Tensor.softmax = lambda self, axis=-1: softmax(self, axis)
Tensor.log_softmax = lambda self, axis=-1: log_softmax(self, axis)
