"""Define-by-run autograd: Function, the backward engine, grad mode, gradient checks."""
from kusari.autograd.function import Function
from kusari.autograd.mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]
