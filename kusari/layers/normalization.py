"""Normalisation layers: BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization.

Defaults, weight names and order follow Keras 3, so weights saved from Keras load as they are.
"""
from kusari import constraints, initializers, ops, regularizers
from kusari.autograd.mode import no_grad
from kusari.layers.core import _constraint_config, _serialize
from kusari.layers.layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"]


def _axis_index(axis, ndim, layer):
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < ndim:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): axis {axis} is out of range for an input of rank "
                         f"{ndim}")
    return a


class _GammaBeta(Layer):
    """Shared argument handling for layers with ``gamma`` / ``beta``."""

    def _known_axis_dim(self, input_shape, layer_type):
        """``build``'s check: the size of ``input_shape`` along ``self.axis``, which must be known."""
        dim = input_shape[_axis_index(self.axis, len(input_shape), self)]
        if dim is None:
            raise ValueError(f"{self.name} ({layer_type}): axis {self.axis} of the input must be known, got "
                             f"shape {tuple(input_shape)}")
        return dim

    def _init_gamma_beta(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint):
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None

    def _add_gamma_beta(self, shape, gamma=True, beta=True):
        if gamma:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if beta:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")

    def _gamma_beta_config(self):
        return {"center": self.center, "scale": self.scale,
                "beta_initializer": _serialize(self.beta_initializer, initializers),
                "gamma_initializer": _serialize(self.gamma_initializer, initializers),
                "beta_regularizer": _serialize(self.beta_regularizer, regularizers),
                "gamma_regularizer": _serialize(self.gamma_regularizer, regularizers),
                "beta_constraint": _constraint_config(self.beta_constraint),
                "gamma_constraint": _constraint_config(self.gamma_constraint)}


class BatchNormalization(_GammaBeta):
    """Normalises over the batch (and every axis but ``axis``), then ``* gamma + beta``.

    ``training=True``: uses the batch's mean and (biased) variance and updates
    ``moving = moving * momentum + batch * (1 - momentum)``; otherwise (and always when the layer is frozen,
    ``trainable=False``, as in Keras 3) uses ``moving_mean`` / ``moving_variance``. Weights:
    ``[gamma, beta, moving_mean, moving_variance]``. A mask (e.g. from ``Embedding(mask_zero=True)``) weights the
    batch statistics as Keras does.

    >>> import kusari
    >>> bn = kusari.layers.BatchNormalization()
    >>> y = bn(kusari.tensor([[0.0, 2.0], [2.0, 6.0]]), training=True)
    >>> y.numpy().round(2).tolist(), [round(float(v), 2) for v in bn.moving_mean.numpy()]
    ([[-1.0, -1.0], [1.0, 1.0]], [0.01, 0.04])
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise NotImplementedError("BatchNormalization(renorm=True) (batch renormalization) is not supported by "
                                      "kusari yet")
        self.renorm_clipping, self.renorm_momentum = renorm_clipping, float(renorm_momentum)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"BatchNormalization: axis must be an int, got {axis!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.synchronized = bool(synchronized)   # one process: nothing to synchronise
        self._init_gamma_beta(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        dim = self._known_axis_dim(input_shape, "BatchNormalization")
        self._add_gamma_beta((dim,), gamma=self.scale, beta=self.center)
        self.moving_mean = self.add_weight(shape=(dim,), initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=(dim,), initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.built = True

    def _masked_moments(self, inputs, mask, axes):
        # Keras' weighting, kept exactly (including using the weighted inputs in the difference)
        w = ops.cast(mask, inputs.dtype)
        while w.ndim < inputs.ndim:
            w = ops.expand_dims(w, -1)
        weighted = w * inputs
        total = ops.sum(w, axis=axes, keepdims=True)
        mean = ops.sum(weighted, axis=axes, keepdims=True) / (total + 1e-7)
        var = ops.sum(w * ops.square(weighted - mean), axis=axes, keepdims=True) / (total + 1e-7)
        return ops.squeeze(mean, axes), ops.squeeze(var, axes)

    def call(self, inputs, training=None, mask=None):
        ax = _axis_index(self.axis, inputs.ndim, self)
        if inputs.shape[ax] != self.moving_mean.shape[0]:
            raise ValueError(f"{self.name} (BatchNormalization): expected {self.moving_mean.shape[0]} features on "
                             f"axis {self.axis}, got an input of shape {inputs.shape}")
        axes = tuple(i for i in range(inputs.ndim) if i != ax)
        if training and self.trainable:
            if mask is None:
                # fused op: one graph node, closed-form backward
                y, mean, var = ops.batch_norm_train(inputs, self.gamma, self.beta, axes, epsilon=self.epsilon)
            else:
                mean, var = self._masked_moments(inputs, mask, axes)
                y = ops.batch_normalization(inputs, mean, var, ax, offset=self.beta, scale=self.gamma,
                                            epsilon=self.epsilon)
            m = self.momentum
            with no_grad():
                self.moving_mean.assign(ops.cast(self.moving_mean * m + ops.stop_gradient(mean) * (1.0 - m),
                                                 self.moving_mean.dtype))
                self.moving_variance.assign(ops.cast(self.moving_variance * m + ops.stop_gradient(var) * (1.0 - m),
                                                     self.moving_variance.dtype))
            return y
        return ops.batch_normalization(inputs, self.moving_mean, self.moving_variance, ax, offset=self.beta,
                                       scale=self.gamma, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                **self._gamma_beta_config(),
                "moving_mean_initializer": _serialize(self.moving_mean_initializer, initializers),
                "moving_variance_initializer": _serialize(self.moving_variance_initializer, initializers),
                "renorm": False, "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum,
                "synchronized": self.synchronized}


def _axes_tuple(axis, what):
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    try:
        if isinstance(axis, str):
            raise TypeError
        return tuple(int(a) for a in axis)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: axis must be an int or a list/tuple of ints, got {axis!r}") from None


class LayerNormalization(_GammaBeta):
    """Normalises each sample over ``axis`` (int or list) to mean 0, variance 1, then ``* gamma + beta``.

    ``rms_scaling=True`` skips centring and ``beta`` and, as in Keras 3, computes
    ``x * rsqrt(var(x) + epsilon) * gamma`` (Keras' own formula: the variance, not the mean of squares).

    >>> import kusari
    >>> ln = kusari.layers.LayerNormalization(epsilon=0.0)
    >>> ln(kusari.tensor([[1.0, 3.0]])).tolist(), [w.name for w in ln.weights]
    ([[-1.0, 1.0]], ['gamma', 'beta'])
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_tuple(axis, "LayerNormalization")
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        self._init_gamma_beta(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def _axes(self, ndim):
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        return tuple(sorted(_axis_index(a, ndim, self) for a in axes))

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"{self.name} (LayerNormalization): the normalised axes {self.axis} of the input must "
                             f"be known, got shape {tuple(input_shape)}")
        self._add_gamma_beta(shape, gamma=self.scale or self.rms_scaling, beta=self.center and not self.rms_scaling)
        self.built = True

    def call(self, inputs, mask=None):
        axes = self._axes(inputs.ndim)
        want = tuple(inputs.shape[a] for a in axes)
        have = self.gamma.shape if self.gamma is not None else self.beta.shape if self.beta is not None else want
        if want != tuple(have):
            raise ValueError(f"{self.name} (LayerNormalization): built for size {tuple(have)} on axes {self.axis}, "
                             f"got an input of shape {inputs.shape}")
        bshape = tuple(s if i in axes else 1 for i, s in enumerate(inputs.shape))
        if self.rms_scaling:
            var = ops.var(inputs, axis=axes, keepdims=True)
            return inputs * ops.rsqrt(var + self.epsilon) * ops.reshape(self.gamma, bshape)
        if tuple(axes) == (inputs.ndim - 1,) and inputs.dtype in ("float32", "float64"):
            from kusari.ops.normalization import layer_norm_last      # one fused node (the common case)
            return layer_norm_last(inputs, self.gamma, self.beta, self.epsilon)
        mean = ops.mean(inputs, axis=axes, keepdims=True)
        d = inputs - mean
        var = ops.mean(d * d, axis=axes, keepdims=True)
        y = d * ops.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * ops.reshape(self.gamma, bshape)
        if self.beta is not None:
            y = y + ops.reshape(self.beta, bshape)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "rms_scaling": self.rms_scaling,
                **self._gamma_beta_config()}


class GroupNormalization(_GammaBeta):
    """Splits the channels (``axis``) into ``groups`` contiguous groups and normalises each group per sample
    (``groups=-1``: one channel per group, i.e. instance normalisation). ``gamma`` / ``beta`` are per channel.

    >>> import kusari
    >>> gn = kusari.layers.GroupNormalization(groups=2)
    >>> gn(kusari.ops.ones((2, 5, 4))).shape, [w.shape for w in gn.weights]
    ((2, 5, 4), [(4,), (4,)])
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.groups = int(groups)
        if self.groups == 0 or self.groups < -1:
            raise ValueError(f"GroupNormalization: groups must be a positive int or -1, got {groups!r}")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"GroupNormalization: axis must be an int, got {axis!r}")
        self.axis = axis
        self.epsilon = float(epsilon)
        self._init_gamma_beta(center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        dim = self._known_axis_dim(input_shape, "GroupNormalization")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"{self.name} (GroupNormalization): number of groups ({self.groups}) cannot be more "
                             f"than the number of channels ({dim}); input shape {tuple(input_shape)}")
        if dim % self.groups:
            raise ValueError(f"{self.name} (GroupNormalization): the number of channels ({dim}) must be a multiple "
                             f"of the number of groups ({self.groups}); input shape {tuple(input_shape)}")
        self._add_gamma_beta((dim,), gamma=self.scale, beta=self.center)
        self.built = True

    def call(self, inputs, mask=None):
        ax = _axis_index(self.axis, inputs.ndim, self)
        c = inputs.shape[ax]
        g = self.groups
        if c % g:
            raise ValueError(f"{self.name} (GroupNormalization): {c} channels do not split into {g} groups; input "
                             f"shape {inputs.shape}")
        gshape = inputs.shape[:ax] + (g, c // g) + inputs.shape[ax + 1:]
        x = ops.reshape(inputs, gshape)
        axes = tuple(i for i in range(1, x.ndim) if i != ax)
        mean = ops.mean(x, axis=axes, keepdims=True)
        d = x - mean
        var = ops.mean(d * d, axis=axes, keepdims=True)
        y = d * ops.rsqrt(var + self.epsilon)
        pshape = tuple(1 for _ in range(ax)) + (g, c // g) + tuple(1 for _ in range(ax + 1, inputs.ndim))
        if self.gamma is not None:
            y = y * ops.reshape(self.gamma, pshape)
        if self.beta is not None:
            y = y + ops.reshape(self.beta, pshape)
        return ops.reshape(y, inputs.shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                **self._gamma_beta_config()}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x / max(||x||, 1e-12)``.

    >>> import kusari
    >>> kusari.layers.UnitNormalization()(kusari.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_tuple(axis, "UnitNormalization")
        self.supports_masking = True

    def call(self, inputs, mask=None):
        axis = self.axis if isinstance(self.axis, int) else tuple(self.axis)
        sq = ops.sum(inputs * inputs, axis=axis, keepdims=True)
        return inputs * ops.minimum(ops.rsqrt(ops.maximum(sq, 1e-24)), 1e12)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
