"""Helpers shared by the Keras comparison tests."""
import numpy as np


def random_weights(keras_layer, seed=0):
    """Give a built Keras layer random weights (variances positive) so a comparison is not of zeros and ones."""
    rng = np.random.default_rng(seed)
    new = []
    for w, v in zip(keras_layer.weights, keras_layer.get_weights()):
        if "variance" in w.path or "variance" in w.name:
            new.append(rng.uniform(0.5, 1.5, v.shape).astype(v.dtype))
        else:
            new.append(rng.uniform(-0.5, 0.5, v.shape).astype(v.dtype))
    keras_layer.set_weights(new)


def to_numpy(y):
    if isinstance(y, (list, tuple)):
        return [to_numpy(t) for t in y]
    if hasattr(y, "numpy") and not isinstance(y, np.ndarray):
        try:
            return np.asarray(y.numpy())
        except Exception:   # torch tensors that need detach / cpu
            return y.detach().cpu().numpy()
    return np.asarray(y)
