"""Grad mode: whether ops record the graph. ``no_grad()`` and ``enable_grad()`` work as context managers and
decorators.

>>> import kusari
>>> x = kusari.tensor([1.0], requires_grad=True)
>>> with kusari.no_grad():
...     y = x * 2
>>> y.requires_grad
False
"""
import functools

grad_enabled = True


def is_grad_enabled():
    return grad_enabled


class set_grad_enabled:
    """Set grad mode to ``mode`` for a ``with`` block (or a decorated function)."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self.prev = None

    def __enter__(self):
        global grad_enabled
        self.prev, grad_enabled = grad_enabled, self.mode
        return self

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """Ops inside record no graph: use it for inference and for updates that must not be differentiated.

    ``with no_grad():``, ``@no_grad()`` or ``@no_grad``."""

    def __new__(cls, fn=None):
        if fn is not None:  # used as a bare decorator: @no_grad
            return set_grad_enabled(False)(fn)
        return super().__new__(cls)

    def __init__(self, fn=None):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record the graph again inside a ``no_grad`` block (``with``, ``@enable_grad()`` or ``@enable_grad``)."""

    def __new__(cls, fn=None):
        if fn is not None:  # used as a bare decorator: @enable_grad
            return set_grad_enabled(True)(fn)
        return super().__new__(cls)

    def __init__(self, fn=None):
        super().__init__(True)
