"""kusari (鎖, "chain"): define-by-run autograd under a Keras-compatible API, on pluggable array backends.

>>> import kusari
>>> x = kusari.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""
import importlib

from kusari import config, dtypes
from kusari.autograd.mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from kusari.backend import set_backend
from kusari.tensor import Parameter, Tensor, grad, tensor
from kusari import backend, ops

__version__ = "0.1.0"
Variable = Parameter  # Keras' name

# Subpackages loaded on first use, so ``import kusari`` stays fast.
_LAZY = ("random", "viz", "testing", "utils", "layers", "models", "optimizers", "losses", "metrics", "callbacks",
         "data", "datasets", "saving", "initializers", "regularizers", "constraints", "activations", "summary")

__all__ = ["Parameter", "Tensor", "Variable", "backend", "config", "dtypes", "enable_grad", "grad",
           "is_grad_enabled", "no_grad", "ops", "set_backend", "set_grad_enabled", "tensor", "Sequential", "Model",
           "Input", "Layer", "capture", *_LAZY]


# Keras' top-level names, loaded with the layers/models packages on first use.
_FROM = {"Sequential": "kusari.models", "Model": "kusari.models", "Input": "kusari.layers", "Layer": "kusari.layers",
         "capture": "kusari.models.capture"}


def __getattr__(name):
    if name in _FROM:
        value = getattr(importlib.import_module(_FROM[name]), name)
        globals()[name] = value
        return value
    if name in _LAZY:
        try:
            module = importlib.import_module(f"kusari.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"kusari.{name}":
                raise AttributeError(f"kusari has no {name!r} yet") from None
            raise
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kusari' has no attribute {name!r}")
