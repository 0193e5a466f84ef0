"""``Model``: a Layer that trains. Three ways to make one, as in Keras:

- subclass it and write ``call`` (any Python control flow; ``forward`` works too),
- ``Model(inputs, outputs)`` over symbolic ``Input``s (functional),
- ``Sequential([...])``.

>>> import kusari
>>> class MLP(kusari.Model):
...     def __init__(self):
...         super().__init__()
...         self.hidden = kusari.layers.Dense(8, activation="relu")
...         self.out = kusari.layers.Dense(2)
...     def call(self, x):
...         return self.out(self.hidden(x))
>>> MLP()(kusari.ops.ones((4, 3))).shape
(4, 2)
"""
from kusari.layers.layer import Layer
from kusari.training.trainer import Trainer


class Model(Trainer, Layer):
    """A Layer with ``compile``/``fit``/``evaluate``/``predict``, ``summary`` and ``save``.

    Subclass it and write ``call`` (or ``forward``), or build it functionally with ``Model(inputs, outputs)``.

    >>> import kusari
    >>> inp = kusari.Input((3,))
    >>> model = kusari.Model(inp, kusari.layers.Dense(2)(inp))
    >>> model(kusari.ops.ones((4, 3))).shape
    (4, 2)
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_args(args, kwargs):
            from kusari.models.functional import Functional
            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, trainable=True, name=None, dtype=None, **kwargs):
        if _functional_args(args, kwargs):
            # Keras' `class Custom(Model): def train_step(...)` built as `Custom(inputs, outputs)`: decided here,
            # by what reaches Model.__init__, so a subclass's own positional arguments never look functional
            from kusari.models.functional import Functional
            self.__class__ = _functional_subclass(type(self))
            Functional.__init__(self, *args, trainable=trainable, name=name, dtype=dtype, **kwargs)
            return
        if args:
            raise TypeError(f"{type(self).__name__}() got positional arguments {args!r}; a subclassed Model "
                            "takes only keyword arguments (trainable, name, dtype)")
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        self._init_trainer()

    def __setattr__(self, name, value):
        if not name.startswith("_") and hasattr(value, "update_state") and hasattr(value, "reset_state") \
                and getattr(self, "_tracking", False):
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if all(value is not m for m in tracked):
                tracked.append(value)
        Layer.__setattr__(self, name, value)

    def get_layer(self, name=None, index=None):
        """A sub-layer by ``name`` or by ``index`` (in ``layers`` order)."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"{self.name}: index {index} out of range; the model has {len(layers)} layers")
            return layers[index]
        if name is None:
            raise ValueError("get_layer: give name= or index=")
        for layer in layers:
            if layer.name == name:
                return layer
        for layer in self._flatten_layers(include_self=False):
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}: no layer named {name!r}; layers: {', '.join(l.name for l in layers)}")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print the Keras table: layer (type), output shape, parameter count, totals."""
        from kusari.models.summary import summary_text
        text = summary_text(self, line_length=line_length, show_trainable=show_trainable)
        (print_fn or print)(text)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -- saving (thin wrappers over kusari.saving) --
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Save architecture, weights, optimizer and random-generator state to a ``.kusari`` file, or a Keras 3
        archive when ``filepath`` ends in ``.keras`` (atomic write either way)."""
        from kusari.saving import save_model
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights to a ``.weights.safetensors`` file (atomic write)."""
        from kusari.saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        from kusari.saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)


_FUNCTIONAL_SUBCLASSES = {}


def _functional_args(args, kwargs):
    return len(args) >= 2 or (len(args) == 1 and "outputs" in kwargs) or ("inputs" in kwargs and "outputs" in kwargs)


def _functional_subclass(cls):
    """``cls`` with ``Functional`` after it in the MRO: the subclass's methods (train_step, compile, …) win, the
    graph's ``__init__``/``call`` come from ``Functional`` unless the subclass defines them."""
    from kusari.models.functional import Functional
    if issubclass(cls, Functional):
        return cls
    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return _FUNCTIONAL_SUBCLASSES[cls]
