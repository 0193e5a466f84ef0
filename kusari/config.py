"""The few process-wide settings: float type, epsilon, image layout, default backend name, thread count.

Keras spells these ``keras.config.floatx()`` etc.; kusari offers the same names.

>>> import kusari
>>> kusari.config.floatx()
'float32'
"""
import os

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"


def floatx():
    """The default float dtype name (``"float32"``)."""
    return _FLOATX


def set_floatx(value):
    """Set the default float dtype: one of float16, bfloat16, float32, float64."""
    global _FLOATX
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"set_floatx: unknown float type {value!r}; use float16, bfloat16, float32 or float64")
    _FLOATX = value


def epsilon():
    """The fuzz factor used by losses and normalisation (Keras' 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """``"channels_last"`` (the default) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value):
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"image_data_format must be 'channels_last' or 'channels_first', got {value!r}")
    _IMAGE_DATA_FORMAT = value


def default_backend_name():
    """The backend named by ``KUSARI_BACKEND``, else ``KERAS_BACKEND``, else ``"numpy"``."""
    return os.environ.get("KUSARI_BACKEND") or os.environ.get("KERAS_BACKEND") or "numpy"


def backend():
    """The name of the backend in use (``keras.config.backend()``): ``"numpy"``, ``"torch"`` or ``"jax"``.

    >>> import kusari
    >>> kusari.config.backend() in ("numpy", "torch", "jax")
    True
    """
    from kusari.backend import current
    return current().name


def get_num_threads():
    """Threads the current backend computes with: the NumPy backend's thread pool, or torch's intra-op threads.

    >>> import kusari
    >>> kusari.config.get_num_threads() >= 1
    True
    """
    from kusari.backend import current
    return current().get_num_threads()


def set_num_threads(n):
    """Set the current backend's thread count at runtime (``torch.set_num_threads``' counterpart). NumPy: the size
    of the pool its heavy kernels are split over, OpenBLAS then running single-threaded inside each part
    (``KUSARI_NUMPY_THREADING=blas`` leaves the threading to OpenBLAS instead; docs/performance.md, "Threads").
    JAX fixes its threads at start-up (``XLA_FLAGS``).

    >>> import kusari
    >>> n = kusari.config.get_num_threads()
    >>> kusari.config.set_num_threads(1); kusari.config.get_num_threads()
    1
    >>> kusari.config.set_num_threads(n)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: the thread count must be a positive int, got {n!r}")
    from kusari.backend import current
    current().set_num_threads(n)
