"""``Input`` and ``InputLayer``: the entry points of a functional model.

>>> import kusari
>>> x = kusari.Input(shape=(28, 28, 1))
>>> x.shape
(None, 28, 28, 1)
"""
from kusari import config, dtypes
from kusari.layers.layer import Layer, unique_name
from kusari.layers.symbolic import Node, SymbolicTensor


class InputLayer(Layer):
    """The layer behind ``Input``: holds the batch shape and dtype of a model input.

    >>> import kusari
    >>> kusari.layers.InputLayer(shape=(3,)).batch_shape
    (None, 3)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        for arg, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise NotImplementedError(f"Input({arg}=True): kusari has no {arg} inputs yet")
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        if shape is None and batch_shape is None:
            raise ValueError("Input needs shape= (without the batch dimension) or batch_shape=")
        if batch_shape is None:
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.dtype = dtypes.standardize(dtype) if dtype is not None else config.floatx()
        self.built = True
        out = SymbolicTensor(self.batch_shape, self.dtype, name=self.name)
        node = Node(self, (), {}, [out])
        out.node = node
        self._inbound_nodes.append(node)

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": False}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic input of ``shape`` (without the batch dimension) for the functional API."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                       batch_shape=batch_shape, name=name, optional=optional)
    return layer.output
