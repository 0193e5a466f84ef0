"""Elementwise math: exp, log, log1p, sqrt, rsqrt, square, abs, sign, sin, cos, tanh, erf, …"""
from kusari import config, dtypes
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor
from kusari.tensor import Tensor

__all__ = ["exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "rsqrt", "square", "abs", "absolute", "sign",
           "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arctanh", "erf",
           "floor", "ceil", "round", "trunc", "reciprocal", "isnan", "isinf", "isfinite", "nan_to_num"]


def _float(x):
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        from kusari.ops.arithmetic import cast
        x = cast(x, config.floatx())
    return x


class Exp(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return B().xp.exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    def forward(self, x):
        return B().xp.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Tanh(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return B().xp.tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1.0 - y * y)


class Sqrt(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return B().xp.sqrt(x)

    def backward(self, gy):
        return gy / (self.output() * 2.0)


class Abs(Function):
    def forward(self, x):
        return B().xp.abs(x)

    def backward(self, gy):
        return gy * sign(self.inputs[0])


def exp(x):
    """Elementwise e**x.

    >>> import kusari
    >>> kusari.ops.exp(kusari.tensor(0.0)).item()
    1.0
    """
    return Exp()(_float(x))


def log(x):
    return Log()(_float(x))


def tanh(x):
    return Tanh()(_float(x))


def sqrt(x):
    return Sqrt()(_float(x))


def square(x):
    x = as_tensor(x)
    return x * x


def abs(x):
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        return Tensor(B().xp.abs(x.data))
    return Abs()(x)


absolute = abs


# -- more elementwise maths -----------------------------------------------------------------------------------------
# Each backward is written with kusari ops, so second derivatives work.

class Log1p(Function):
    def forward(self, x):
        return B().xp.log1p(x)

    def backward(self, gy):
        return gy / (self.inputs[0] + 1.0)


class Expm1(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return B().xp.expm1(x)

    def backward(self, gy):
        return gy * (self.output() + 1.0)


class Rsqrt(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return 1.0 / B().xp.sqrt(x)

    def backward(self, gy):
        y = self.output()
        return gy * (y * y * y) * -0.5


class Sin(Function):
    def forward(self, x):
        return B().xp.sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])


class Cos(Function):
    def forward(self, x):
        return B().xp.cos(x)

    def backward(self, gy):
        return -(gy * sin(self.inputs[0]))


class Tan(Function):
    uses_inputs = False
    uses_outputs = True

    def forward(self, x):
        return B().xp.tan(x)

    def backward(self, gy):
        y = self.output()
        return gy * (y * y + 1.0)


class Sinh(Function):
    def forward(self, x):
        return B().xp.sinh(x)

    def backward(self, gy):
        return gy * cosh(self.inputs[0])


class Cosh(Function):
    def forward(self, x):
        return B().xp.cosh(x)

    def backward(self, gy):
        return gy * sinh(self.inputs[0])


class Arcsin(Function):
    def forward(self, x):
        return B().xp.asin(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * rsqrt(1.0 - x * x)


class Arccos(Function):
    def forward(self, x):
        return B().xp.acos(x)

    def backward(self, gy):
        x = self.inputs[0]
        return -(gy * rsqrt(1.0 - x * x))


class Arctan(Function):
    def forward(self, x):
        return B().xp.atan(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy / (x * x + 1.0)


class Arcsinh(Function):
    def forward(self, x):
        return B().xp.asinh(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * rsqrt(x * x + 1.0)


class Arctanh(Function):
    def forward(self, x):
        return B().xp.atanh(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy / (1.0 - x * x)


class Erf(Function):
    """erf from the backend kernel; d/dx erf(x) = 2/sqrt(pi) * exp(-x**2)."""

    def forward(self, x):
        return B().erf(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * exp(-(x * x)) * _TWO_OVER_SQRT_PI


_TWO_OVER_SQRT_PI = 1.1283791670955126


def log1p(x):
    """``log(1 + x)``, accurate for small x."""
    return Log1p()(_float(x))


def expm1(x):
    """``exp(x) - 1``, accurate for small x."""
    return Expm1()(_float(x))


def log2(x):
    return log(x) * 1.4426950408889634


def log10(x):
    return log(x) * 0.4342944819032518


def rsqrt(x):
    """``1 / sqrt(x)``.

    >>> import kusari
    >>> kusari.ops.rsqrt(kusari.tensor([4.0])).tolist()
    [0.5]
    """
    return Rsqrt()(_float(x))


def sin(x):
    return Sin()(_float(x))


def cos(x):
    return Cos()(_float(x))


def tan(x):
    return Tan()(_float(x))


def sinh(x):
    return Sinh()(_float(x))


def cosh(x):
    return Cosh()(_float(x))


def arcsin(x):
    return Arcsin()(_float(x))


def arccos(x):
    return Arccos()(_float(x))


def arctan(x):
    return Arctan()(_float(x))


def arcsinh(x):
    return Arcsinh()(_float(x))


def arctanh(x):
    return Arctanh()(_float(x))


def erf(x):
    """The error function, ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``.

    >>> import kusari
    >>> f"{kusari.ops.erf(kusari.tensor(1.0)).item():.4f}"
    '0.8427'
    """
    return Erf()(_float(x))


def reciprocal(x):
    """``1 / x`` (integer inputs give floatx)."""
    x = _float(x)
    return 1.0 / x


def _no_grad_float(name):
    def op(x):
        x = as_tensor(x)
        if not dtypes.is_float(x.dtype):
            return x
        return Tensor(getattr(B().xp, name)(x.data))
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``; piecewise constant, so no gradient flows (integers pass through)."
    return op


floor = _no_grad_float("floor")
ceil = _no_grad_float("ceil")
trunc = _no_grad_float("trunc")


def round(x, decimals=0):
    """Round half to even to ``decimals`` places (keras.ops.round); no gradient flows."""
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype) and decimals >= 0:
        return x
    return Tensor(B().xp.round(x.data, decimals))


def isnan(x):
    x = as_tensor(x)
    return Tensor(B().xp.isnan(x.data))


def isinf(x):
    x = as_tensor(x)
    return Tensor(B().xp.isinf(x.data))


def isfinite(x):
    x = as_tensor(x)
    return Tensor(B().xp.isfinite(x.data))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the largest finite value), -inf -> ``neginf`` (the most
    negative); the gradient passes through where ``x`` was finite and is zero elsewhere.

    >>> import kusari
    >>> kusari.ops.nan_to_num(kusari.tensor([float("nan"), 1.0])).tolist()
    [0.0, 1.0]
    """
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        return x
    xp = B().xp
    info = xp.finfo(x.data.dtype)
    big = float(info.max) if posinf is None else posinf
    small = float(-info.max) if neginf is None else neginf
    fixed = xp.where(xp.isnan(x.data), nan, xp.where(x.data > 0, big, small))
    fixed = B().cast(fixed, x.dtype)
    from kusari.ops.arithmetic import where
    return where(Tensor(xp.isfinite(x.data)), x, Tensor(fixed))


def sign(x):
    """-1, 0 or 1 by sign (no gradient flows through it)."""
    x = as_tensor(x)
    return Tensor(B().xp.sign(x.data))


Tensor.__abs__ = abs
Tensor.exp = exp
Tensor.log = log
Tensor.tanh = tanh
Tensor.sqrt = sqrt
Tensor.abs = abs
Tensor.square = square
Tensor.sign = sign
Tensor.log1p = log1p
Tensor.expm1 = expm1
Tensor.rsqrt = rsqrt
Tensor.sin = sin
Tensor.cos = cos
Tensor.tan = tan
Tensor.erf = erf
Tensor.floor = floor
Tensor.ceil = ceil
Tensor.round = round
Tensor.reciprocal = reciprocal
Tensor.isnan = isnan
Tensor.isinf = isinf
Tensor.isfinite = isfinite
