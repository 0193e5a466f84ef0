"""Convolution layers: Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D.

Arguments, defaults, ``get_config`` keys, weight names, shapes and order follow Keras 3, so saved weights carry over:

- ``ConvND``: ``kernel`` ``(*kernel_size, in_channels // groups, filters)``, ``bias`` ``(filters,)``
- ``ConvNDTranspose``: ``kernel`` ``(*kernel_size, filters, in_channels)``, ``bias`` ``(filters,)``
- ``DepthwiseConvND``: ``kernel`` ``(*kernel_size, in_channels, depth_multiplier)`` (Keras 3 names it "kernel";
  ``layer.depthwise_kernel`` is an alias), ``bias`` ``(in_channels * depth_multiplier,)``
- ``SeparableConvND``: ``depthwise_kernel`` ``(*kernel_size, in_channels, depth_multiplier)``, ``pointwise_kernel``
  ``(*ones, in_channels * depth_multiplier, filters)``, ``bias`` ``(filters,)``

>>> import kusari
>>> layer = kusari.layers.Conv2D(4, 3, padding="same")
>>> layer(kusari.ops.ones((2, 5, 5, 3))).shape, layer.kernel.shape
((2, 5, 5, 4), (3, 3, 3, 4))
"""
import inspect
import operator

from kusari import activations, config, ops
from kusari.layers.core import _add_weight_with_options, _init_weight_options, _weight_options_config
from kusari.layers.layer import Layer
from kusari.ops.conv import conv_bias_act, output_spatial, padding_pairs

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
           "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
           "Convolution3DTranspose", "SeparableConvolution1D", "SeparableConvolution2D"]


# -- argument checks (Keras' messages, naming the layer) -----------------------------------------------------------

def _int(v):
    """``v`` as a Python int (NumPy integers too), or None if it is not an integer."""
    if isinstance(v, bool):
        return None
    try:
        return operator.index(v)
    except TypeError:
        return None


def _tuple(value, rank, name, layer, allow_zero=False):
    if _int(value) is not None:
        t = (_int(value),) * rank
    else:
        try:
            t = tuple(_int(v) for v in value)
        except TypeError:
            raise TypeError(f"{layer}: {name} must be an int or a tuple of {rank} ints, got {value!r}") from None
        if len(t) != rank or None in t:
            raise ValueError(f"{layer}: {name} must be an int or a tuple of {rank} ints, got {value!r}")
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in t):
        raise ValueError(f"{layer}: {name} must be {'non-negative' if allow_zero else 'positive'}, got {value!r}")
    return t


def _padding(padding, layer, allow_causal=False):
    p = padding.lower() if isinstance(padding, str) else padding
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if p not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {padding!r}")
    return p


def _data_format(data_format, layer):
    fmt = config.image_data_format() if data_format is None else str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return fmt


def _positive_int(value, name, layer):
    v = _int(value)
    if v is None or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return v


def _spatial_axes(rank, data_format):
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))


def _conv_out_shape(input_shape, rank, data_format, out_channels, kernel_size, strides, padding, dilation):
    """Keras' compute_conv_output_shape (None dims stay None)."""
    input_shape = tuple(input_shape)
    spatial = [input_shape[a] for a in _spatial_axes(rank, data_format)]
    out = []
    for n, k, s, d in zip(spatial, kernel_size, strides, dilation):
        if n is None:
            out.append(None)
        elif padding == "same":
            out.append(-(-n // s))
        else:   # valid; causal pads (k - 1) * d in front, so it sizes like same with stride 1
            lo_hi = (((k - 1) * d, 0),) if padding == "causal" else ((0, 0),)
            out.append(output_spatial((n,), (k,), (s,), lo_hi, (d,))[0])
    if data_format == "channels_last":
        return (input_shape[0],) + tuple(out) + (out_channels,)
    return (input_shape[0], out_channels) + tuple(out)


def _check_rank(layer, inputs, rank):
    if len(inputs.shape) != rank + 2:
        layout = "(batch, " + ", ".join(["spatial"] * rank) + ", channels)" \
            if layer.data_format == "channels_last" else "(batch, channels, " + ", ".join(["spatial"] * rank) + ")"
        raise ValueError(f"{layer.name} ({type(layer).__name__}): expected inputs of rank {rank + 2} {layout}, "
                         f"got shape {tuple(inputs.shape)}")


def _channels(layer, input_shape):
    c = input_shape[-1] if layer.data_format == "channels_last" else input_shape[1]
    if c is None:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): the channel dimension of the inputs must be "
                         f"known, got shape {tuple(input_shape)}")
    return c


def _check_channels(layer, inputs, expected):
    c = inputs.shape[-1] if layer.data_format == "channels_last" else inputs.shape[1]
    if c != expected:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): the layer was built for {expected} input "
                         f"channels, got inputs of shape {tuple(inputs.shape)} ({layer.data_format})")


def _add_bias(layer, outputs, bias, rank):
    if bias is None:
        return outputs
    n = bias.shape[0]
    shape = (1,) * (rank + 1) + (n,) if layer.data_format == "channels_last" else (1, n) + (1,) * rank
    return outputs + ops.reshape(bias, shape)


def _common_config(layer):
    return {"kernel_size": layer.kernel_size, "strides": layer.strides, "padding": layer.padding,
            "data_format": layer.data_format, "dilation_rate": layer.dilation_rate}


class _ConvLayer(Layer):
    """What the convolution layers share: the geometry arguments' checks, the bias plus activation after the
    convolution, and the input checks of ``build``."""

    rank = None

    def _init_geometry(self, cls, kernel_size, strides, dilation_rate, padding, allow_causal=False):
        rank = self.rank
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size", cls)
        self.strides = _tuple(strides, rank, "strides", cls)
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate", cls)
        self.padding = _padding(padding, cls, allow_causal=allow_causal)

    def _init_output(self, cls, data_format, activation, use_bias):
        self.data_format = _data_format(data_format, cls)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: strides > 1 is not supported together with dilation_rate > 1, got "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias

    def _input_channels(self, input_shape):
        """``build``'s check of the input rank; the number of input channels."""
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected inputs of rank {self.rank + 2}, got "
                             f"shape {tuple(input_shape)}")
        return _channels(self, input_shape)

    def _add_bias_weight(self, size):
        return _add_weight_with_options(self, (size,), "bias") if self.use_bias else None

    def _bias_and_activation(self, y):
        y = _add_bias(self, y, self.bias, self.rank)
        return self.activation(y) if self.activation is not None else y


# -- Conv1D / Conv2D / Conv3D --------------------------------------------------------------------------------------

class BaseConv(_ConvLayer):
    """N-D convolution (cross-correlation) plus bias and activation; see ``Conv2D``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if lora_rank:
            raise NotImplementedError(f"{cls}(lora_rank=...) is not supported by kusari yet")
        self.filters = _positive_int(filters, "filters", cls)
        self.groups = _positive_int(groups, "groups", cls)
        if self.filters % self.groups:
            raise ValueError(f"{cls}: the number of filters must be divisible by the number of groups, got "
                             f"filters={filters}, groups={groups}")
        self._init_geometry(cls, kernel_size, strides, dilation_rate, padding, allow_causal=self.rank == 1)
        self._init_output(cls, data_format, activation, use_bias)
        _init_weight_options(self, ("kernel", "bias"), locals())

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        if c % self.groups:
            raise ValueError(f"{self.name} ({type(self).__name__}): the number of input channels ({c}) must be "
                             f"divisible by groups={self.groups} (input shape {tuple(input_shape)})")
        self.kernel = _add_weight_with_options(self, self.kernel_size + (c // self.groups, self.filters), "kernel")
        self.bias = self._add_bias_weight(self.filters)
        self.built = True

    def call(self, inputs):
        _check_rank(self, inputs, self.rank)
        _check_channels(self, inputs, self.kernel.shape[-2] * self.groups)
        padding = self.padding
        if padding == "causal":
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            pads = [[0, 0], [left, 0], [0, 0]] if self.data_format == "channels_last" else \
                [[0, 0], [0, 0], [left, 0]]
            inputs = ops.pad(inputs, pads)
            padding = "valid"
        act = self.activation
        if (self.groups == 1 and self.data_format == "channels_last"
                and (act is None or act is activations.relu or act is activations.linear)):
            # one fused node for conv + bias (+ relu): see ops.conv.conv_bias_act
            return conv_bias_act(inputs, self.kernel, self.bias, relu=act is activations.relu,
                                 strides=self.strides, padding=padding, dilation_rate=self.dilation_rate)
        y = ops.conv(inputs, self.kernel, strides=self.strides, padding=padding, data_format=self.data_format,
                     dilation_rate=self.dilation_rate)
        return self._bias_and_activation(y)

    def compute_output_shape(self, input_shape):
        return _conv_out_shape(input_shape, self.rank, self.data_format, self.filters, self.kernel_size,
                               self.strides, self.padding, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **_common_config(self), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_weight_options_config(self, ("kernel", "bias"))}


class Conv1D(BaseConv):
    """1D convolution over ``(batch, steps, channels)``; ``padding`` may also be ``"causal"``.

    >>> import kusari
    >>> layer = kusari.layers.Conv1D(4, 3)
    >>> layer(kusari.ops.ones((2, 10, 3))).shape, layer.kernel.shape
    ((2, 8, 4), (3, 3, 4))
    """
    rank = 1


class Conv2D(BaseConv):
    """2D convolution over ``(batch, rows, cols, channels)`` (``channels_first``: ``(batch, channels, rows, cols)``).

    >>> import kusari
    >>> layer = kusari.layers.Conv2D(32, (3, 3), activation="relu")
    >>> layer(kusari.ops.ones((1, 28, 28, 1))).shape, layer.count_params()
    ((1, 26, 26, 32), 320)
    """
    rank = 2


class Conv3D(BaseConv):
    """3D convolution over ``(batch, d1, d2, d3, channels)``.

    >>> import kusari
    >>> kusari.layers.Conv3D(2, 3, strides=2, padding="same")(kusari.ops.ones((1, 5, 5, 5, 1))).shape
    (1, 3, 3, 3, 2)
    """
    rank = 3


# -- transposed convolutions ---------------------------------------------------------------------------------------

class BaseConvTranspose(_ConvLayer):
    """N-D transposed convolution; kernel ``(*kernel_size, filters, in_channels)``; see ``Conv2DTranspose``."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = _positive_int(filters, "filters", cls)
        self._init_geometry(cls, kernel_size, strides, dilation_rate, padding)
        self.output_padding = None if output_padding is None else \
            _tuple(output_padding, self.rank, "output_padding", cls, allow_zero=True)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{cls}: output_padding must be smaller than strides, got "
                             f"output_padding={self.output_padding}, strides={self.strides}")
        self._init_output(cls, data_format, activation, use_bias)
        _init_weight_options(self, ("kernel", "bias"), locals())

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        self.kernel = _add_weight_with_options(self, self.kernel_size + (self.filters, c), "kernel")
        self.bias = self._add_bias_weight(self.filters)
        self.built = True

    def call(self, inputs):
        _check_rank(self, inputs, self.rank)
        _check_channels(self, inputs, self.kernel.shape[-1])
        y = ops.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                               output_padding=self.output_padding, data_format=self.data_format,
                               dilation_rate=self.dilation_rate)
        return self._bias_and_activation(y)

    def compute_output_shape(self, input_shape):
        """Keras' compute_conv_transpose_output_shape (None dims stay None)."""
        input_shape = tuple(input_shape)
        spatial = [input_shape[a] for a in _spatial_axes(self.rank, self.data_format)]
        opad = self.output_padding or (None,) * self.rank
        out = []
        for n, k, s, d, p in zip(spatial, self.kernel_size, self.strides, self.dilation_rate, opad):
            if n is None:
                out.append(None)
                continue
            ke = (k - 1) * d + 1
            if p is None:
                out.append(n * s if self.padding == "same" else (n - 1) * s + max(ke, s))
            else:
                out.append((n - 1) * s + (ke % 2 if self.padding == "same" else ke) + p)
        if self.data_format == "channels_last":
            return (input_shape[0],) + tuple(out) + (self.filters,)
        return (input_shape[0], self.filters) + tuple(out)

    def get_config(self):
        # Keras 3 leaves output_padding out of the config (so a reloaded layer loses it); kusari keeps it.
        return {**super().get_config(), "filters": self.filters, **_common_config(self),
                "output_padding": self.output_padding,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_weight_options_config(self, ("kernel", "bias"))}


class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution (deconvolution) over ``(batch, steps, channels)``.

    >>> import kusari
    >>> layer = kusari.layers.Conv1DTranspose(4, 3, strides=2, padding="same")
    >>> layer(kusari.ops.ones((2, 5, 3))).shape, layer.kernel.shape
    ((2, 10, 4), (3, 4, 3))
    """
    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution; kernel ``(*kernel_size, filters, in_channels)`` as in Keras.

    >>> import kusari
    >>> layer = kusari.layers.Conv2DTranspose(8, 3, strides=2)
    >>> layer(kusari.ops.ones((1, 4, 4, 3))).shape, layer.kernel.shape
    ((1, 9, 9, 8), (3, 3, 8, 3))
    """
    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution over ``(batch, d1, d2, d3, channels)``.

    >>> import kusari
    >>> kusari.layers.Conv3DTranspose(2, 2, strides=2)(kusari.ops.ones((1, 2, 2, 2, 1))).shape
    (1, 4, 4, 4, 2)
    """
    rank = 3


# -- depthwise convolutions ----------------------------------------------------------------------------------------

class BaseDepthwiseConv(_ConvLayer):
    """Depthwise convolution: each input channel with its own ``depth_multiplier`` filters; see ``DepthwiseConv2D``.
    """

    rank = None

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", cls)
        self._init_geometry(cls, kernel_size, strides, dilation_rate, padding)
        self._init_output(cls, data_format, activation, use_bias)
        _init_weight_options(self, ("depthwise", "bias"), locals())

    @property
    def depthwise_kernel(self):
        """Keras 2's name for the kernel (Keras 3 calls the weight ``kernel``)."""
        return self.kernel

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        self.kernel = _add_weight_with_options(self, self.kernel_size + (c, self.depth_multiplier), "depthwise",
                                               name="kernel")
        self.bias = self._add_bias_weight(c * self.depth_multiplier)
        self.built = True

    def call(self, inputs):
        _check_rank(self, inputs, self.rank)
        _check_channels(self, inputs, self.kernel.shape[-2])
        y = ops.depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                               data_format=self.data_format, dilation_rate=self.dilation_rate)
        return self._bias_and_activation(y)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        return _conv_out_shape(input_shape, self.rank, self.data_format,
                               None if c is None else c * self.depth_multiplier, self.kernel_size, self.strides,
                               self.padding, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, **_common_config(self),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_weight_options_config(self, ("depthwise", "bias"))}


class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution; output channels ``in_channels * depth_multiplier``.

    >>> import kusari
    >>> layer = kusari.layers.DepthwiseConv1D(3, depth_multiplier=2)
    >>> layer(kusari.ops.ones((2, 6, 3))).shape, layer.kernel.shape
    ((2, 4, 6), (3, 3, 2))
    """
    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution; kernel ``(*kernel_size, in_channels, depth_multiplier)``, output channel
    ``c * depth_multiplier + m``.

    >>> import kusari
    >>> layer = kusari.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    >>> layer(kusari.ops.ones((1, 5, 5, 3))).shape, layer.kernel.shape
    ((1, 5, 5, 6), (3, 3, 3, 2))
    """
    rank = 2


# -- separable convolutions ----------------------------------------------------------------------------------------

class BaseSeparableConv(_ConvLayer):
    """A depthwise convolution followed by a pointwise (1x1) one; see ``SeparableConv2D``."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", cls)
        self.filters = _positive_int(filters, "filters", cls)
        self._init_geometry(cls, kernel_size, strides, dilation_rate, padding)
        self._init_output(cls, data_format, activation, use_bias)
        _init_weight_options(self, ("depthwise", "pointwise", "bias"), locals())

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        self.depthwise_kernel = _add_weight_with_options(self, self.kernel_size + (c, self.depth_multiplier),
                                                         "depthwise", name="depthwise_kernel")
        self.pointwise_kernel = _add_weight_with_options(
            self, (1,) * self.rank + (c * self.depth_multiplier, self.filters), "pointwise", name="pointwise_kernel")
        self.bias = self._add_bias_weight(self.filters)
        self.built = True

    def call(self, inputs):
        _check_rank(self, inputs, self.rank)
        _check_channels(self, inputs, self.depthwise_kernel.shape[-2])
        y = ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel, strides=self.strides,
                               padding=self.padding, data_format=self.data_format,
                               dilation_rate=self.dilation_rate)
        return self._bias_and_activation(y)

    def compute_output_shape(self, input_shape):
        return _conv_out_shape(input_shape, self.rank, self.data_format, self.filters, self.kernel_size,
                               self.strides, self.padding, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                **_common_config(self),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_weight_options_config(self, ("depthwise", "pointwise", "bias"))}


class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution over ``(batch, steps, channels)``.

    >>> import kusari
    >>> layer = kusari.layers.SeparableConv1D(4, 3)
    >>> layer(kusari.ops.ones((2, 6, 3))).shape, layer.pointwise_kernel.shape
    ((2, 4, 4), (1, 3, 4))
    """
    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution: weights ``depthwise_kernel`` (*k, in, dm), ``pointwise_kernel`` (1, 1, in*dm,
    filters), ``bias`` (filters,) — Keras' names and order.

    >>> import kusari
    >>> layer = kusari.layers.SeparableConv2D(8, 3, depth_multiplier=2)
    >>> layer(kusari.ops.ones((1, 5, 5, 3))).shape, [w.shape for w in layer.weights]
    ((1, 3, 3, 8), [(3, 3, 3, 2), (1, 1, 6, 8), (8,)])
    """
    rank = 2


def _keras_signature(cls, order=None, **defaults):
    """Give ``cls`` Keras' own constructor signature: other defaults (Keras writes ``strides=(1, 1)`` for 2D layers
    where the shared base says ``1``; both mean the same) and, with ``order``, Keras' parameter order. Arguments
    are bound against that signature, then passed on by keyword."""
    base_init = cls.__init__
    sig = inspect.signature(base_init)
    params = [p.replace(default=defaults[p.name]) if p.name in defaults else p for p in sig.parameters.values()]
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        params.sort(key=lambda p: (p.kind, rank.get(p.name, len(rank))))
    new_sig = sig.replace(parameters=params)

    def __init__(self, *args, **kwargs):
        bound = new_sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self")
        extra = arguments.pop("kwargs", {})
        base_init(self, **arguments, **extra)

    __init__.__signature__ = new_sig
    __init__.__doc__ = base_init.__doc__
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = __init__


for _cls in (Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D):
    _keras_signature(_cls, strides=(1, 1), dilation_rate=(1, 1))
_keras_signature(Conv3D, strides=(1, 1, 1), dilation_rate=(1, 1, 1))
# Keras' Conv3DTranspose (alone among the transposed convolutions) takes data_format before output_padding.
_keras_signature(Conv3DTranspose, order=("self", "filters", "kernel_size", "strides", "padding", "data_format",
                                         "output_padding"), strides=(1, 1, 1), dilation_rate=(1, 1, 1))
del _cls

# Keras' aliases
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = \
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
