"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D.

None of them has weights; all are differentiable through ``kusari.ops`` (reshape, transpose, repeat, pad, slicing).
"""
from kusari import config, ops
from kusari.layers.layer import Layer

__all__ = ["Flatten", "Reshape", "Permute", "RepeatVector", "UpSampling1D", "UpSampling2D", "ZeroPadding1D",
           "ZeroPadding2D", "Cropping1D", "Cropping2D"]


def _data_format(value, layer):
    value = config.image_data_format() if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', got {value!r}")
    return value


def _int_tuple(value, n, name, layer, allow_zero=True):
    """An int or a sequence of ``n`` ints -> tuple of ``n`` ints (Keras' ``standardize_tuple``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        out = (value,) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            out = None
        if out is None or len(out) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in out):
            raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < 0 or (v == 0 and not allow_zero) for v in out):
        raise ValueError(f"{layer}: {name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return out


def _pairs2d(value, name, layer):
    """Keras' 2-D padding/cropping argument: int, (sym_h, sym_w) or ((top, bottom), (left, right))."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ((value, value), (value, value)) if value >= 0 else _bad_pairs(value, name, layer)
    try:
        items = tuple(value)
    except TypeError:
        return _bad_pairs(value, name, layer)
    if len(items) != 2:
        return _bad_pairs(value, name, layer)
    out = []
    for v in items:
        if isinstance(v, int) and not isinstance(v, bool):
            out.append((v, v))
        else:
            out.append(_int_tuple(v, 2, name, layer))
    if any(a < 0 or b < 0 for a, b in out):
        return _bad_pairs(value, name, layer)
    return tuple(out)


def _bad_pairs(value, name, layer):
    raise ValueError(f"{layer}: {name} must be a non-negative int, a tuple of 2 ints or a tuple of 2 tuples of "
                     f"2 ints, got {value!r}")


def _check_rank(layer, inputs, ndim):
    if inputs.ndim != ndim:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): expected a {ndim}-D input, got shape "
                         f"{inputs.shape}")


def _spatial_axes(data_format, n):
    return tuple(range(1, n + 1)) if data_format == "channels_last" else tuple(range(2, n + 2))


class Flatten(Layer):
    """Flattens each sample to one dimension: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...).

    With ``data_format="channels_first"`` the channels are first moved last, so the order of the flattened values
    matches a channels-last model (as in Keras).

    >>> import kusari
    >>> kusari.layers.Flatten()(kusari.ops.ones((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, "Flatten")

    def call(self, inputs):
        if inputs.ndim == 0:
            raise ValueError(f"{self.name} (Flatten): needs an input with a batch dimension, got a scalar")
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else _prod(rest)
        return (input_shape[0], n)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _prod(dims):
    n = 1
    for d in dims:
        n *= d
    return n


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch dimension is kept); one entry may be -1.

    >>> import kusari
    >>> kusari.layers.Reshape((2, 6))(kusari.ops.ones((4, 3, 4))).shape
    (4, 2, 6)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Reshape: target_shape must be a tuple of ints, got {target_shape!r}") from None
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(f"Reshape: target_shape must hold positive ints and at most one -1, got "
                             f"{target_shape}")
        self.target_shape = target_shape

    def _resolve(self, input_shape):
        total = _prod(input_shape)
        known = _prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            ok = known > 0 and total % known == 0
            out = tuple(total // known if d == -1 else d for d in self.target_shape) if ok else None
        else:
            ok = total == known
            out = self.target_shape
        if not ok:
            raise ValueError(f"{self.name} (Reshape): cannot reshape an input of shape {tuple(input_shape)} "
                             f"({total} values per sample) to target_shape {self.target_shape}")
        return out

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        if any(d is None for d in input_shape[1:]):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        return (input_shape[0],) + self._resolve(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch dimensions; ``dims`` counts from 1 (``(2, 1)`` swaps the first two).

    >>> import kusari
    >>> kusari.layers.Permute((2, 1))(kusari.ops.ones((5, 3, 4))).shape
    (5, 4, 3)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(dims)} (the batch dimension is 0 and "
                             f"is never moved), got {dims}")
        self.dims = dims
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(f"{self.name} (Permute): dims {self.dims} need a {len(self.dims) + 1}-D input, got "
                             f"shape {inputs.shape}")
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a (batch, features) input ``n`` times: output (batch, n, features).

    >>> import kusari
    >>> kusari.layers.RepeatVector(3)(kusari.ops.ones((2, 4))).shape
    (2, 3, 4)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"RepeatVector: n must be a positive int, got {n!r}")
        self.n = n

    def call(self, inputs):
        _check_rank(self, inputs, 2)
        x = ops.expand_dims(inputs, 1)
        return ops.broadcast_to(x, (inputs.shape[0], self.n, inputs.shape[1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class UpSampling1D(Layer):
    """Repeats each step of a (batch, steps, features) input ``size`` times along the steps.

    >>> import kusari
    >>> kusari.layers.UpSampling1D(2)(kusari.ops.ones((1, 3, 4))).shape
    (1, 6, 4)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        (self.size,) = _int_tuple(size, 1, "size", "UpSampling1D", allow_zero=False)

    def call(self, inputs):
        _check_rank(self, inputs, 3)
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _bilinear_matrix(n_in, n_out, dtype):
    """(n_out, n_in) weights of half-pixel bilinear resizing (TF ``resize`` / torch ``align_corners=False``)."""
    scale = n_in / n_out
    rows = []
    for i in range(n_out):
        src = max((i + 0.5) * scale - 0.5, 0.0)
        lo = min(int(src), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        frac = src - lo
        row = [0.0] * n_in
        row[lo] += 1.0 - frac
        row[hi] += frac
        rows.append(row)
    return ops.convert_to_tensor(rows, dtype=dtype)


class UpSampling2D(Layer):
    """Repeats rows and columns of an image by ``size`` = (rows, cols); ``interpolation`` "nearest" (default) or
    "bilinear" (half-pixel centres, as Keras/TF ``resize`` and torch ``align_corners=False``).

    >>> import kusari
    >>> kusari.layers.UpSampling2D((2, 3))(kusari.ops.ones((1, 2, 2, 5))).shape
    (1, 4, 6, 5)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _int_tuple(size, 2, "size", "UpSampling2D", allow_zero=False)
        self.data_format = _data_format(data_format, "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D: interpolation must be 'nearest' or 'bilinear' (kusari supports only "
                             f"these two), got {interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        _check_rank(self, inputs, 4)
        h_ax, w_ax = _spatial_axes(self.data_format, 2)
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, self.size[0], axis=h_ax), self.size[1], axis=w_ax)
        x = inputs if self.data_format == "channels_first" else ops.transpose(inputs, (0, 3, 1, 2))
        h, w = x.shape[2], x.shape[3]
        wh = _bilinear_matrix(h, h * self.size[0], x.dtype)
        ww = _bilinear_matrix(w, w * self.size[1], x.dtype)
        y = ops.matmul(ops.matmul(wh, x), ops.transpose(ww))
        return y if self.data_format == "channels_first" else ops.transpose(y, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for ax, s in zip(_spatial_axes(self.data_format, 2), self.size):
            out[ax] = None if out[ax] is None else out[ax] * s
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding1D(Layer):
    """Pads the steps axis of a 3-D input with zeros: ``padding`` int or (left, right).

    >>> import kusari
    >>> kusari.layers.ZeroPadding1D(2)(kusari.ops.ones((1, 3, 4))).shape
    (1, 7, 4)
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _int_tuple(padding, 2, "padding", "ZeroPadding1D")
        self.data_format = _data_format(data_format, "ZeroPadding1D")

    def call(self, inputs):
        _check_rank(self, inputs, 3)
        pairs = [(0, 0)] * 3
        pairs[_spatial_axes(self.data_format, 1)[0]] = self.padding
        return ops.pad(inputs, pairs)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        ax = _spatial_axes(self.data_format, 1)[0]
        out[ax] = None if out[ax] is None else out[ax] + sum(self.padding)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(Layer):
    """Pads rows and columns of an image with zeros: ``padding`` int, (rows, cols) or
    ((top, bottom), (left, right)).

    >>> import kusari
    >>> kusari.layers.ZeroPadding2D(((1, 0), (2, 3)))(kusari.ops.ones((1, 4, 4, 2))).shape
    (1, 5, 9, 2)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs2d(padding, "padding", "ZeroPadding2D")
        self.data_format = _data_format(data_format, "ZeroPadding2D")

    def call(self, inputs):
        _check_rank(self, inputs, 4)
        pairs = [(0, 0)] * 4
        for ax, p in zip(_spatial_axes(self.data_format, 2), self.padding):
            pairs[ax] = p
        return ops.pad(inputs, pairs)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for ax, p in zip(_spatial_axes(self.data_format, 2), self.padding):
            out[ax] = None if out[ax] is None else out[ax] + sum(p)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


def _crop(layer, inputs, axes, cropping):
    index = [slice(None)] * inputs.ndim
    for ax, (a, b) in zip(axes, cropping):
        n = inputs.shape[ax]
        if a + b >= n:
            raise ValueError(f"{layer.name} ({type(layer).__name__}): cropping {layer.cropping} must leave at "
                             f"least one element, but the input has shape {inputs.shape}")
        index[ax] = slice(a, n - b)
    return inputs[tuple(index)]


class Cropping1D(Layer):
    """Crops the steps axis of a (batch, steps, features) input: ``cropping`` int or (start, end).

    >>> import kusari
    >>> kusari.layers.Cropping1D((1, 2))(kusari.ops.ones((1, 6, 4))).shape
    (1, 3, 4)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_tuple(cropping, 2, "cropping", "Cropping1D")

    def call(self, inputs):
        _check_rank(self, inputs, 3)
        return _crop(self, inputs, (1,), (self.cropping,))

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n - sum(self.cropping), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(Layer):
    """Crops rows and columns of an image: ``cropping`` int, (rows, cols) or ((top, bottom), (left, right)).

    >>> import kusari
    >>> kusari.layers.Cropping2D(((1, 1), (0, 2)))(kusari.ops.ones((1, 5, 5, 3))).shape
    (1, 3, 3, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs2d(cropping, "cropping", "Cropping2D")
        self.data_format = _data_format(data_format, "Cropping2D")

    def call(self, inputs):
        _check_rank(self, inputs, 4)
        return _crop(self, inputs, _spatial_axes(self.data_format, 2), self.cropping)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for ax, c in zip(_spatial_axes(self.data_format, 2), self.cropping):
            out[ax] = None if out[ax] is None else out[ax] - sum(c)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
