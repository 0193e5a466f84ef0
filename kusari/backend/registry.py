"""Which backends exist and which one is current. The only place that branches on a backend name.

A backend is named ``"numpy"``, ``"torch"`` or ``"jax"``; a device may follow a colon (``"torch:cuda"``,
``"torch:cpu"``, ``"jax:cpu"``) or be given as ``set_backend("torch", device="cuda")``. Without a device, torch
uses CUDA when it sees a GPU (like Keras), else the CPU.
"""
import importlib

from kusari import config

# name -> (module, class, pip extra)
_KNOWN = {
    "numpy": ("kusari.backend.numpy_backend", "NumpyBackend", None),
    "torch": ("kusari.backend.torch_backend", "TorchBackend", "torch"),
    "jax": ("kusari.backend.jax_backend", "JaxBackend", "jax"),
}
_instances = {}
_current = None


def available():
    """Names of the backends kusari has (whether or not their library is installed)."""
    return tuple(_KNOWN)


def installed():
    """Names of the backends whose library imports here.

    >>> "numpy" in installed()
    True
    """
    import importlib.util
    return tuple(name for name, (_, _, extra) in _KNOWN.items()
                 if extra is None or importlib.util.find_spec(extra) is not None)


def _split(name, device):
    if not isinstance(name, str):
        raise TypeError(f"backend name must be a string, got {type(name).__name__}")
    base, _, dev = name.partition(":")
    if dev and device is not None and dev != device:
        raise ValueError(f"backend {name!r} names device {dev!r} but device={device!r} was also given")
    return base, (dev or device)


def get(name, device=None):
    """The backend object called ``name`` (created once per device).

    >>> get("tensorflow")
    Traceback (most recent call last):
    ...
    ValueError: unknown backend 'tensorflow'; kusari has: numpy, torch, jax
    """
    base, device = _split(name, device)
    key = base if device is None else f"{base}:{device}"
    b = _instances.get(key)
    if b is not None:
        return b
    if base not in _KNOWN:
        raise ValueError(f"unknown backend {base!r}; kusari has: {', '.join(_KNOWN)}")
    module, cls, extra = _KNOWN[base]
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        hint = f" Install it with: pip install 'kusari[{extra}]'" if extra else ""
        raise ImportError(f"backend {base!r} needs a library that is not installed ({e}).{hint}") from e
    if device is None:
        b = getattr(mod, cls)()
    elif base == "numpy":
        if device != "cpu":
            raise ValueError(f"backend 'numpy' runs on the cpu only, not on {device!r}")
        b = getattr(mod, cls)()
    else:
        b = getattr(mod, cls)(device=device)
    # one object per (backend, device): "torch" and "torch:cpu" are the same backend on a CPU-only machine
    canonical = f"{base}:{b.device}"
    b = _instances.setdefault(canonical, b)
    _instances[key] = b
    return b


def current():
    """The backend new tensors are made on."""
    global _current
    if _current is None:
        _current = get(config.default_backend_name())
    return _current


def set_backend(name, device=None):
    """Make ``name`` the current backend; returns it.

    >>> import kusari
    >>> kusari.set_backend("numpy").name
    'numpy'
    """
    global _current
    _current = get(name, device)
    return _current


def of(array):
    """The backend whose arrays ``array`` belongs to (``None`` if none loaded claims it)."""
    c = _current
    if c is not None and c.owns(array):
        return c
    for b in _instances.values():
        if b.owns(array):
            return b
    return None
