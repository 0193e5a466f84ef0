"""Cross-entropies at the ops level (keras.ops.nn): per-sample losses, no reduction.

With probabilities (``from_logits=False``) they follow Keras 3 exactly: probabilities are clipped to
[epsilon, 1 - epsilon] (``config.epsilon()``) and categorical ones are first renormalised to sum to 1.
With logits they use fused Functions that are stable for any logit (±1000 gives finite losses and gradients) and
save graph nodes: one node instead of softmax + log + multiply + sum.
"""
from kusari import config, dtypes
from kusari.autograd.function import Function
from kusari.ops.arithmetic import cast, maximum, minimum
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.ops.nn import log_softmax, one_hot, sigmoid, softmax
from kusari.ops.reduce import sum as _sum
from kusari.ops.unary import log
from kusari.tensor import Tensor

__all__ = ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]


class SigmoidCrossEntropy(Function):
    """``-(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x)))`` = ``max(x, 0) - x z + log1p(exp(-|x|))``.

    Fused: one node, no overflow for any logit; d/dx = sigmoid(x) - z, d/dz = -x.
    """

    def forward(self, z, x):
        xp = B().xp
        return xp.maximum(x, 0) - x * z + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        z, x = self.inputs
        nz, nx = self.needs_input_grad
        gz = -(gy * x) if nz else None
        gx = gy * (sigmoid(x) - z) if nx else None
        return gz, gx


class SoftmaxCrossEntropy(Function):
    """``-sum(t * log_softmax(x), axis)``; forward through a stable log-softmax.

    Fused (one node; keeps only the inputs): d/dx = softmax(x) * sum(t) - t (= softmax - t for one-hot or
    probability targets), d/dt = -log_softmax(x). Both are written with ops, so double backprop works.
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, t, x):
        xp = B().xp
        shifted = x - xp.max(x, axis=self.axis, keepdims=True)
        logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))
        return -xp.sum(t * logp, axis=self.axis)

    def backward(self, gy):
        t, x = self.inputs
        nt, nx = self.needs_input_grad
        from kusari.ops.shape import expand_dims
        g = expand_dims(gy, self.axis)
        gt = -(g * log_softmax(x, self.axis)) if nt else None
        gx = None
        if nx:
            gx = g * (softmax(x, self.axis) * _sum(t, axis=self.axis, keepdims=True) - t)
        return gt, gx


class SparseSoftmaxCrossEntropy(Function):
    """``-log_softmax(x)[label]`` along ``axis``; d/dx = softmax(x) - one_hot(label). Fused: no one-hot target
    is built in the forward, the log-probabilities are gathered."""

    def __init__(self, labels, axis):
        self.labels, self.axis = labels, axis      # labels: integer array with the class axis kept (length 1)

    def forward(self, x):
        b = B()
        xp = b.xp
        shifted = x - xp.max(x, axis=self.axis, keepdims=True)
        logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))
        picked = b.take_along_axis(logp, self.labels, self.axis)
        return -xp.squeeze(picked, axis=self.axis)

    def backward(self, gy):
        (x,) = self.inputs
        from kusari.ops.shape import expand_dims
        xp = B().xp
        classes = xp.reshape(B().arange(0, x.shape[self.axis], 1, "int32"),
                             tuple(x.shape[self.axis] if i == self.axis else 1 for i in range(x.ndim)))
        target = Tensor(B().cast(self.labels == classes, x.dtype))
        return expand_dims(gy, self.axis) * (softmax(x, self.axis) - target)


def _clip_probs(p):
    eps = config.epsilon()
    return minimum(maximum(p, eps), 1.0 - eps)


def _float_pair(target, output, op):
    """Output as a float tensor; target cast to the output's dtype (float64 NumPy labels keep float32 maths)."""
    o = as_tensor(output)
    if not dtypes.is_float(o.dtype):
        o = cast(o, config.floatx())
    t = as_tensor(target)
    if t.dtype != o.dtype:
        t = cast(t, o.dtype)
    return t, o


def _check_same_shape(t, o, op):
    if t.ndim < 1 and op != "binary_crossentropy":
        raise ValueError(f"{op}: target and output must be at least rank 1, got shapes {t.shape} and {o.shape}")
    if t.shape != o.shape:
        raise ValueError(f"{op}: target and output must have the same shape, got target shape {t.shape} and "
                         f"output shape {o.shape}")


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy ``-(t log p + (1 - t) log(1 - p))`` (no reduction).

    ``output`` holds probabilities (clipped to [epsilon, 1 - epsilon]) or, with ``from_logits=True``, logits
    (stable fused path).

    >>> import kusari
    >>> l = kusari.ops.binary_crossentropy(kusari.tensor([1.0, 0.0]), kusari.tensor([0.0, 0.0]), from_logits=True)
    >>> [round(v, 4) for v in l.tolist()]
    [0.6931, 0.6931]
    """
    t, o = _float_pair(target, output, "binary_crossentropy")
    _check_same_shape(t, o, "binary_crossentropy")
    if from_logits:
        return SigmoidCrossEntropy()(t, o)
    p = _clip_probs(o)
    return -(t * log(p) + (1.0 - t) * log(1.0 - p))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``-sum(target * log(output), axis)`` per sample; ``target`` holds class probabilities (e.g. one-hot).

    Probabilities are renormalised along ``axis`` and clipped (as Keras); ``from_logits=True`` uses a stable fused
    softmax-cross-entropy.

    >>> import kusari
    >>> t = kusari.tensor([[0.0, 1.0]])
    >>> round(kusari.ops.categorical_crossentropy(t, kusari.tensor([[0.5, 0.5]])).item(), 4)
    0.6931
    """
    t, o = _float_pair(target, output, "categorical_crossentropy")
    _check_same_shape(t, o, "categorical_crossentropy")
    (ax,) = normalize_axis(axis, o.ndim, "categorical_crossentropy")
    if from_logits:
        return SoftmaxCrossEntropy(ax)(t, o)
    p = _clip_probs(o / _sum(o, axis=ax, keepdims=True))
    return -_sum(t * log(p), axis=ax)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy with integer class labels: ``target`` has ``output``'s shape without the class axis (a
    trailing length-1 axis is accepted too, as in Keras).

    >>> import kusari
    >>> logits = kusari.tensor([[0.0, 0.0], [0.0, 0.0]])
    >>> [round(v, 4) for v in kusari.ops.sparse_categorical_crossentropy([0, 1], logits, from_logits=True).tolist()]
    [0.6931, 0.6931]
    """
    op = "sparse_categorical_crossentropy"
    o = as_tensor(output)
    if not dtypes.is_float(o.dtype):
        o = cast(o, config.floatx())
    t = as_tensor(target)
    if o.ndim < 1:
        raise ValueError(f"{op}: output must be at least rank 1, got shape {o.shape}")
    (ax,) = normalize_axis(axis, o.ndim, op)
    if t.ndim == o.ndim and t.ndim and t.shape[-1] == 1:
        t = Tensor(B().xp.squeeze(t.data, axis=-1))
    expected = o.shape[:ax] + o.shape[ax + 1:]
    if t.shape != expected:
        raise ValueError(f"{op}: target shape {t.shape} does not match output shape {o.shape}; the target must "
                         f"have the output's shape without the class axis {ax}, i.e. {expected}")
    labels = t.data if dtypes.is_int(t.dtype) else B().cast(t.data, "int32")
    n = o.shape[ax]
    xp = B().xp
    if labels.size and B().is_concrete(labels) and (bool(xp.any(labels < 0)) or bool(xp.any(labels >= n))):
        raise ValueError(f"{op}: labels must lie in [0, {n}) for output shape {o.shape}; got values from "
                         f"{int(xp.min(labels))} to {int(xp.max(labels))}")
    if from_logits:
        return SparseSoftmaxCrossEntropy(xp.expand_dims(labels, axis=ax), ax)(o)
    t1 = one_hot(Tensor(labels), n, axis=ax, dtype=o.dtype)
    p = _clip_probs(o / _sum(o, axis=ax, keepdims=True))
    return -_sum(t1 * log(p), axis=ax)
