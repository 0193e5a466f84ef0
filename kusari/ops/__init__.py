"""The functional API, with ``keras.ops`` names: ``import kusari.ops as F`` (or ``from kusari import ops``).

Each family module lists its public functions in ``__all__``; this package re-exports exactly those.

>>> from kusari import ops
>>> ops.sum(ops.multiply([1.0, 2.0], [3.0, 4.0])).item()
11.0
"""
import builtins

from kusari.ops import arithmetic, linalg, reduce, shape, unary

_FAMILIES = [arithmetic, unary, reduce, shape, linalg]
for _family_name in ("indexing", "nn", "conv", "pool", "normalization", "loss", "creation", "random", "recurrent"):
    try:
        _FAMILIES.append(__import__(f"kusari.ops.{_family_name}", fromlist=["__all__"]))
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != f"kusari.ops.{_family_name}":
            raise

# (this module's namespace shadows builtins such as any, sum, max: helpers below use builtins.*)
# Called on the functional API's symbolic tensors, an op records a layer node instead of computing (as keras.ops
# does on KerasTensors). ops sits below layers, so kusari.layers installs the handler and the symbolic type.
_symbolic_type = None
_symbolic_handler = None


def _symbolic_aware(fn, name):
    def op(*args, **kwargs):
        st = _symbolic_type
        if st is not None and args:
            a0 = args[0]
            if type(a0) is st or (len(args) > 1 and type(args[1]) is st) or \
                    (type(a0) in (list, tuple) and builtins.any(type(a) is st for a in a0)):
                return _symbolic_handler(name, args, kwargs)
        return fn(*args, **kwargs)
    op.__name__ = op.__qualname__ = fn.__name__
    op.__doc__ = fn.__doc__
    op.__module__ = fn.__module__
    op.__wrapped__ = fn
    return op


__all__ = []
for _family in _FAMILIES:
    for _name in getattr(_family, "__all__", ()):
        if _name in __all__:  # re-exported by two families (nn.tanh is unary.tanh)
            continue
        globals()[_name] = _symbolic_aware(getattr(_family, _name), _name)
        __all__.append(_name)
