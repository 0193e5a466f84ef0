"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D (Keras 3 arguments,
defaults and config keys; Keras' aliases MaxPool2D, AvgPool2D, GlobalAvgPool2D, … too).

"same" padding follows TensorFlow: the odd pad goes at the end, padded elements never win a max and are not counted
in an average.

>>> import kusari
>>> kusari.layers.MaxPooling2D()(kusari.ops.ones((2, 6, 6, 3))).shape
(2, 3, 3, 3)
"""
from kusari import ops
from kusari.layers.conv import _check_rank, _data_format, _padding, _tuple
from kusari.layers.layer import Layer

__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
           "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
           "GlobalMaxPool3D"]


class BasePooling(Layer):
    """Max or average pooling over ``pool_dimensions`` spatial axes; ``strides`` defaults to ``pool_size``."""

    pool_dimensions = None
    pool_mode = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        n = self.pool_dimensions
        self.pool_size = _tuple(pool_size, n, "pool_size", cls)
        self.strides = _tuple(pool_size if strides is None else strides, n, "strides", cls)
        self.padding = _padding(padding, cls)
        self.data_format = _data_format(data_format, cls)
        self.built = True

    def call(self, inputs):
        _check_rank(self, inputs, self.pool_dimensions)
        fn = ops.max_pool if self.pool_mode == "max" else ops.average_pool
        return fn(inputs, pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                  data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        n = self.pool_dimensions
        axes = range(1, n + 1) if self.data_format == "channels_last" else range(2, n + 2)
        out = list(input_shape)
        for a, k, s in zip(axes, self.pool_size, self.strides):
            d = input_shape[a]
            if d is not None:
                out[a] = -(-d // s) if self.padding == "same" else (d - k) // s + 1
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(BasePooling):
    """Max pooling over ``(batch, steps, features)``.

    >>> import kusari
    >>> x = kusari.tensor([[[1.0], [3.0], [2.0], [0.0], [5.0]]])
    >>> kusari.layers.MaxPooling1D()(x).numpy().ravel().tolist()
    [3.0, 2.0]
    """
    pool_dimensions, pool_mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling2D(BasePooling):
    """Max pooling over ``(batch, rows, cols, channels)``; ``pool_size=(2, 2)`` by default.

    >>> import kusari
    >>> kusari.layers.MaxPooling2D((2, 2))(kusari.ops.ones((1, 26, 26, 32))).shape
    (1, 13, 13, 32)
    """
    pool_dimensions, pool_mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling3D(BasePooling):
    """Max pooling over ``(batch, d1, d2, d3, channels)``.

    >>> import kusari
    >>> kusari.layers.MaxPooling3D(padding="same")(kusari.ops.ones((1, 3, 4, 5, 2))).shape
    (1, 2, 2, 3, 2)
    """
    pool_dimensions, pool_mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(BasePooling):
    """Average pooling over ``(batch, steps, features)``.

    >>> import kusari
    >>> x = kusari.tensor([[[1.0], [3.0], [2.0]]])
    >>> kusari.layers.AveragePooling1D(padding="same")(x).numpy().ravel().tolist()
    [2.0, 2.0]
    """
    pool_dimensions, pool_mode = 1, "average"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(BasePooling):
    """Average pooling over ``(batch, rows, cols, channels)``.

    >>> import kusari
    >>> kusari.layers.AveragePooling2D(3, strides=1)(kusari.ops.ones((1, 5, 5, 2))).shape
    (1, 3, 3, 2)
    """
    pool_dimensions, pool_mode = 2, "average"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling3D(BasePooling):
    """Average pooling over ``(batch, d1, d2, d3, channels)``.

    >>> import kusari
    >>> kusari.layers.AveragePooling3D()(kusari.ops.ones((1, 4, 4, 4, 2))).shape
    (1, 2, 2, 2, 2)
    """
    pool_dimensions, pool_mode = 3, "average"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class BaseGlobalPooling(Layer):
    """Max or mean over all spatial axes; ``keepdims=True`` keeps them as size 1."""

    pool_dimensions = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.built = True

    def _axes(self):
        n = self.pool_dimensions
        return tuple(range(1, n + 1)) if self.data_format == "channels_last" else tuple(range(2, n + 2))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        n = self.pool_dimensions
        c = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if not self.keepdims:
            return (input_shape[0], c)
        return (input_shape[0],) + (1,) * n + (c,) if self.data_format == "channels_last" else \
            (input_shape[0], c) + (1,) * n

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalAverage(BaseGlobalPooling):
    def call(self, inputs):
        _check_rank(self, inputs, self.pool_dimensions)
        return ops.mean(inputs, axis=self._axes(), keepdims=self.keepdims)


class _GlobalMax(BaseGlobalPooling):
    def call(self, inputs):
        _check_rank(self, inputs, self.pool_dimensions)
        return ops.max(inputs, axis=self._axes(), keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over the steps axis; with a mask (e.g. from ``Embedding(mask_zero=True)``) only unmasked steps count.

    >>> import kusari
    >>> x = kusari.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    >>> kusari.layers.GlobalAveragePooling1D()(x).tolist()
    [[3.0, 4.0]]
    >>> kusari.layers.GlobalAveragePooling1D()(x, mask=kusari.tensor([[True, True, False]])).tolist()
    [[2.0, 3.0]]
    """
    pool_dimensions = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        _check_rank(self, inputs, 1)
        if mask is None:
            return ops.mean(inputs, axis=self._axes(), keepdims=self.keepdims)
        steps_axis = 1 if self.data_format == "channels_last" else 2
        m = ops.expand_dims(ops.cast(mask, inputs.dtype), 2 if self.data_format == "channels_last" else 1)
        total = ops.sum(inputs * m, axis=steps_axis, keepdims=self.keepdims)
        return total / ops.sum(m, axis=steps_axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over rows and cols: ``(batch, rows, cols, channels) -> (batch, channels)``.

    >>> import kusari
    >>> kusari.layers.GlobalAveragePooling2D(keepdims=True)(kusari.ops.ones((2, 4, 4, 3))).shape
    (2, 1, 1, 3)
    """
    pool_dimensions = 2


class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over the three spatial axes.

    >>> import kusari
    >>> kusari.layers.GlobalAveragePooling3D()(kusari.ops.ones((2, 2, 3, 4, 5))).shape
    (2, 5)
    """
    pool_dimensions = 3


class GlobalMaxPooling1D(_GlobalMax):
    """Max over the steps axis.

    >>> import kusari
    >>> kusari.layers.GlobalMaxPooling1D()(kusari.tensor([[[1.0, 6.0], [3.0, 4.0]]])).tolist()
    [[3.0, 6.0]]
    """
    pool_dimensions = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Max over rows and cols.

    >>> import kusari
    >>> kusari.layers.GlobalMaxPooling2D(data_format="channels_first")(kusari.ops.ones((2, 3, 4, 4))).shape
    (2, 3)
    """
    pool_dimensions = 2


class GlobalMaxPooling3D(_GlobalMax):
    """Max over the three spatial axes.

    >>> import kusari
    >>> kusari.layers.GlobalMaxPooling3D()(kusari.ops.ones((2, 2, 3, 4, 5))).shape
    (2, 5)
    """
    pool_dimensions = 3


# Keras' aliases
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = \
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
