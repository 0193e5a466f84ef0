"""Gradient checks by central finite differences (use float64 inputs).

>>> import kusari
>>> from kusari.autograd.gradcheck import gradcheck
>>> x = kusari.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
>>> gradcheck(lambda t: (t * t).sum(), [x])
True
"""
from kusari import backend as _backend


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _projected(fn, inputs, cotangents):
    """sum_k <fn(inputs)_k, cotangents_k> as a scalar Tensor."""
    total = None
    for o, u in zip(_outputs(fn(*inputs)), cotangents):
        if o is None:
            continue
        term = (o * u).sum() if u is not None else o.sum()
        total = term if total is None else total + term
    return total


def _cotangents(fn, inputs, seed):
    from kusari.tensor import Tensor
    B = _backend.current()
    gen = B.rng(seed)
    outs = _outputs(fn(*inputs))
    return [Tensor(B.normal(gen, o.shape, o.dtype)) if o is not None and o.dtype.startswith("float") else None
            for o in outs]


def numerical_grads(fn, inputs, cotangents, eps=1e-6):
    """d <fn(inputs), cotangents> / d input, per input that requires grad, by central differences."""
    B = _backend.current()
    xp = B.xp
    grads = []
    # grad mode stays on: fn may itself take gradients (gradgradcheck)
    for t in inputs:
        if not t.requires_grad:
            grads.append(None)
            continue
        original = t.data
        flat = xp.reshape(xp.asarray(original, copy=True), (-1,))
        g = xp.reshape(xp.asarray(original, copy=True), (-1,)) * 0
        for i in range(flat.shape[0]):
            v = float(flat[i])
            t.data = xp.reshape(B.setitem(xp.asarray(flat, copy=True), i, v + eps), original.shape)
            plus = float(_projected(fn, inputs, cotangents).item())
            t.data = xp.reshape(B.setitem(xp.asarray(flat, copy=True), i, v - eps), original.shape)
            minus = float(_projected(fn, inputs, cotangents).item())
            g = B.setitem(g, i, (plus - minus) / (2 * eps))
        t.data = original
        grads.append(xp.reshape(g, original.shape))
    return grads


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Compare autograd's gradients of ``fn`` at ``inputs`` with finite differences; True or an AssertionError
    naming the input and the largest mismatch."""
    from kusari.tensor import grad
    B = _backend.current()
    xp = B.xp
    cot = _cotangents(fn, inputs, seed)
    wrt = [t for t in inputs if t.requires_grad]
    analytic = grad(_projected(fn, inputs, cot), wrt, allow_unused=True)
    numeric = [g for g in numerical_grads(fn, inputs, cot, eps) if g is not None]
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        a_arr = xp.zeros_like(n) if a is None else a.data
        if not bool(xp.all(xp.abs(a_arr - n) <= atol + rtol * xp.abs(n))):
            worst = float(xp.max(xp.abs(a_arr - n)))
            if raise_exception:
                raise AssertionError(f"gradcheck: gradient of input {k} (shape {tuple(n.shape)}) differs from "
                                     f"finite differences by up to {worst:.3g}\nanalytic:\n{B.to_numpy(a_arr)}"
                                     f"\nnumeric:\n{B.to_numpy(n)}")
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=1, raise_exception=True):
    """Check second derivatives: the gradient of <grad fn, v> (built with create_graph=True) against finite
    differences of the first gradient."""
    from kusari.tensor import grad
    wrt = [t for t in inputs if t.requires_grad]
    cot = _cotangents(fn, inputs, seed)

    def first_grads(*xs):
        sub = [x for x in xs if x.requires_grad]
        gs = grad(_projected(fn, xs, cot), sub, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    if not first_grads(*inputs):
        return True  # the first derivative is constant: nothing to check
    del wrt
    return gradcheck(first_grads, inputs, eps, atol, rtol, seed + 1, raise_exception)
