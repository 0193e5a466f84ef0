"""Elementwise arithmetic and comparison: add, subtract, multiply, divide, power, negative, maximum, cast, …

Binary ops broadcast like NumPy; their backward sums gradients back to each input's shape (``sum_to``).
"""
from kusari import dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, pair
from kusari.tensor import Tensor

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "negative", "power", "floor_divide", "mod", "maximum", "minimum", "where", "cast", "copy", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not"]


def _broadcast_error(op, a, b):
    """Raise a clear error if the shapes of ``a`` and ``b`` do not broadcast (called when the kernel failed)."""
    sa, sb = a.shape, b.shape
    for x, y in zip(sa[::-1], sb[::-1]):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"{op}: shapes {sa} and {sb} cannot be broadcast together") from None


def _binary(fn, a, b, op):
    """``fn(a, b)`` with a clear error naming ``op`` and both shapes when they do not broadcast."""
    try:
        return fn(a, b)
    except ValueError:
        _broadcast_error(op, a, b)
        raise


def _unbroadcast(g, shape):
    if g.shape == shape:
        return g
    from kusari.ops.shape import sum_to
    return sum_to(g, shape)


class Add(Function):
    uses_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (_unbroadcast(gy, a.shape) if na else None), (_unbroadcast(gy, b.shape) if nb else None)


class Subtract(Function):
    uses_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (_unbroadcast(gy, a.shape) if na else None), (_unbroadcast(-gy, b.shape) if nb else None)


class Multiply(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (_unbroadcast(gy * b, a.shape) if na else None), (_unbroadcast(gy * a, b.shape) if nb else None)


class Divide(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = _unbroadcast(gy / b, a.shape) if na else None
        gb = _unbroadcast(-gy * a / (b * b), b.shape) if nb else None
        return ga, gb


class Negative(Function):
    uses_inputs = False

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Power(Function):
    """``a ** b`` for tensors; ``PowerScalar`` is the cheaper case of a constant exponent."""

    def forward(self, a, b):
        return a ** b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = _unbroadcast(gy * b * a ** (b - 1), a.shape) if na else None
        gb = None
        if nb:
            from kusari.ops.unary import log
            safe = where(a > 0, a, 1.0)
            gb = _unbroadcast(gy * (a ** b) * log(safe), b.shape)
        return ga, gb


class PowerScalar(Function):
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        return x ** self.p

    def backward(self, gy):
        (x,) = self.inputs
        p = self.p
        if p == 2:
            return gy * (x * 2.0)
        return gy * (x ** (p - 1) * p)


class Cast(Function):
    uses_inputs = False

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = B().dtype_name(x.dtype)
        return B().cast(x, self.dtype)

    def backward(self, gy):
        if not dtypes.is_float(self.src):
            return None
        return cast(gy, self.src)


class Maximum(Function):
    def forward(self, a, b):
        return B().xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        take_a = Tensor(a.data >= b.data)
        return _select_grads(self, gy, take_a)


class Minimum(Function):
    def forward(self, a, b):
        return B().xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        take_a = Tensor(a.data <= b.data)
        return _select_grads(self, gy, take_a)


def _select_grads(fn, gy, take_a):
    a, b = fn.inputs
    na, nb = fn.needs_input_grad
    zero = gy * 0.0
    ga = _unbroadcast(where(take_a, gy, zero), a.shape) if na else None
    gb = _unbroadcast(where(take_a, zero, gy), b.shape) if nb else None
    return ga, gb


class Where(Function):
    """``where(condition, x, y)``; the condition is not differentiated."""
    uses_inputs = False

    def __init__(self, condition):
        self.condition = condition

    def forward(self, x, y):
        return B().xp.where(self.condition, x, y)

    def backward(self, gy):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        cond = Tensor(self.condition)
        zero = gy * 0.0
        gx = _unbroadcast(where(cond, gy, zero), x.shape) if nx else None
        gyy = _unbroadcast(where(cond, zero, gy), y.shape) if ny else None
        return gx, gyy


# -- wrappers (keras.ops names) -----------------------------------------------------------------------------------

def add(x1, x2):
    """Elementwise ``x1 + x2`` with broadcasting.

    >>> import kusari
    >>> kusari.ops.add([1.0, 2.0], 3.0).tolist()
    [4.0, 5.0]
    """
    a, b = pair(x1, x2)
    try:
        return Add()(a, b)
    except ValueError:
        _broadcast_error("add", a, b)
        raise


def subtract(x1, x2):
    a, b = pair(x1, x2)
    try:
        return Subtract()(a, b)
    except ValueError:
        _broadcast_error("subtract", a, b)
        raise


def multiply(x1, x2):
    a, b = pair(x1, x2)
    try:
        return Multiply()(a, b)
    except ValueError:
        _broadcast_error("multiply", a, b)
        raise


def divide(x1, x2):
    """True division; integer inputs give floatx."""
    a, b = pair(x1, x2)
    if not dtypes.is_float(a.dtype):
        from kusari import config
        a, b = cast(a, config.floatx()), cast(b, config.floatx())
    return _binary(Divide(), a, b, "divide")


true_divide = divide


def negative(x):
    return Negative()(as_tensor(x))


def power(x1, x2):
    """``x1 ** x2``; a Python-number exponent takes a cheaper path."""
    if isinstance(x1, Tensor) and isinstance(x2, (int, float)) and not isinstance(x2, bool):
        if isinstance(x2, float) and not dtypes.is_float(x1.dtype):
            from kusari import config
            x1 = cast(x1, config.floatx())
        return PowerScalar(x2)(x1)
    a, b = pair(x1, x2)
    return _binary(Power(), a, b, "power")


def floor_divide(x1, x2):
    """``x1 // x2``; piecewise constant, so no gradient flows."""
    a, b = pair(x1, x2)
    return Tensor(B().xp.floor_divide(a.data, b.data))


def mod(x1, x2):
    """``x1 % x2`` (sign of the divisor, like Python); gradient 1 w.r.t. ``x1`` and ``-floor(x1/x2)`` w.r.t. x2."""
    a, b = pair(x1, x2)
    q = Tensor(B().xp.floor_divide(a.data, b.data))
    if not dtypes.is_float(a.dtype):
        return Tensor(a.data % b.data)
    return a - b * q


def maximum(x1, x2):
    a, b = pair(x1, x2)
    return _binary(Maximum(), a, b, "maximum")


def minimum(x1, x2):
    a, b = pair(x1, x2)
    return _binary(Minimum(), a, b, "minimum")


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2`` (broadcasting); with one argument, the indices where it holds."""
    cond = condition.data if isinstance(condition, Tensor) else as_tensor(condition).data
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in B().xp.nonzero(cond))
    if x1 is None or x2 is None:
        raise ValueError("where(): give both x1 and x2, or neither")
    a, b = pair(x1, x2)
    if cond.dtype != B().dtype("bool"):
        cond = cond != 0
    return Where(cond)(a, b)


def cast(x, dtype):
    """``x`` converted to ``dtype``; differentiable between float types.

    >>> import kusari
    >>> kusari.ops.cast(kusari.tensor([1.7]), "int32").tolist()
    [1]
    """
    x = as_tensor(x)
    dtype = dtypes.standardize(dtype)
    if x.dtype == dtype:
        return x
    if not dtypes.is_float(dtype):
        return Tensor(B().cast(x.data, dtype))
    return Cast(dtype)(x)


class Copy(Function):
    uses_inputs = False

    def forward(self, x):
        return B().xp.asarray(x, copy=True)

    def backward(self, gy):
        return gy


def copy(x):
    """A tensor with its own copy of the values (differentiable)."""
    return Copy()(as_tensor(x))


def _compare(name):
    def op(x1, x2):
        a, b = pair(x1, x2)
        return _binary(lambda u, v: Tensor(getattr(B().xp, name)(u.data, v.data)), a, b, name)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` (a bool tensor; no gradient)."
    return op


equal = _compare("equal")
not_equal = _compare("not_equal")
less = _compare("less")
less_equal = _compare("less_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")
logical_xor = _compare("logical_xor")


def logical_not(x):
    return Tensor(B().xp.logical_not(as_tensor(x).data))


# -- Tensor operators: one-line calls into the ops above ---------------------------------------------------------
Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = subtract
Tensor.__rsub__ = lambda self, other: subtract(other, self)
Tensor.__mul__ = multiply
Tensor.__rmul__ = lambda self, other: multiply(other, self)
Tensor.__truediv__ = divide
Tensor.__rtruediv__ = lambda self, other: divide(other, self)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
Tensor.__mod__ = mod
Tensor.__rmod__ = lambda self, other: mod(other, self)
Tensor.__pow__ = power
Tensor.__rpow__ = lambda self, other: power(other, self)
Tensor.__neg__ = negative
Tensor.__pos__ = lambda self: self
Tensor.__eq__ = equal
Tensor.__ne__ = not_equal
Tensor.__lt__ = less
Tensor.__le__ = less_equal
Tensor.__gt__ = greater
Tensor.__ge__ = greater_equal
Tensor.__and__ = logical_and
Tensor.__or__ = logical_or
Tensor.__xor__ = logical_xor
Tensor.__invert__ = logical_not
