"""Attention layers: MultiHeadAttention, Attention (dot-product, Luong) and AdditiveAttention (Bahdanau).

``MultiHeadAttention`` follows Keras 3: sub-layers ``query``, ``key``, ``value`` (kernels ``(dim, num_heads,
key_dim)``, biases ``(num_heads, key_dim)``) and ``attention_output`` (kernel ``(num_heads, value_dim, out_dim)``,
bias ``(out_dim,)``), in that weight order; the query is scaled by ``1 / sqrt(key_dim)``; masked scores get
``-1e9`` added before the softmax; ``dropout`` drops attention probabilities in training.

>>> import kusari
>>> mha = kusari.layers.MultiHeadAttention(num_heads=2, key_dim=4)
>>> x = kusari.ops.ones((1, 3, 8))
>>> out, scores = mha(x, x, return_attention_scores=True)
>>> out.shape, scores.shape, [w.path for w in mha.weights][:2]
((1, 3, 8), (1, 2, 3, 3), ['query/kernel', 'query/bias'])
"""
import math
import string

from kusari import constraints, initializers, ops, regularizers
from kusari.layers.core import _constraint_config, _serialize
from kusari.layers.layer import Layer
from kusari.tensor import Tensor

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]


def _large_negative(dtype):
    return -3e4 if str(dtype) == "float16" else -1e9


def _bool(m):
    if m is None:
        return None
    m = m if isinstance(m, Tensor) else Tensor(m)
    return m if m.dtype == "bool" else ops.cast(m, "bool")


def _mask_scores(scores, mask):
    """Keras' Softmax(mask=...) adder: ``scores + (1 - mask) * -1e9``."""
    if mask is None:
        return scores
    return scores + (1.0 - ops.cast(mask, scores.dtype)) * _large_negative(scores.dtype)


def _dropout(x, rate, training, seed_holder):
    if not training or rate <= 0:
        return x
    if seed_holder._seed_generator is None:
        from kusari.random import SeedGenerator
        seed_holder._seed_generator = SeedGenerator(seed_holder.seed)
    return ops.dropout(x, rate, seed=seed_holder._seed_generator)


# -- the projection sub-layer (Keras' EinsumDense as MultiHeadAttention builds it) ---------------------------------

class _EinsumDense(Layer):
    """``einsum(equation, inputs, kernel) + bias``; kernel and bias shapes as Keras' EinsumDense makes them."""

    def __init__(self, equation, kernel_shape, bias_shape, kernel_initializer, bias_initializer,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.equation = equation
        self.activity_regularizer = activity_regularizer
        self.kernel = self.add_weight(shape=kernel_shape, initializer=kernel_initializer,
                                      regularizer=kernel_regularizer, constraint=kernel_constraint, name="kernel")
        self.bias = self.add_weight(shape=bias_shape, initializer=bias_initializer, regularizer=bias_regularizer,
                                    constraint=bias_constraint, name="bias") if bias_shape is not None else None
        self.built = True

    def call(self, inputs):
        y = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return y


def _letters(i):
    return string.ascii_lowercase[i]


def _proj_equation(free_dims, bound_dims, output_dims):
    inp = kern = out = ""
    for i in range(free_dims):
        inp += _letters(i)
        out += _letters(i)
    for i in range(bound_dims):
        c = _letters(free_dims + i)
        inp += c
        kern += c
    for i in range(output_dims):
        c = _letters(free_dims + bound_dims + i)
        kern += c
        out += c
    return f"{inp},{kern}->{out}"


def _attention_equations(rank, attn_axes):
    """Keras' _build_attention_equation: (dot-product equation, combine equation, scores rank)."""
    target = "".join(_letters(i) for i in range(rank))
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes + (rank - 1,))
    offset = rank
    source = ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _letters(offset)
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes] +
                      [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017) with Keras 3's arguments, defaults and weight layout.

    ``call(query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``; Keras masks on ``query``/``value``/
    ``key`` are used automatically, and the output carries the query's mask.

    >>> import kusari
    >>> mha = kusari.layers.MultiHeadAttention(num_heads=2, key_dim=3, output_shape=5)
    >>> q, v = kusari.ops.ones((2, 4, 6)), kusari.ops.ones((2, 7, 6))
    >>> mha(q, v, use_causal_mask=True).shape, mha.key_dense.kernel.shape, mha.output_dense.kernel.shape
    ((2, 4, 5), (6, 2, 3), (2, 3, 5))
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        if sliding_window is not None:
            raise NotImplementedError("MultiHeadAttention(sliding_window=...) is not supported by kusari yet; mask "
                                      "the attention with attention_mask instead")
        if use_gate:
            raise NotImplementedError("MultiHeadAttention(use_gate=True) is not supported by kusari yet")
        for name, v in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"MultiHeadAttention: {name} must be a positive integer, got {v!r}")
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError(f"MultiHeadAttention: value_dim must be a positive integer or None, got {value_dim!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout!r}")
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = float(dropout)
        self._use_bias = use_bias
        if output_shape is not None:
            output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self._output_shape = output_shape
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"MultiHeadAttention: attention_axes must be an int, list or tuple, got "
                             f"{attention_axes!r}")
        self._attention_axes = tuple(attention_axes) if attention_axes is not None else None
        self._config_attention_axes = self._attention_axes
        self.seed = seed
        self._seed_generator = None
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def _sub(self, equation, kernel_shape, bias_shape, name):
        # a fresh initializer per sub-layer (Keras clones them, so seeded initializers do not repeat values)
        k_init = self._kernel_initializer
        b_init = self._bias_initializer
        if hasattr(k_init, "get_config") and hasattr(type(k_init), "from_config"):
            k_init = type(k_init).from_config(k_init.get_config())
        if hasattr(b_init, "get_config") and hasattr(type(b_init), "from_config"):
            b_init = type(b_init).from_config(b_init.get_config())
        return _EinsumDense(equation, kernel_shape, bias_shape if self._use_bias else None, k_init, b_init,
                            kernel_regularizer=self._kernel_regularizer, bias_regularizer=self._bias_regularizer,
                            activity_regularizer=self._activity_regularizer,
                            kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint,
                            name=name, dtype=self.dtype)

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"MultiHeadAttention: all dimensions of value and key except the last must be equal; "
                             f"got value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}")
        q_rank, v_rank, k_rank = len(query_shape), len(value_shape), len(key_shape)
        n, kd, vd = self._num_heads, self._key_dim, self._value_dim
        # sub-layers are assigned through object.__setattr__ + explicit tracking so that the weight order is
        # query, key, value, attention_output as in Keras
        self._query_dense = self._sub(_proj_equation(q_rank - 1, 1, 2), (query_shape[-1], n, kd), (n, kd), "query")
        self._key_dense = self._sub(_proj_equation(k_rank - 1, 1, 2), (key_shape[-1], n, kd), (n, kd), "key")
        self._value_dense = self._sub(_proj_equation(v_rank - 1, 1, 2), (value_shape[-1], n, vd), (n, vd), "value")
        out_shape = self._output_shape or (query_shape[-1],)
        self._output_dense = self._sub(_proj_equation(q_rank - 1, 2, len(out_shape)), (n, vd) + tuple(out_shape),
                                       tuple(out_shape), "attention_output")
        for sub in (self._query_dense, self._key_dense, self._value_dense, self._output_dense):
            self._track(sub)
        rank = q_rank + 1
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = _attention_equations(
            rank, self._attention_axes)
        self._norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self.built = True

    def _build_from(self, args, kwargs):
        shape = (lambda t: None if t is None else tuple(t.shape))
        names = ["query", "value", "key"]
        vals = {n: (args[i] if i < len(args) else kwargs.get(n)) for i, n in enumerate(names)}
        if vals["value"] is None:
            raise TypeError("MultiHeadAttention: call() needs both `query` and `value`")
        self.build(shape(vals["query"]), shape(vals["value"]), shape(vals["key"]))

    def _softmax(self, scores, mask):
        if mask is not None:
            # expand the (B, T, S) mask from the num_heads axis on, as Keras' _masked_softmax
            axis = -len(self._attention_axes) * 2 - 1
            for _ in range(scores.ndim - mask.ndim):
                mask = ops.expand_dims(mask, axis)
        scores = _mask_scores(scores, mask)
        if len(self._norm_axes) == 1:
            return ops.softmax(scores, axis=self._norm_axes[0])
        return ops.exp(scores - ops.logsumexp(scores, axis=self._norm_axes, keepdims=True))

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        query = query * self._inverse_sqrt_key_dim
        scores = ops.einsum(self._dot_product_equation, key, query)
        scores = self._softmax(scores, attention_mask)
        probs = _dropout(scores, self._dropout, training, self)
        return ops.einsum(self._combine_equation, probs, value), scores

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None, key_mask=None,
                                attention_mask=None, use_causal_mask=False):
        auto = None
        if query_mask is not None:
            auto = ops.expand_dims(_bool(query_mask), -1)
        for m in (value_mask, key_mask):
            if m is not None:
                m = ops.expand_dims(_bool(m), -2)
                auto = m if auto is None else ops.logical_and(auto, m)
        if use_causal_mask:
            t, s = query.shape[1], value.shape[1]
            causal = ops.expand_dims(ops.cast(ops.tril(ops.ones((t, s), dtype="int32")), "bool"), 0)
            auto = causal if auto is None else ops.logical_and(auto, causal)
        if attention_mask is not None:
            attention_mask = _bool(attention_mask)
        if auto is not None:
            attention_mask = auto if attention_mask is None else ops.logical_and(attention_mask, auto)
        return attention_mask

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        value = value if isinstance(value, Tensor) else Tensor(value)
        if key is None:
            key = value
        elif not isinstance(key, Tensor):
            key = Tensor(key)
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not value:
            key_mask = getattr(key, "_keras_mask", None)
        if query.shape[-1] != self._query_dense.kernel.shape[0] or \
                value.shape[-1] != self._value_dense.kernel.shape[0] or \
                key.shape[-1] != self._key_dense.kernel.shape[0]:
            raise ValueError(f"{self.name} (MultiHeadAttention): built for query/value/key last dimensions "
                             f"{self._query_dense.kernel.shape[0]}/{self._value_dense.kernel.shape[0]}/"
                             f"{self._key_dense.kernel.shape[0]}, got shapes {query.shape}, {value.shape}, "
                             f"{key.shape}")
        mask = self._compute_attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                            use_causal_mask)
        q = self._query_dense(query)
        k = self._key_dense(key)
        v = self._value_dense(value)
        out, scores = self._compute_attention(q, k, v, mask, training)
        out = self._output_dense(out)
        if query_mask is not None:
            out._keras_mask = _bool(query_mask)
        if return_attention_scores:
            return out, scores
        return out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
                "output_shape": list(self._output_shape) if self._output_shape else None,
                "attention_axes": list(self._config_attention_axes) if self._config_attention_axes else None,
                "sliding_window": None,
                "kernel_initializer": _serialize(self._kernel_initializer, initializers),
                "bias_initializer": _serialize(self._bias_initializer, initializers),
                "kernel_regularizer": _serialize(self._kernel_regularizer, regularizers),
                "bias_regularizer": _serialize(self._bias_regularizer, regularizers),
                "activity_regularizer": _serialize(self._activity_regularizer, regularizers),
                "kernel_constraint": _constraint_config(self._kernel_constraint),
                "bias_constraint": _constraint_config(self._bias_constraint), "use_gate": False, "seed": self.seed}


# -- Attention / AdditiveAttention -------------------------------------------------------------------------------

class _BaseDenseAttention(Layer):
    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dropout = float(dropout)
        self.seed = seed
        self._seed_generator = None
        self.supports_masking = True

    def _split_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{type(self).__name__}: inputs must be a list [query, value] or [query, value, key], "
                             f"got {type(inputs).__name__}")
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) == 3 else v
        return q, v, k

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        q, v, k = self._split_inputs(inputs)
        q_mask = v_mask = None
        if mask is not None:
            if not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3):
                raise ValueError(f"{type(self).__name__}: mask must be a list [query_mask, value_mask], got {mask!r}")
            q_mask, v_mask = mask[0], mask[1]
        scores = self._calculate_scores(q, k)
        score_mask = None
        if v_mask is not None:
            score_mask = ops.expand_dims(_bool(v_mask), -2)
        if use_causal_mask:
            t, s = scores.shape[-2], scores.shape[-1]
            causal = ops.expand_dims(ops.cast(ops.tril(ops.ones((t, s), dtype="int32")), "bool"), 0)
            score_mask = causal if score_mask is None else ops.logical_and(score_mask, causal)
        if score_mask is not None:
            scores = scores - (1.0 - ops.cast(score_mask, scores.dtype)) * (-_large_negative(scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        probs = _dropout(weights, self.dropout, training, self)
        result = ops.matmul(probs, v)
        if q_mask is not None:
            result = result * ops.expand_dims(ops.cast(_bool(q_mask), result.dtype), -1)
            result._keras_mask = _bool(q_mask)
        if return_attention_scores:
            return result, weights
        return result

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or not isinstance(previous_mask, (list, tuple)):
            return None
        return previous_mask[0]

    def compute_output_shape(self, input_shape):
        q, v = input_shape[0], input_shape[1]
        return tuple(q[:-1]) + (v[-1],)

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout, "seed": self.seed}


class Attention(_BaseDenseAttention):
    """Dot-product (Luong) attention over ``[query, value]`` or ``[query, value, key]``.

    ``score_mode="dot"`` (default) or ``"concat"``; ``use_scale=True`` adds a trainable scalar ``scale``.

    >>> import kusari
    >>> q, v = kusari.ops.ones((2, 3, 4)), kusari.ops.ones((2, 5, 4))
    >>> kusari.layers.Attention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape):
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight")
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -1, -2))
            if self.scale is not None:
                scores = scores * self.scale
            return scores
        q = ops.expand_dims(query, -2)
        k = ops.expand_dims(key, -3)
        if self.scale is not None:
            return self.concat_score_weight * ops.sum(ops.tanh(self.scale * (q + k)), axis=-1)
        return self.concat_score_weight * ops.sum(ops.tanh(q + k), axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode}


class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau) attention: ``scores = sum(scale * tanh(query + key), -1)``; ``use_scale=True`` (default)
    makes ``scale`` a trainable vector of shape ``(dim,)``.

    >>> import kusari
    >>> q, v = kusari.ops.ones((2, 3, 4)), kusari.ops.ones((2, 5, 4))
    >>> layer = kusari.layers.AdditiveAttention()
    >>> layer([q, v]).shape, layer.scale.shape
    ((2, 3, 4), (4,))
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.use_scale = use_scale
        self.scale = None

    def build(self, input_shape):
        dim = input_shape[1][-1]
        if self.use_scale:
            self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale")
        self.built = True

    def _calculate_scores(self, query, key):
        q = ops.expand_dims(query, -2)
        k = ops.expand_dims(key, -3)
        if self.scale is not None:
            return ops.sum(self.scale * ops.tanh(q + k), axis=-1)
        return ops.sum(ops.tanh(q + k), axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale}
