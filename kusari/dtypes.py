"""Canonical dtype names and the promotion rule shared by every backend.

Tensors report their dtype as a string (``"float32"``), as Keras 3 does; each backend maps names to its own
dtype objects. Promotion follows Keras/JAX rather than NumPy: an integer meeting a float takes the float's type
(``int64 + float32 -> float32``), Python scalars never widen a tensor.

>>> from kusari import dtypes
>>> dtypes.result_type("int32", "float16")
'float16'
"""
FLOATS = ("float8_e4m3fn", "float8_e5m2", "bfloat16", "float16", "float32", "float64")
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
INTS = SIGNED + UNSIGNED
ALL = FLOATS + INTS + ("bool",)

_ALIASES = {
    "float": "float32", "double": "float64", "half": "float16", "int": "int32", "long": "int64",
    "bool_": "bool", "boolean": "bool",
}
_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_FLOAT_RANK = {name: i for i, name in enumerate(FLOATS)}


def standardize(dtype):
    """Return the canonical name of ``dtype`` (a name, a Python type or any library's dtype object)."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
    elif dtype is float:
        from kusari import config
        return config.floatx()
    elif dtype is int:
        return "int32"
    elif dtype is bool:
        return "bool"
    else:
        name = getattr(dtype, "name", None) or str(dtype)
        name = name.replace("torch.", "").replace("<class 'numpy.", "").rstrip("'>")
        name = _ALIASES.get(name, name)
    if name not in ALL:
        raise TypeError(f"unknown dtype {dtype!r}; kusari knows {', '.join(ALL)}")
    return name


def is_float(name):
    return name in _FLOAT_RANK


def is_int(name):
    return name in _BITS


def result_type(a, b):
    """The dtype name of a binary op on arrays of dtypes ``a`` and ``b`` (both canonical names)."""
    if a == b:
        return a
    if a == "bool":
        return b
    if b == "bool":
        return a
    fa, fb = a in _FLOAT_RANK, b in _FLOAT_RANK
    if fa and fb:
        if {a, b} == {"float16", "bfloat16"} or "float8" in a + b and _FLOAT_RANK[a] < 4 and _FLOAT_RANK[b] < 4:
            return "float32"
        return a if _FLOAT_RANK[a] > _FLOAT_RANK[b] else b
    if fa:
        return a
    if fb:
        return b
    sa, sb = a in SIGNED, b in SIGNED
    bits = max(_BITS[a], _BITS[b])
    if sa == sb:
        return a if _BITS[a] >= _BITS[b] else b
    unsigned, signed = (b, a) if sa else (a, b)
    if _BITS[signed] > _BITS[unsigned]:
        return signed
    return f"int{2 * _BITS[unsigned]}" if bits < 64 else "float64"
