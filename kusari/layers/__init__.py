"""Keras layers. Each family lives in its own file; this package re-exports their public classes."""
from kusari.layers.core import Activation, Dense, Identity, Lambda
from kusari.layers.input_layer import Input, InputLayer
from kusari.layers.layer import Layer
from kusari.layers.op_layer import OpLayer

__all__ = ["Activation", "Dense", "Identity", "Input", "InputLayer", "Lambda", "Layer", "OpLayer"]

# Layer families added by their own modules (each lists its classes in __all__).
for _family_name in ("conv", "pooling", "normalization", "regularization", "reshaping", "embedding", "recurrent",
                     "attention", "merging", "preprocessing", "noise", "activations"):
    try:
        _family = __import__(f"kusari.layers.{_family_name}", fromlist=["__all__"])
    except ModuleNotFoundError as _e:
        if _e.name != f"kusari.layers.{_family_name}":
            raise
        continue
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
        __all__.append(_name)


def __getattr__(name):
    # a Keras layer kusari does not have yet: say so, and list what there is (instead of a bare AttributeError)
    if name[:1].isupper():
        raise AttributeError(f"kusari.layers has no {name!r} yet (Keras has keras.layers.{name}); kusari has: "
                             f"{', '.join(sorted(n for n in __all__ if n[:1].isupper()))}")
    raise AttributeError(f"module 'kusari.layers' has no attribute {name!r}")
