"""Pooling: max_pool and average_pool over 1 to 3 spatial dims (keras.ops names).

Channels-last internally (``data_format="channels_first"`` transposes in and out); "same" pads follow TensorFlow
(extra pad at the end; padded elements never win a max and are not counted in an average).

Both are piecewise linear in x, and their backward passes are linear maps written as Functions whose own backward
is the adjoint map, so higher-order gradients work:

- ``MaxPool(x) -> y`` keeps the argmax; ``MaxPoolBackward(gy) -> gx`` scatters gy to the argmax positions;
  ``MaxPoolGather(ggx) -> ggy`` picks ggx at them (the adjoint). The argmax is a constant: the gradient through
  the choice of positions is zero.
- ``AvgPool(x) -> y``; ``AvgPoolBackward(gy) -> gx``, whose backward is ``AvgPool`` again.

>>> import kusari
>>> from kusari import ops
>>> x = kusari.tensor([[[1.0], [3.0], [2.0], [0.0]]])     # (N=1, W=4, C=1)
>>> ops.max_pool(x, 2).numpy().ravel().tolist(), ops.average_pool(x, 2).numpy().ravel().tolist()
([3.0, 2.0], [2.0, 1.0])
"""
from kusari.autograd.function import Function
from kusari.ops.conv import (check_input_rank, float_operand, from_channels_last, normalize_tuple,
                             output_spatial, padding_pairs, standardize_data_format, standardize_padding,
                             to_channels_last)
from kusari.ops.convert import B

__all__ = ["max_pool", "average_pool"]


class MaxPool(Function):
    uses_inputs = False          # backward needs only x's shape and the argmax kept here

    def __init__(self, pool, strides, pads):
        self.pool, self.strides, self.pads = pool, strides, pads

    def forward(self, x):
        y, self.argmax = B().max_pool(x, self.pool, self.strides, self.pads)
        self.x_shape = tuple(x.shape)
        return y

    def backward(self, gy):
        return MaxPoolBackward(self.argmax, self.x_shape, self.pool, self.strides, self.pads)(gy)


class MaxPoolBackward(Function):
    """gy -> gx: gy routed to each window's argmax (linear in gy)."""
    uses_inputs = False

    def __init__(self, argmax, x_shape, pool, strides, pads):
        self.argmax, self.x_shape = argmax, x_shape
        self.pool, self.strides, self.pads = pool, strides, pads

    def forward(self, gy):
        return B().max_pool_backward(gy, self.argmax, self.x_shape, self.pool, self.strides, self.pads)

    def backward(self, ggx):
        return MaxPoolGather(self.argmax, self.x_shape, self.pool, self.strides, self.pads)(ggx)


class MaxPoolGather(Function):
    """ggx -> ggy: ggx picked at each window's argmax (the adjoint of MaxPoolBackward)."""
    uses_inputs = False

    def __init__(self, argmax, x_shape, pool, strides, pads):
        self.argmax, self.x_shape = argmax, x_shape
        self.pool, self.strides, self.pads = pool, strides, pads

    def forward(self, ggx):
        return B().max_pool_grad_gather(ggx, self.argmax, self.pool, self.strides, self.pads)

    def backward(self, g):
        return MaxPoolBackward(self.argmax, self.x_shape, self.pool, self.strides, self.pads)(g)


class AvgPool(Function):
    uses_inputs = False

    def __init__(self, pool, strides, pads):
        self.pool, self.strides, self.pads = pool, strides, pads

    def forward(self, x):
        self.x_shape = tuple(x.shape)
        return B().avg_pool(x, self.pool, self.strides, self.pads)

    def backward(self, gy):
        return AvgPoolBackward(self.x_shape, self.pool, self.strides, self.pads)(gy)


class AvgPoolBackward(Function):
    """gy -> gx for average pooling (linear; its adjoint is AvgPool)."""
    uses_inputs = False

    def __init__(self, x_shape, pool, strides, pads):
        self.x_shape = x_shape
        self.pool, self.strides, self.pads = pool, strides, pads

    def forward(self, gy):
        return B().avg_pool_backward(gy, self.x_shape, self.pool, self.strides, self.pads)

    def backward(self, ggx):
        return AvgPool(self.pool, self.strides, self.pads)(ggx)


def _pool(op, fn, inputs, pool_size, strides, padding, data_format):
    x = float_operand(inputs)
    nd = check_input_rank(op, x)
    fmt = standardize_data_format(data_format, op)
    padding = standardize_padding(padding, op)
    pool = normalize_tuple(pool_size, nd, "pool_size", op)
    strides = pool if strides is None else normalize_tuple(strides, nd, "strides", op)
    x = to_channels_last(x, fmt)
    sp = x.shape[1:-1]
    pads = padding_pairs(padding, sp, pool, strides, (1,) * nd)
    out = output_spatial(sp, pool, strides, pads, (1,) * nd)
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: pool_size {pool} is larger than the input's spatial shape {tuple(sp)} with "
                         f"padding={padding!r}")
    return from_channels_last(fn(pool, strides, pads)(x), fmt)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling; ``strides`` defaults to ``pool_size``.

    >>> import kusari
    >>> from kusari import ops
    >>> ops.max_pool(ops.ones((2, 6, 6, 3)), 2).shape
    (2, 3, 3, 3)
    """
    return _pool("max_pool", MaxPool, inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; ``strides`` defaults to ``pool_size``; "same" pads are not counted in the average."""
    return _pool("average_pool", AvgPool, inputs, pool_size, strides, padding, data_format)
