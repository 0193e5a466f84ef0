"""Preprocessing layers with Keras 3's names, arguments and weights: Rescaling, CenterCrop, Normalization.

>>> import kusari
>>> kusari.layers.Rescaling(1 / 255)(kusari.tensor([[0.0, 255.0]])).tolist()
[[0.0, 1.0]]
"""
from kusari import config, ops
from kusari.layers.layer import Layer
from kusari.tensor import Tensor

__all__ = ["Rescaling", "CenterCrop", "Normalization"]

_EPSILON = 1e-7   # Keras' backend.epsilon()


class Rescaling(Layer):
    """``inputs * scale + offset`` in the layer's float dtype (integer images become floats)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype)
        return x * ops.cast(self.scale, self.dtype) + ops.cast(self.offset, self.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class CenterCrop(Layer):
    """The central ``height`` x ``width`` window of images ``(batch, h, w, c)`` or ``(h, w, c)``
    (``channels_first``: ``(batch, c, h, w)``).

    >>> import kusari
    >>> kusari.layers.CenterCrop(2, 2)(kusari.ops.ones((1, 4, 5, 3))).shape
    (1, 2, 2, 3)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        fmt = config.image_data_format() if data_format is None else data_format
        if fmt not in ("channels_last", "channels_first"):
            raise ValueError(f"CenterCrop: data_format must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = fmt
        self.built = True

    def _hw_axes(self, ndim):
        if ndim not in (3, 4):
            raise ValueError(f"{self.name} (CenterCrop): expected images of rank 3 or 4, got rank {ndim}")
        return (ndim - 3, ndim - 2) if self.data_format == "channels_last" else (ndim - 2, ndim - 1)

    def call(self, inputs):
        x = ops.convert_to_tensor(inputs)
        ha, wa = self._hw_axes(x.ndim)
        h, w = x.shape[ha], x.shape[wa]
        if h < self.height or w < self.width:
            raise NotImplementedError(f"{self.name} (CenterCrop): images of {h}x{w} are smaller than the crop "
                                      f"{self.height}x{self.width}; Keras resizes them first, which kusari does "
                                      "not do yet")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        index = [slice(None)] * x.ndim
        index[ha] = slice(top, top + self.height)
        index[wa] = slice(left, left + self.width)
        return ops.cast(x[tuple(index)], self.dtype)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        ha, wa = self._hw_axes(len(shape))
        shape[ha], shape[wa] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height,
                "width": self.width}


class Normalization(Layer):
    """``(x - mean) / max(sqrt(variance), 1e-7)`` per feature on ``axis`` (``invert=True``: the inverse).

    ``mean`` / ``variance`` are given, or learned from data with ``adapt(data)``; then the layer has Keras' three
    non-trainable weights ``mean``, ``variance``, ``count``.

    >>> import kusari
    >>> norm = kusari.layers.Normalization()
    >>> norm.adapt(kusari.tensor([[0.0, 10.0], [2.0, 30.0]]))
    >>> norm(kusari.tensor([[1.0, 20.0]])).tolist()
    [[0.0, 0.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization: give both mean and variance or neither, got mean={mean!r}, "
                             f"variance={variance!r}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True

    def _shapes(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"{self.name} (Normalization): axis {self.axis} out of range for inputs of rank {ndim}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(f"{self.name} (Normalization): axis {d} must have a known size, got input shape "
                                 f"{tuple(input_shape)}")
        reduce = tuple(d for d in range(ndim) if d not in keep)
        broadcast = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        return keep, reduce, broadcast, tuple(input_shape[d] for d in keep)

    def build(self, input_shape):
        self._keep, self._reduce, self._broadcast, shape = self._shapes(tuple(input_shape))
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=shape, initializer="ones", trainable=False, name="variance")
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        self.built = True

    def _mean_variance(self):
        if self.input_mean is None:
            return ops.reshape(self.adapt_mean, self._broadcast), ops.reshape(self.adapt_variance, self._broadcast)
        out = []
        for v in (self.input_mean, self.input_variance):
            t = ops.cast(ops.convert_to_tensor(v), self.dtype)
            if t.ndim == 0:
                t = ops.broadcast_to(t, self._broadcast)
            else:
                t = ops.reshape(t, self._broadcast)
            out.append(t)
        return tuple(out)

    def adapt(self, data, batch_size=None, steps=None):
        """Set ``mean`` and ``variance`` from ``data``: an array, a tensor, or an iterable of batches
        (``x`` or ``(x, y)`` tuples, e.g. a kusari Dataset)."""
        if self.input_mean is not None:
            raise ValueError(f"{self.name} (Normalization): adapt() needs a layer built without mean/variance")
        if isinstance(data, Tensor) or hasattr(data, "shape"):
            x = ops.cast(ops.convert_to_tensor(data), self.dtype)
        else:
            batches = []
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                if isinstance(batch, (tuple, list)):
                    batch = batch[0]
                batches.append(ops.cast(ops.convert_to_tensor(batch), self.dtype))
            if not batches:
                raise ValueError(f"{self.name} (Normalization): adapt() got no data")
            x = ops.concatenate(batches, axis=0)
        if not self.built:
            self.build(x.shape)
        mean = ops.mean(x, axis=self._reduce)
        variance = ops.var(x, axis=self._reduce)
        self.adapt_mean.assign(ops.reshape(mean, self.adapt_mean.shape))
        self.adapt_variance.assign(ops.reshape(variance, self.adapt_variance.shape))

    def call(self, inputs):
        x = ops.cast(ops.convert_to_tensor(inputs), self.dtype)
        mean, variance = self._mean_variance()
        std = ops.maximum(ops.sqrt(variance), ops.cast(_EPSILON, self.dtype))
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        def plain(v):
            if v is None or isinstance(v, (int, float)):
                return v
            return ops.convert_to_tensor(v).tolist()
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}
