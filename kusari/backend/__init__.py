"""Array backends. ``kusari.backend()`` (or ``kusari.backend.current()``) is the one in use;
``kusari.set_backend(name)`` switches.

>>> import kusari
>>> kusari.backend().name
'numpy'
"""
import sys
import types

from kusari.backend.base import Backend
from kusari.backend.registry import available, current, get, installed, of, set_backend

__all__ = ["Backend", "available", "current", "get", "installed", "of", "set_backend"]


class _CallableModule(types.ModuleType):
    """Lets ``kusari.backend()`` return the current backend while ``kusari.backend`` stays this package."""

    def __call__(self):
        return current()


sys.modules[__name__].__class__ = _CallableModule


def clear_session():
    """Keras' ``keras.backend.clear_session()``: forget layer-name counters (see ``kusari.utils.clear_session``)."""
    from kusari.utils.rng_utils import clear_session as _clear  # the one upward import, kept lazy
    _clear()
