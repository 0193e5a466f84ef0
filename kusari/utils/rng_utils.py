"""``set_random_seed`` and ``clear_session``."""
import random as _py_random


def set_random_seed(seed):
    """Seed everything kusari draws from: its global SeedGenerator (initializers, dropout, shuffling), Python's
    ``random`` and NumPy's global generator — as ``keras.utils.set_random_seed`` does.

    >>> import kusari
    >>> kusari.utils.set_random_seed(1); a = kusari.random.normal((2,)).tolist()
    >>> kusari.utils.set_random_seed(1); b = kusari.random.normal((2,)).tolist()
    >>> a == b
    True
    """
    if not isinstance(seed, int):
        raise ValueError(f"set_random_seed needs an int, got {seed!r}")
    _py_random.seed(seed)
    import numpy as np
    np.random.seed(seed)
    from kusari import random
    random.set_seed(seed)


def clear_session():
    """Forget layer-name counters (``dense``, ``dense_1``…), as ``keras.backend.clear_session`` does."""
    from kusari.layers.layer import reset_names
    reset_names()
