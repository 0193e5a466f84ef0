"""``kusari.capture``: taps on inner activations for any model style.

Inside the block, every call of the named layers records its output — the very tensor of this call, still in
the graph, so feature matching, perceptual losses and gradients w.r.t. an inner activation are one line.

>>> import kusari
>>> from kusari import layers
>>> model = kusari.Sequential([layers.Dense(4, name="features"), layers.Dense(1)])
>>> x = kusari.ops.ones((2, 3))
>>> with kusari.capture(model, ["features"]) as taps:
...     y = model(x)
>>> taps["features"].shape
(2, 4)
"""
from kusari.layers.layer import call_context


class Taps(dict):
    """name -> the layer's output in the last call; ``taps.all[name]`` lists every call's output."""

    def __init__(self):
        super().__init__()
        self.all = {}


class capture:
    """``with capture(model, names) as taps:`` records the outputs of the named layers during the block.

    ``taps[name]`` is the output of the last call, ``taps.all[name]`` every call's output (shared layers).

    >>> import kusari
    >>> model = kusari.Sequential([kusari.layers.Dense(3, name="hidden"), kusari.layers.Dense(1)])
    >>> with kusari.capture(model, "hidden") as taps:
    ...     _ = model(kusari.ops.ones((2, 4)))
    >>> taps["hidden"].shape, len(taps.all["hidden"])
    ((2, 3), 1)
    """

    def __init__(self, model, names):
        if isinstance(names, str):
            names = [names]
        self.model = model
        self.layers = {}
        for name in names:
            layer = model.get_layer(name) if hasattr(model, "get_layer") else None
            if layer is None:
                raise ValueError(f"capture: {model!r} has no layer named {name!r}")
            self.layers[id(layer)] = name
        self.taps = Taps()

    def _hook(self, layer, args, outputs):
        name = self.layers.get(id(layer))
        if name is not None:
            self.taps[name] = outputs
            self.taps.all.setdefault(name, []).append(outputs)

    def __enter__(self):
        call_context().hooks.append(self._hook)
        return self.taps

    def __exit__(self, *exc):
        hooks = call_context().hooks
        if self._hook in hooks:
            hooks.remove(self._hook)
        return False
