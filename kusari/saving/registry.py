"""Serializable classes by name. Loading only ever looks names up here (or in ``custom_objects``): it never
unpickles and never evaluates code.

>>> import kusari
>>> @kusari.saving.register_serializable(package="demo")
... class Twice(kusari.layers.Layer):
...     def call(self, x):
...         return x * 2
>>> kusari.saving.get_registered_name(Twice)
'demo>Twice'
"""
_CUSTOM = {}


def register_serializable(package="Custom", name=None):
    """Class decorator: make a custom layer/model loadable by ``load_model`` under ``package>name``."""
    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        if key in _CUSTOM and _CUSTOM[key] is not cls:
            raise ValueError(f"{key!r} is already registered to {_CUSTOM[key]!r}")
        _CUSTOM[key] = cls
        cls._registered_name = key
        return cls
    return decorate


def get_registered_name(cls):
    """The name a class is saved under: ``package>Name`` when registered, else the class name.

    >>> import kusari
    >>> kusari.saving.get_registered_name(kusari.layers.Dense)
    'Dense'
    """
    return getattr(cls, "_registered_name", None) if "_registered_name" in vars(cls) else cls.__name__


def _builtins():
    from kusari import layers, models
    table = {name: getattr(layers, name) for name in layers.__all__ if isinstance(getattr(layers, name), type)}
    table.update({"Sequential": models.Sequential, "Functional": models.Functional, "Model": models.Model})
    return table


def lookup(class_name, registered_name=None, custom_objects=None):
    """The class for a saved ``class_name``; custom objects first, then registered, then kusari's own."""
    custom_objects = custom_objects or {}
    for key in (registered_name, class_name):
        if key and key in custom_objects:
            return custom_objects[key]
    if registered_name and registered_name in _CUSTOM:
        return _CUSTOM[registered_name]
    for key, cls in _CUSTOM.items():
        if key.split(">", 1)[1] == class_name:
            return cls
    table = _builtins()
    if class_name in table:
        return table[class_name]
    raise ValueError(f"unknown class {class_name!r}" + (f" (registered as {registered_name!r})" if registered_name
                     else "") + ": pass it in custom_objects={...} or decorate it with "
                     "@kusari.saving.register_serializable()")
