"""Embedding: integer indices -> rows of a trainable (input_dim, output_dim) matrix named ``embeddings``."""
from kusari import constraints, dtypes, initializers, ops, regularizers
from kusari.layers.core import _constraint_config, _serialize
from kusari.layers.layer import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    """Looks up rows of ``embeddings`` (shape (input_dim, output_dim), Keras' layout); the gradient scatter-adds
    into the rows used (repeated indices accumulate). With ``mask_zero=True`` index 0 is padding: the output
    carries ``_keras_mask = inputs != 0`` for downstream layers (LSTM, GRU, ...).

    >>> import kusari
    >>> emb = kusari.layers.Embedding(10, 4, mask_zero=True)
    >>> y = emb(kusari.tensor([[1, 2, 0]]))
    >>> y.shape, emb.embeddings.shape, y._keras_mask.tolist()
    ((1, 3, 4), (10, 4), [[True, True, False]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        super().__init__(**kwargs)
        for name, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {v!r}")
        if lora_rank:
            raise NotImplementedError("Embedding(lora_rank=...) is not supported by kusari yet")
        if quantization_config is not None:
            raise NotImplementedError("Embedding(quantization_config=...): kusari has no quantization yet")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            if not isinstance(weights, (list, tuple)):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def call(self, inputs):
        if not dtypes.is_int(inputs.dtype):
            inputs = ops.cast(inputs, "int32")
        try:
            return ops.take(self.embeddings, inputs, axis=0)
        except IndexError as e:
            raise IndexError(f"{self.name} (Embedding): indices must be in [0, {self.input_dim}) (input_dim); "
                             f"{e}") from None

    def compute_mask(self, inputs, previous_mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": _serialize(self.embeddings_initializer, initializers),
                "embeddings_regularizer": _serialize(self.embeddings_regularizer, regularizers),
                "activity_regularizer": _serialize(self.activity_regularizer, regularizers),
                "embeddings_constraint": _constraint_config(self.embeddings_constraint),
                "mask_zero": self.mask_zero}
