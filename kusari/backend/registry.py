"""Which backends exist and which one is current. The only place that branches on a backend name."""
import importlib

from kusari import config

# name -> (module, class, pip extra)
_KNOWN = {
    "numpy": ("kusari.backend.numpy_backend", "NumpyBackend", None),
}
_instances = {}
_current = None


def available():
    """Names of the backends kusari has."""
    return tuple(_KNOWN)


def get(name):
    """The backend object called ``name`` (created once)."""
    if name not in _KNOWN:
        raise ValueError(f"unknown backend {name!r}; kusari has: {', '.join(_KNOWN)}")
    if name not in _instances:
        module, cls, extra = _KNOWN[name]
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            hint = f" Install it with: pip install 'kusari[{extra}]'" if extra else ""
            raise ImportError(f"backend {name!r} needs a library that is not installed ({e}).{hint}") from e
        _instances[name] = getattr(mod, cls)()
    return _instances[name]


def current():
    """The backend new tensors are made on."""
    global _current
    if _current is None:
        _current = get(config.default_backend_name())
    return _current


def set_backend(name):
    """Make ``name`` the current backend; returns it.

    >>> import kusari
    >>> kusari.set_backend("numpy").name
    'numpy'
    """
    global _current
    _current = get(name)
    return _current


def of(array):
    """The backend whose arrays ``array`` belongs to (``None`` if none loaded claims it)."""
    for b in _instances.values():
        if isinstance(array, b.array_types):
            return b
    return None
