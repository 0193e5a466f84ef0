"""Optimizers with Keras 3's names, arguments and defaults (``keras.optimizers``).

>>> import kusari
>>> opt = kusari.optimizers.get("adam")
>>> type(opt).__name__, float(opt.learning_rate)
('Adam', 0.0010000000474974513)
"""
from kusari.optimizers import schedules
from kusari.optimizers.adadelta import Adadelta
from kusari.optimizers.adagrad import Adagrad
from kusari.optimizers.adam import Adam, Adamax, AdamW, Nadam
from kusari.optimizers.lion import Lion
from kusari.optimizers.optimizer import Optimizer
from kusari.optimizers.rmsprop import RMSprop
from kusari.optimizers.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "Nadam", "RMSprop", "Adagrad", "Adadelta", "Lion",
           "schedules", "get", "serialize", "deserialize"]

ALL_OBJECTS = (Optimizer, Adam, SGD, RMSprop, Adadelta, AdamW, Adagrad, Adamax, Nadam, Lion)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer):
    """The optimizer's configuration as a JSON-compatible dict (Keras' layout).

    >>> from kusari import optimizers
    >>> d = optimizers.serialize(optimizers.SGD(momentum=0.9))
    >>> d["class_name"], d["config"]["momentum"]
    ('SGD', 0.9)
    """
    cls = type(optimizer)
    builtin = ALL_OBJECTS_DICT.get(cls.__name__.lower()) is cls
    return {"module": "kusari.optimizers" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": optimizer.get_config(), "registered_name": None if builtin else cls.__name__}


def deserialize(config, custom_objects=None):
    """An optimizer from a ``serialize`` dict (``{"class_name": ..., "config": {...}}``); built-in class names
    are case-insensitive.

    >>> from kusari import optimizers
    >>> opt = optimizers.deserialize({"class_name": "RMSprop", "config": {"rho": 0.8}})
    >>> type(opt).__name__, opt.rho
    ('RMSprop', 0.8)
    """
    name = config["class_name"]
    custom_objects = custom_objects or {}
    cls = custom_objects.get(config.get("registered_name") or name) or custom_objects.get(name)
    if cls is None:
        cls = ALL_OBJECTS_DICT.get(str(name).lower())
    if cls is None:
        valid = sorted(n for n in ALL_OBJECTS_DICT if n != "optimizer")
        raise ValueError(f"Unknown optimizer: {name!r}. Valid names are {valid} (or pass an Optimizer instance, or "
                         "register a custom class through custom_objects).")
    return cls.from_config(dict(config.get("config", {})), custom_objects=custom_objects)


def get(identifier):
    """An optimizer from a name (``"adam"``), a config dict, or an instance (returned as is); None gives None.

    >>> from kusari import optimizers
    >>> type(optimizers.get("sgd")).__name__
    'SGD'
    >>> optimizers.get("adamm")
    Traceback (most recent call last):
    ...
    ValueError: Unknown optimizer: 'adamm'. Valid names are ['adadelta', 'adagrad', 'adam', 'adamax', 'adamw', 'lion', 'nadam', 'rmsprop', 'sgd'] (or pass an Optimizer instance, or register a custom class through custom_objects).
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
