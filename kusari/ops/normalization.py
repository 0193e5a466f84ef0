"""Normalisation: batch_normalization (keras.ops), layer_normalization / layer_norm, rms_normalization, and the
fused training-mode ``batch_norm_train``.
"""
from kusari import config
from kusari.autograd import mode
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis
from kusari.ops.reduce import mean, sum as _sum
from kusari.ops.shape import reshape
from kusari.ops.unary import _float, rsqrt
from kusari.tensor import Tensor

__all__ = ["batch_normalization", "layer_normalization", "layer_norm", "rms_normalization", "batch_norm_train"]


class LayerNormLast(Function):
    """Layer normalisation over the last axis, ``y = (x - mu) / sqrt(var + eps) * gamma + beta``, as one node: the
    LayerNormalization layer's hot path (the composed version is ~9 nodes and as many passes each way; here the
    backend does forward and backward in one kernel each, the NumPy backend spread over its threads by rows).
    ``gamma`` and ``beta`` are ``(C,)`` or None. Backward (closed form, per row, ``g = gy * gamma``):
    ``gx = (g - mean(g) - x_hat * mean(g * x_hat)) / std``, ``dgamma = sum(gy * x_hat)``, ``dbeta = sum(gy)``;
    under ``create_graph`` it is written with ops on x_hat rebuilt from x, so it is differentiable again."""

    def __init__(self, epsilon, has_gamma, has_beta):
        self.epsilon, self.has_gamma, self.has_beta = epsilon, has_gamma, has_beta

    def _params(self, arrays):
        gamma = arrays[0] if self.has_gamma else None
        beta = arrays[int(self.has_gamma)] if self.has_beta else None
        return gamma, beta

    def forward(self, x, *params):
        gamma, beta = self._params(params)
        shape = x.shape
        y, self.x_hat, self.inv_std = B().layer_norm_forward(x.reshape(-1, shape[-1]), gamma, beta, self.epsilon)
        return y.reshape(shape)

    def backward(self, gy):
        x = self.inputs[0]
        gamma, _ = self._params(self.inputs[1:])
        need = self.needs_input_grad
        if not mode.grad_enabled:
            g2 = gy.data.reshape(-1, x.shape[-1])
            gx, ggamma, gbeta = B().layer_norm_backward(g2, self.x_hat, self.inv_std,
                                                        None if gamma is None else gamma.data,
                                                        need[0], self.has_gamma and need[1],
                                                        self.has_beta and need[-1])
            grads = [None if gx is None else Tensor(gx.reshape(x.shape))]
            if self.has_gamma:
                grads.append(None if ggamma is None else Tensor(ggamma))
            if self.has_beta:
                grads.append(None if gbeta is None else Tensor(gbeta))
            return tuple(grads)
        lead = tuple(range(x.ndim - 1))
        mu = mean(x, axis=-1, keepdims=True)
        d = x - mu
        inv_std = rsqrt(mean(d * d, axis=-1, keepdims=True) + self.epsilon)
        x_hat = d * inv_std
        g = gy if gamma is None else gy * gamma
        gx = (g - mean(g, axis=-1, keepdims=True) - x_hat * mean(g * x_hat, axis=-1, keepdims=True)) * inv_std
        grads = [gx]
        if self.has_gamma:
            grads.append(_sum(gy * x_hat, axis=lead))
        if self.has_beta:
            grads.append(_sum(gy, axis=lead))
        return tuple(grads)


def layer_norm_last(x, gamma, beta, epsilon):
    """LayerNorm over the last axis as one fused node (``LayerNormLast``); ``gamma``/``beta`` ``(C,)`` or None.

    >>> import kusari
    >>> kusari.ops.normalization.layer_norm_last(kusari.tensor([[1.0, 3.0]]), None, None, 0.0).tolist()
    [[-1.0, 1.0]]
    """
    x = _float(x)
    params = [_param(p, (x.shape[-1],), x) for p in (gamma, beta) if p is not None]
    return LayerNormLast(float(epsilon), gamma is not None, beta is not None)(x, *params)


def _param(p, shape, x):
    if p is None:
        return None
    p = as_tensor(p)
    if p.dtype != x.dtype:
        from kusari.ops.arithmetic import cast
        p = cast(p, x.dtype)
    return reshape(p, shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the 1-D statistics laid along ``axis``
    (keras.ops.batch_normalization; used at inference with moving statistics).

    >>> import kusari
    >>> x = kusari.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> kusari.ops.batch_normalization(x, [2.0, 3.0], [1.0, 1.0], axis=-1, epsilon=0.0).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    x = _float(x)
    (ax,) = normalize_axis(axis, x.ndim, "batch_normalization")
    mean, variance = as_tensor(mean), as_tensor(variance)
    if mean.ndim != 1 or mean.shape[0] != x.shape[ax] or variance.shape != mean.shape:
        raise ValueError(f"batch_normalization: mean {mean.shape} and variance {variance.shape} must both have "
                         f"shape ({x.shape[ax]},), the size of axis {ax} of x {x.shape}")
    shape = tuple(x.shape[ax] if i == ax else 1 for i in range(x.ndim))
    inv = rsqrt(_param(variance, shape, x) + epsilon)
    if scale is not None:
        inv = inv * _param(scale, shape, x)
    res = -_param(mean, shape, x) * inv
    if offset is not None:
        res = res + _param(offset, shape, x)
    return x * inv + res


def _normalize_over(x, axes, epsilon):
    m = mean(x, axis=axes, keepdims=True)
    d = x - m
    v = mean(d * d, axis=axes, keepdims=True)
    return d * rsqrt(v + epsilon)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None):
    """Normalise each sample over ``axis`` (int or tuple) to mean 0 and variance 1, then ``* gamma + beta``
    (gamma and beta span the normalised axes). ``epsilon`` defaults to ``config.epsilon()``, as in Keras."""
    x = _float(x)
    axes = normalize_axis(axis, x.ndim, "layer_normalization")
    eps = config.epsilon() if epsilon is None else epsilon
    y = _normalize_over(x, axes, eps)
    shape = tuple(s if i in axes else 1 for i, s in enumerate(x.shape))
    if gamma is not None:
        y = y * _param(gamma, shape, x)
    if beta is not None:
        y = y + _param(beta, shape, x)
    return y


def layer_norm(x, gamma, beta, axis=-1, epsilon=1e-3):
    """Layer normalisation with the LayerNormalization layer's epsilon default (1e-3).

    >>> import kusari
    >>> kusari.ops.layer_norm(kusari.tensor([[1.0, 3.0]]), None, None, epsilon=0.0).tolist()
    [[-1.0, 1.0]]
    """
    return layer_normalization(x, gamma, beta, axis=axis, epsilon=epsilon)


def rms_normalization(x, scale=1, axis=-1, epsilon=None):
    """``x * rsqrt(mean(x**2, axis) + epsilon) * scale`` (keras.ops.rms_normalization)."""
    x = _float(x)
    axes = normalize_axis(axis, x.ndim, "rms_normalization")
    eps = config.epsilon() if epsilon is None else epsilon
    y = x * rsqrt(mean(x * x, axis=axes, keepdims=True) + eps)
    if scale is None or (isinstance(scale, (int, float)) and scale == 1):
        return y
    if isinstance(scale, (int, float)):
        return y * float(scale)
    shape = tuple(s if i in axes else 1 for i, s in enumerate(x.shape))
    return y * _param(scale, shape, x)


class BatchNormTrain(Function):
    """Training-mode batch norm: ``y = gamma * (x - mu) / sqrt(var + eps) + beta`` with the batch's own biased
    statistics; outputs ``(y, mu, var)`` (statistics in keep-dims shape).

    Fused because the composed version records ~10 nodes and keeps ~6 full-size intermediates alive per call; this
    keeps one node and, when no double backprop is asked for, backward reuses the saved ``x_hat`` and ``1/std``.
    Backward is the closed form
        dx = gamma/std * (g - mean(g) - x_hat * mean(g * x_hat)) + dmu / N + dvar * 2 (x - mu) / N
        dgamma = sum(g * x_hat),  dbeta = sum(g)
    written in ops; under ``create_graph`` x_hat and 1/std are rebuilt from the inputs with ops, so the result is
    differentiable again.
    """

    def __init__(self, axes, epsilon):
        self.axes, self.epsilon = axes, epsilon

    def forward(self, x, gamma, beta):
        xp = B().xp
        mu = xp.mean(x, axis=self.axes, keepdims=True)
        d = x - mu
        var = xp.mean(d * d, axis=self.axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + self.epsilon)
        x_hat = d * inv_std
        self.x_hat, self.inv_std = x_hat, inv_std
        return x_hat * gamma + beta, mu, var

    def backward(self, gy, gmu, gvar):
        x, gamma, beta = self.inputs
        nx, ngamma, nbeta = self.needs_input_grad
        axes = self.axes
        n = 1
        for a in axes:
            n *= x.shape[a]
        if mode.grad_enabled:       # create_graph: rebuild what depends on x with ops (differentiable)
            mu = mean(x, axis=axes, keepdims=True)
            d = x - mu
            inv_std = rsqrt(mean(d * d, axis=axes, keepdims=True) + self.epsilon)
            x_hat = d * inv_std
        else:
            x_hat, inv_std = Tensor(self.x_hat), Tensor(self.inv_std)
            d = None
        gx = ggamma = gbeta = None
        if nbeta:
            gbeta = _sum(gy, axis=axes, keepdims=True)
        if ngamma or nx:
            gy_xhat = _sum(gy * x_hat, axis=axes, keepdims=True)
        if ngamma:
            ggamma = gy_xhat
        if nx:
            g_mean = _sum(gy, axis=axes, keepdims=True) * (1.0 / n)
            gx = (gy - g_mean - x_hat * (gy_xhat * (1.0 / n))) * (gamma * inv_std)
            # contributions through the returned statistics (zero unless someone differentiates them)
            xp = B().xp
            if mode.grad_enabled or not B().is_concrete(gmu.data) or bool(xp.any(gmu.data != 0)):
                gx = gx + gmu * (1.0 / n)
            if mode.grad_enabled or not B().is_concrete(gvar.data) or bool(xp.any(gvar.data != 0)):
                if d is None:
                    d = x_hat / inv_std
                gx = gx + d * gvar * (2.0 / n)
        return gx, ggamma, gbeta


def batch_norm_train(x, gamma, beta, axes, epsilon=1e-3):
    """Batch normalisation with the batch's statistics over ``axes`` (e.g. ``(0,)`` for dense, ``(0, 1, 2)`` for
    channels-last images), as one fused Function.

    ``gamma`` and ``beta`` have the shape of ``x`` without ``axes`` (e.g. ``(C,)``), or are None. Returns
    ``(y, batch_mean, batch_var)``, the statistics in that same shape (the variance is the biased one; a layer
    updating moving averages may rescale it by N/(N-1)).

    >>> import kusari
    >>> y, m, v = kusari.ops.batch_norm_train(kusari.tensor([[1.0], [3.0]]), None, None, axes=0, epsilon=0.0)
    >>> y.tolist(), m.tolist(), v.tolist()
    ([[-1.0], [1.0]], [2.0], [1.0])
    """
    x = _float(x)
    axes = normalize_axis(axes, x.ndim, "batch_norm_train")
    if not axes:
        raise ValueError(f"batch_norm_train: give at least one axis to reduce over, x has shape {x.shape}")
    stat_shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    keep = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    params = []
    for name, p, fill in (("gamma", gamma, 1.0), ("beta", beta, 0.0)):
        if p is None:
            params.append(Tensor(B().full(keep, fill, x.dtype)))
            continue
        p = as_tensor(p)
        if p.shape != stat_shape:
            raise ValueError(f"batch_norm_train: {name} has shape {p.shape} but x {x.shape} reduced over axes "
                             f"{axes} needs {stat_shape}")
        params.append(_param(p, keep, x))
    y, mu, var = BatchNormTrain(axes, float(epsilon))(x, *params)
    return y, reshape(mu, stat_shape), reshape(var, stat_shape)
