"""Convolutions: conv (1D/2D/3D, grouped), conv_transpose, depthwise_conv, separable_conv (keras.ops names).

Inputs are channels-last internally; ``data_format="channels_first"`` transposes in and out. Kernels use the Keras
layout: ``(*kernel_size, C_in // groups, C_out)`` for conv, ``(*kernel_size, C_out, C_in)`` for conv_transpose.
Padding strings become explicit ``(lo, hi)`` pairs here (TensorFlow's "same" rule: the extra pad goes at the end),
so the backend kernels only see numbers.

Three Functions close under differentiation, so any order of gradient is available (WGAN-GP on conv nets):

- ``Conv(x, w) -> y``
- ``ConvBackwardInput(gy, w) -> gx`` (also the transposed convolution)
- ``ConvBackwardFilter(x, gy) -> gw``

Each is bilinear in its two inputs, and the backward of each is written with the other two (and itself).

>>> import kusari
>>> from kusari import ops
>>> x = kusari.tensor([[[1.0], [2.0], [3.0], [4.0]]])          # (N=1, W=4, C=1)
>>> ops.conv(x, kusari.tensor([[[1.0]], [[-1.0]]])).numpy().ravel().tolist()
[-1.0, -1.0, -1.0]
"""
import operator

from kusari import config, dtypes
from kusari.autograd import mode
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, pair
from kusari.ops.shape import reshape, transpose
from kusari.tensor import Tensor

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv"]


# -- argument handling (pure Python; shared with pool.py) ---------------------------------------------------------

def normalize_tuple(value, n, name, op):
    """``value`` (an int or a sequence of ``n`` ints, each >= 1) as a tuple of ``n`` ints."""
    if hasattr(value, "__index__") and not isinstance(value, bool):
        t = (operator.index(value),) * n
    else:
        try:
            t = tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
        if len(t) != n:
            raise ValueError(f"{op}: {name} {tuple(value)} has {len(t)} entries; the input has {n} spatial "
                             f"dimensions")
    if any(v < 1 for v in t):
        raise ValueError(f"{op}: {name} must be positive, got {value!r}")
    return t


def standardize_padding(padding, op):
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def standardize_data_format(data_format, op):
    fmt = config.image_data_format() if data_format is None else data_format
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return fmt


def padding_pairs(padding, in_spatial, kernel, strides, dilation):
    """Explicit (lo, hi) pads for "valid" / "same" (TensorFlow's rule: the odd pad goes at the end)."""
    if padding == "valid":
        return tuple((0, 0) for _ in in_spatial)
    pads = []
    for n, k, s, d in zip(in_spatial, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def output_spatial(in_spatial, kernel, strides, pads, dilation):
    return tuple((n + lo + hi - (k - 1) * d - 1) // s + 1
                 for n, k, s, d, (lo, hi) in zip(in_spatial, kernel, strides, dilation, pads))


def float_operand(x):
    """``x`` as a Tensor; integers become floatx (convolutions and pools are float maths)."""
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        from kusari.ops.arithmetic import cast
        x = cast(x, config.floatx())
    return x


def to_channels_last(x, fmt):
    if fmt == "channels_first":
        return transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
    return x


def from_channels_last(y, fmt):
    if fmt == "channels_first":
        return transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))
    return y


def check_input_rank(op, x, what="inputs"):
    if not 3 <= x.ndim <= 5:
        raise ValueError(f"{op}: {what} must have rank 3, 4 or 5 (batch, 1 to 3 spatial dims, channels), got "
                         f"shape {x.shape}")
    return x.ndim - 2


def _check_kernel_rank(op, x, w, name="kernel"):
    nd = check_input_rank(op, x)
    if w.ndim != x.ndim:
        raise ValueError(f"{op}: inputs of shape {x.shape} (rank {x.ndim}) need a {name} of rank {x.ndim} "
                         f"(*kernel_size, in, out), got {name} shape {w.shape} (rank {w.ndim})")
    if any(k < 1 for k in w.shape):
        raise ValueError(f"{op}: {name} shape {w.shape} has an empty dimension")
    return nd


def _conv_args(op, x, kernel_size, strides, padding, dilation_rate):
    """Normalized (strides, pads, dilation) and the output spatial shape for channels-last x."""
    nd = x.ndim - 2
    strides = normalize_tuple(strides, nd, "strides", op)
    dilation = normalize_tuple(dilation_rate, nd, "dilation_rate", op)
    padding = standardize_padding(padding, op)
    sp = x.shape[1:-1]
    pads = padding_pairs(padding, sp, kernel_size, strides, dilation)
    out = output_spatial(sp, kernel_size, strides, pads, dilation)
    if any(o < 1 for o in out):
        eff = tuple((k - 1) * d + 1 for k, d in zip(kernel_size, dilation))
        raise ValueError(f"{op}: kernel of spatial size {tuple(kernel_size)} (dilated: {eff}) is larger than the "
                         f"input's spatial shape {tuple(sp)} with padding={padding!r}")
    return strides, pads, dilation


# -- the closed triad of Functions --------------------------------------------------------------------------------

class Conv(Function):
    """``y = conv(x, w)``: channels-last, explicit pads; ``groups`` = C_in // w.shape[-2]."""

    def __init__(self, strides, pads, dilation, groups):
        self.strides, self.pads, self.dilation, self.groups = strides, pads, dilation, groups

    @property
    def params(self):
        return self.strides, self.pads, self.dilation, self.groups

    def forward(self, x, w):
        return B().conv(x, w, *self.params)

    def backward(self, gy):
        x, w = self.inputs
        nx, nw = self.needs_input_grad
        gx = ConvBackwardInput(x.shape, *self.params)(gy, w) if nx else None
        gw = ConvBackwardFilter(w.shape, *self.params)(x, gy) if nw else None
        return gx, gw


class ConvBackwardInput(Function):
    """``gx = A_w^T gy``, the input gradient of ``Conv`` (and the transposed convolution of gy with w).

    <ggx, A_w^T gy> = <conv(ggx, w), gy>, so d/dgy = conv(ggx, w) and d/dw = conv_backward_filter(ggx, gy).
    """

    def __init__(self, x_shape, strides, pads, dilation, groups):
        self.x_shape = tuple(x_shape)
        self.strides, self.pads, self.dilation, self.groups = strides, pads, dilation, groups

    @property
    def params(self):
        return self.strides, self.pads, self.dilation, self.groups

    def forward(self, gy, w):
        return B().conv_backward_input(gy, w, self.x_shape, *self.params)

    def backward(self, ggx):
        gy, w = self.inputs
        ngy, nw = self.needs_input_grad
        ggy = Conv(*self.params)(ggx, w) if ngy else None
        gw = ConvBackwardFilter(w.shape, *self.params)(ggx, gy) if nw else None
        return ggy, gw


class ConvBackwardFilter(Function):
    """``gw``, the kernel gradient of ``Conv``: <ggw, gw(x, gy)> = <conv(x, ggw), gy>."""

    def __init__(self, w_shape, strides, pads, dilation, groups):
        self.w_shape = tuple(w_shape)
        self.strides, self.pads, self.dilation, self.groups = strides, pads, dilation, groups

    @property
    def params(self):
        return self.strides, self.pads, self.dilation, self.groups

    def forward(self, x, gy):
        return B().conv_backward_filter(x, gy, self.w_shape, *self.params)

    def backward(self, ggw):
        x, gy = self.inputs
        nx, ngy = self.needs_input_grad
        gx = ConvBackwardInput(x.shape, *self.params)(gy, ggw) if nx else None
        ggy = Conv(*self.params)(x, ggw) if ngy else None
        return gx, ggy


class ConvBiasAct(Function):
    """``conv(x, w) (+ bias)``, optionally followed by relu, as one node: Conv's hot path in the layers (one output
    array instead of three: the bias is added and the relu applied in place, the relu mask is read from the output,
    and the backend may keep its im2col matrix for the kernel gradient). Channels-last, ``bias`` ``(C_out,)``."""

    def __init__(self, strides, pads, dilation, groups, relu, keep):
        self.strides, self.pads, self.dilation, self.groups = strides, pads, dilation, groups
        self.relu, self.keep = relu, keep
        if relu:
            self.uses_outputs = True

    @property
    def params(self):
        return self.strides, self.pads, self.dilation, self.groups

    def forward(self, x, w, bias=None):
        y, kept = B().conv_keep(x, w, bias, *self.params, relu=self.relu)
        if self.keep:
            self.kept = kept
        return y

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        has_bias = len(self.inputs) == 3
        nx, nw = self.needs_input_grad[0], self.needs_input_grad[1]
        nb = has_bias and self.needs_input_grad[2]
        lead = tuple(range(gy.ndim - 1))
        if not mode.grad_enabled:
            # plain backward (no create_graph): the same formulas on arrays, no graph nodes
            b, wrap = B(), Tensor._wrap
            g = gy.data
            if self.relu:
                g = b.relu_grad(g, self.output().data)
            gx = wrap(b.conv_backward_input(g, w.data, x.shape, *self.params)) if nx else None
            gw = gb = None
            if nw:
                kept = self.__dict__.pop("kept", None)     # used once: a second backward builds it again
                gw, gb = b.conv_backward_filter_kept(kept, x.data, g, w.shape, nb, *self.params)
                gw, gb = wrap(gw), (None if gb is None else wrap(gb))
            elif nb:
                gb = wrap(b.xp.sum(g, axis=lead))
            return (gx, gw, gb) if has_bias else (gx, gw)
        if self.relu:
            gy = gy * Tensor(B().cast(self.output().data > 0, gy.dtype))
        from kusari.ops.reduce import sum as _sum
        gx = ConvBackwardInput(x.shape, *self.params)(gy, w) if nx else None
        gw = ConvBackwardFilter(w.shape, *self.params)(x, gy) if nw else None
        gb = _sum(gy, axis=lead) if nb else None
        return (gx, gw, gb) if has_bias else (gx, gw)


class ConvTranspose(ConvBackwardInput):
    """``conv_transpose(x, w)``: the input gradient of the conv with kernel w, applied to x (its own name in
    graphs; forward and backward are ConvBackwardInput's)."""


# -- wrappers -----------------------------------------------------------------------------------------------------

def _operands(x, w):
    x, w = float_operand(x), float_operand(w)
    if x.dtype != w.dtype:
        x, w = pair(x, w)
    return x, w


def _conv_cl(op, x, w, strides, padding, dilation_rate, groups):
    """Channels-last conv of checked operands."""
    strides, pads, dilation = _conv_args(op, x, w.shape[:-2], strides, padding, dilation_rate)
    return Conv(strides, pads, dilation, groups)(x, w)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation), N = 1, 2 or 3.

    ``inputs``: ``(batch, *spatial, C_in)`` (channels_last) or ``(batch, C_in, *spatial)``; ``kernel``:
    ``(*kernel_size, C_in // groups, C_out)`` — a kernel with fewer input channels than the input makes a grouped
    convolution with ``groups = C_in // kernel.shape[-2]``.

    >>> import kusari
    >>> from kusari import ops
    >>> ops.conv(ops.ones((2, 5, 5, 3)), ops.ones((3, 3, 3, 4)), padding="same").shape
    (2, 5, 5, 4)
    """
    x, w = _operands(inputs, kernel)
    _check_kernel_rank("conv", x, w)
    fmt = standardize_data_format(data_format, "conv")
    x = to_channels_last(x, fmt)
    c, cin_g, cout = x.shape[-1], w.shape[-2], w.shape[-1]
    if c % cin_g:
        raise ValueError(f"conv: inputs have {c} channels but the kernel (shape {w.shape}) expects {cin_g} input "
                         f"channels per group, which does not divide {c}")
    groups = c // cin_g
    if cout % groups:
        raise ValueError(f"conv: {groups} groups (inputs have {c} channels, the kernel of shape {w.shape} takes "
                         f"{cin_g} per group) do not divide the kernel's {cout} output channels")
    return from_channels_last(_conv_cl("conv", x, w, strides, padding, dilation_rate, groups), fmt)


def conv_bias_act(inputs, kernel, bias=None, relu=False, strides=1, padding="valid", dilation_rate=1):
    """Channels-last ``conv(inputs, kernel) + bias`` (then ``relu`` if asked) as one fused node when the operands
    allow it (same float dtype); otherwise the same result from conv, add and relu. Used by ``Conv1D/2D/3D``."""
    x, w = _operands(inputs, kernel)
    if not (x.dtype == w.dtype and dtypes.is_float(x.dtype) and (bias is None or bias.dtype == w.dtype)
            and 3 <= x.ndim <= 5 and w.ndim == x.ndim and x.shape[-1] == w.shape[-2]):
        y = conv(inputs, kernel, strides=strides, padding=padding, dilation_rate=dilation_rate,
                 data_format="channels_last")
        if bias is not None:
            y = y + bias
        if relu:
            from kusari.ops.nn import relu as _relu
            y = _relu(y)
        return y
    strides, pads, dilation = _conv_args("conv", x, w.shape[:-2], strides, padding, dilation_rate)
    keep = mode.grad_enabled and w.requires_grad
    fn = ConvBiasAct(strides, pads, dilation, 1, relu, keep)
    return fn(x, w) if bias is None else fn(x, w, bias)


def _transpose_pads(kernel, strides, dilation, padding, output_padding):
    """Keras' conv-transpose pads of the stride-dilated input (lo, hi) per spatial dim."""
    pads = []
    for k, s, d, p in zip(kernel, strides, dilation, output_padding):
        ke = (k - 1) * d + 1
        if padding == "valid":
            p = max(ke, s) - ke if p is None else p
            pads.append((ke - 1, ke - 1 + p))
        else:
            total = s + ke - 2 if p is None else ke + ke % 2 - 2 + p
            lo = min(total // 2 + total % 2, ke - 1)
            pads.append((lo, total - lo))
    return tuple(pads)


def conv_transpose(inputs, kernel, strides, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution (the input gradient of a conv); ``kernel``: ``(*kernel_size, C_out, C_in)``.

    Output spatial size per dim (Keras' rule): "valid" ``(n - 1) * s + max(k_eff, s) ``, "same" ``n * s``; with
    ``output_padding`` p: "valid" ``(n - 1) * s + k_eff + p``, "same" ``(n - 1) * s + k_eff % 2 + p``.

    >>> import kusari
    >>> from kusari import ops
    >>> ops.conv_transpose(ops.ones((1, 4, 4, 3)), ops.ones((3, 3, 2, 3)), 2, padding="same").shape
    (1, 8, 8, 2)
    """
    op = "conv_transpose"
    x, w = _operands(inputs, kernel)
    nd = _check_kernel_rank(op, x, w)
    fmt = standardize_data_format(data_format, op)
    x = to_channels_last(x, fmt)
    if w.shape[-1] != x.shape[-1]:
        raise ValueError(f"{op}: inputs have {x.shape[-1]} channels but the kernel (shape {w.shape}, layout "
                         f"(*kernel_size, C_out, C_in)) expects {w.shape[-1]}")
    strides = normalize_tuple(strides, nd, "strides", op)
    dilation = normalize_tuple(dilation_rate, nd, "dilation_rate", op)
    padding = standardize_padding(padding, op)
    if output_padding is None:
        opad = (None,) * nd
    else:
        opad = tuple(int(p) for p in ((output_padding,) * nd if isinstance(output_padding, int)
                                      else output_padding))
        if len(opad) != nd:
            raise ValueError(f"{op}: output_padding {output_padding!r} needs {nd} entries")
        for p, s, d in zip(opad, strides, dilation):
            if p < 0 or (p >= s and p >= d):
                raise ValueError(f"{op}: output_padding {output_padding!r} must be smaller than the stride "
                                 f"{strides} (or the dilation)")
    kernel = w.shape[:-2]
    tpads = _transpose_pads(kernel, strides, dilation, padding, opad)
    fwd = tuple(((k - 1) * d - lo, (k - 1) * d - hi) for k, d, (lo, hi) in zip(kernel, dilation, tpads))
    out = tuple((n - 1) * s + lo + hi + 1 - (k - 1) * d
                for n, k, s, d, (lo, hi) in zip(x.shape[1:-1], kernel, strides, dilation, tpads))
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: output spatial shape {out} is empty (inputs {x.shape}, kernel {w.shape})")
    y = ConvTranspose((x.shape[0],) + out + (w.shape[-2],), strides, fwd, dilation, 1)(x, w)
    return from_channels_last(y, fmt)


def _depthwise_cl(op, x, w, strides, padding, dilation_rate):
    c, cin, mult = x.shape[-1], w.shape[-2], w.shape[-1]
    if cin != c:
        raise ValueError(f"{op}: inputs have {c} channels but the depthwise kernel (shape {w.shape}, layout "
                         f"(*kernel_size, C_in, depth_multiplier)) expects {cin}")
    # (*k, C, M) -> (*k, 1, C * M): output channel c * M + m, a grouped conv with one group per input channel
    w = reshape(w, w.shape[:-2] + (1, c * mult))
    return _conv_cl(op, x, w, strides, padding, dilation_rate, c)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel convolved with its own ``depth_multiplier`` filters.

    ``kernel``: ``(*kernel_size, C_in, depth_multiplier)``; output channels ``C_in * depth_multiplier``, ordered
    ``c * depth_multiplier + m``.
    """
    op = "depthwise_conv"
    x, w = _operands(inputs, kernel)
    _check_kernel_rank(op, x, w)
    fmt = standardize_data_format(data_format, op)
    x = to_channels_last(x, fmt)
    return from_channels_last(_depthwise_cl(op, x, w, strides, padding, dilation_rate), fmt)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """A depthwise convolution followed by a pointwise (1x1) convolution.

    ``pointwise_kernel``: ``(*ones, C_in * depth_multiplier, C_out)``.
    """
    op = "separable_conv"
    x, dw = _operands(inputs, depthwise_kernel)
    x, pw = _operands(x, pointwise_kernel)
    if dw.dtype != x.dtype:
        dw = as_tensor(dw, x.dtype)
    _check_kernel_rank(op, x, dw, "depthwise_kernel")
    _check_kernel_rank(op, x, pw, "pointwise_kernel")
    fmt = standardize_data_format(data_format, op)
    x = to_channels_last(x, fmt)
    h = _depthwise_cl(op, x, dw, strides, padding, dilation_rate)
    if pw.shape[-2] != h.shape[-1]:
        raise ValueError(f"{op}: the depthwise stage gives {h.shape[-1]} channels but the pointwise kernel (shape "
                         f"{pw.shape}) expects {pw.shape[-2]}")
    if any(k != 1 for k in pw.shape[:-2]):
        raise ValueError(f"{op}: the pointwise kernel must be 1x1, got shape {pw.shape}")
    return from_channels_last(_conv_cl(op, h, pw, 1, "valid", 1, 1), fmt)
