"""The functional API, with ``keras.ops`` names: ``import kusari.ops as F`` (or ``from kusari import ops``).

Each family module lists its public functions in ``__all__``; this package re-exports exactly those.

>>> from kusari import ops
>>> ops.sum(ops.multiply([1.0, 2.0], [3.0, 4.0])).item()
11.0
"""
from kusari.ops import arithmetic, linalg, reduce, shape, unary

_FAMILIES = [arithmetic, unary, reduce, shape, linalg]
for _family_name in ("indexing", "nn", "conv", "pool", "normalization", "loss", "creation", "random", "recurrent"):
    try:
        _FAMILIES.append(__import__(f"kusari.ops.{_family_name}", fromlist=["__all__"]))
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != f"kusari.ops.{_family_name}":
            raise

__all__ = []
for _family in _FAMILIES:
    for _name in getattr(_family, "__all__", ()):
        globals()[_name] = getattr(_family, _name)
        __all__.append(_name)
