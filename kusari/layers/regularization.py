"""Regularisation layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, ActivityRegularization.

The random layers act only when called with ``training=True`` (passed down automatically by a model in ``fit``);
each owns a ``kusari.random.SeedGenerator`` so ``seed=`` makes a fresh layer's sequence of masks reproducible.
"""
import math

from kusari import config, ops, random, regularizers
from kusari.layers.layer import Layer

__all__ = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
           "ActivityRegularization"]


def _check_rate(rate, name, what="rate"):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"{name}: invalid value for argument `{what}`; expected a float between 0 and 1, got "
                         f"{what}={rate!r}")
    return rate


class Dropout(Layer):
    """In training, zeros each input element with probability ``rate`` and scales the rest by ``1 / (1 - rate)``;
    identity at inference. ``noise_shape`` (None entries take the input's size) shares one mask across axes.

    >>> import kusari
    >>> layer = kusari.layers.Dropout(0.5, seed=0)
    >>> x = kusari.ops.ones((2, 4))
    >>> layer(x).tolist() == x.tolist()
    True
    >>> sorted(set(layer(x, training=True).numpy().ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate, "Dropout")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if rate > 0 else None
        self.supports_masking = True

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        if len(self.noise_shape) != inputs.ndim:
            raise ValueError(f"{self.name} ({type(self).__name__}): noise_shape {self.noise_shape} does not match "
                             f"the rank of the input of shape {inputs.shape}")
        return tuple(d if s is None else s for s, d in zip(self.noise_shape, inputs.shape))

    def call(self, inputs, training=None, mask=None):
        if not training or self.rate == 0:
            return inputs
        if self.rate >= 1:              # Keras would divide by zero; everything is dropped
            return inputs * 0.0
        return ops.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs), seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class _SpatialDropout(Dropout):
    _rank = None

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        fmt = config.image_data_format() if data_format is None else data_format
        if fmt not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = fmt

    def _noise_shape(self, inputs):
        if inputs.ndim != self._rank:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected a {self._rank}-D input, got shape "
                             f"{inputs.shape}")
        b = inputs.shape[0]
        ones = (1,) * (self._rank - 2)
        if self.data_format == "channels_last":
            return (b,) + ones + (inputs.shape[-1],)
        return (b, inputs.shape[1]) + ones

    def call(self, inputs, training=None, mask=None):
        self._noise_shape(inputs)       # rank check in every mode
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("noise_shape")
        return {**cfg, "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole feature maps of a (batch, steps, channels) input: one mask per sample and channel.

    >>> import kusari
    >>> y = kusari.layers.SpatialDropout1D(0.5, seed=1)(kusari.ops.ones((2, 3, 4)), training=True)
    >>> all(len(set(col)) == 1 for col in y.numpy().transpose(0, 2, 1).reshape(8, 3).tolist())
    True
    """
    _rank = 3

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, name=name, dtype=dtype, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format")
        return cfg


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole channels of an image (one mask per sample and channel).

    >>> import kusari
    >>> kusari.layers.SpatialDropout2D(0.5)(kusari.ops.ones((2, 3, 3, 4)), training=True).shape
    (2, 3, 3, 4)
    """
    _rank = 4


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole channels of a volume (one mask per sample and channel).

    >>> import kusari
    >>> kusari.layers.SpatialDropout3D(0.5)(kusari.ops.ones((1, 2, 2, 2, 3)), training=True).shape
    (1, 2, 2, 2, 3)
    """
    _rank = 5


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of ``stddev`` in training; identity at inference.

    >>> import kusari
    >>> layer = kusari.layers.GaussianNoise(0.1, seed=0)
    >>> layer(kusari.ops.ones((2, 3))).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _check_rate(stddev, "GaussianNoise", "stddev")
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if stddev > 0 else None
        self.supports_masking = True

    def call(self, inputs, training=None, mask=None):
        if not training or self.stddev == 0:
            return inputs
        noise = random.normal(inputs.shape, stddev=self.stddev, dtype=inputs.dtype, seed=self.seed_generator)
        return inputs + noise

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and stddev ``sqrt(rate / (1 - rate))`` in training.

    >>> import kusari
    >>> kusari.layers.GaussianDropout(0.2, seed=0)(kusari.ops.ones((2, 3)), training=True).shape
    (2, 3)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate, "GaussianDropout")
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if rate > 0 else None
        self.supports_masking = True

    def call(self, inputs, training=None, mask=None):
        if not training or self.rate == 0:
            return inputs
        if self.rate >= 1:
            return inputs * 0.0
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = random.normal(inputs.shape, mean=1.0, stddev=stddev, dtype=inputs.dtype, seed=self.seed_generator)
        return inputs * noise

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """Identity that adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of its input to ``layer.losses``.

    >>> import kusari
    >>> layer = kusari.layers.ActivityRegularization(l1=0.1)
    >>> layer(kusari.tensor([[1.0, -2.0]])).tolist(), len(layer.losses)
    ([[1.0, -2.0]], 1)
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
