"""Compatibility tests against real Keras 3 (skipped where Keras is not installed; Keras is no dependency of kusari).

Keras picks its backend when first imported. kusari reads ``KERAS_BACKEND`` too, so the variable is set only for
the moment Keras is imported (jax, else torch, else numpy) and restored at once; a backend the user exported wins.
"""
import importlib.util
import os


def _import_keras():
    if importlib.util.find_spec("keras") is None:
        return
    saved = os.environ.get("KERAS_BACKEND")
    if saved is None:
        os.environ["KERAS_BACKEND"] = next(n for n in ("jax", "torch", "numpy")
                                           if n == "numpy" or importlib.util.find_spec(n) is not None)
    try:
        import keras  # noqa: F401
    except ImportError:
        pass
    finally:
        if saved is None:
            os.environ.pop("KERAS_BACKEND", None)


_import_keras()
