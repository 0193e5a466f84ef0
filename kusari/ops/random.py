"""Random ops that take part in autograd: dropout (a Function holding its mask)."""
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor
from kusari.ops.unary import _float
from kusari.tensor import Tensor

__all__ = ["dropout"]


class Dropout(Function):
    """``x * mask`` where mask is 0 or ``1 / (1 - rate)``; the gradient is ``g * mask``."""
    uses_inputs = False

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * Tensor(self.mask)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate``, scale the others by ``1 / (1 - rate)`` so the mean is kept.

    ``noise_shape`` (broadcastable to the input's shape) shares one mask over some axes; ``seed`` as in
    ``kusari.random``.

    >>> import kusari
    >>> y = kusari.ops.dropout(kusari.ops.ones((1000,)), 0.5, seed=0)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    from kusari.random import _generator
    x = _float(inputs)
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if rate == 0.0:
        return x
    shape = x.shape if noise_shape is None else tuple(
        x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
    if len(shape) != x.ndim or any(s not in (1, d) for s, d in zip(shape, x.shape)):
        raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} does not broadcast to the input's shape "
                         f"{x.shape}")
    b = B()
    keep = b.uniform(_generator(seed), shape, x.dtype) >= rate
    mask = b.cast(keep, x.dtype) * b.asarray(1.0 / (1.0 - rate), x.dtype)
    return Dropout(mask)(x)
