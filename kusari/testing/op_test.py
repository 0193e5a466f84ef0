"""One declarative table drives every op test: forward vs a NumPy reference, gradcheck and double-grad check
in float64, and forward + backward vs PyTorch when it is installed.

>>> import numpy as np
>>> from kusari import ops
>>> spec = OpSpec("exp", ops.exp, np.exp, shapes=[(2, 3)], torch_fn=lambda t: t.exp())
>>> spec.id
'exp'

A test module builds its tests with ``make_op_tests(SPECS)`` and assigns them to module globals.
"""
import dataclasses
from typing import Callable, Optional, Sequence

import numpy as np

import kusari
from kusari.autograd.gradcheck import gradcheck, gradgradcheck

_TOL = {"float16": (1e-2, 1e-2), "bfloat16": (5e-2, 5e-2), "float32": (1e-5, 1e-4), "float64": (1e-10, 1e-8)}


@dataclasses.dataclass
class OpSpec:
    """One row of the op table.

    name       test id
    fn         kusari callable taking Tensors (for ``shapes``) and returning a Tensor or tuple
    ref        NumPy reference taking arrays (float64 recommended) or None
    shapes     input shapes (random uniform in ``domain``), or ``make`` builds inputs itself
    make       optional ``make(rng, dtype) -> list of numpy arrays`` (overrides shapes/domain)
    torch_fn   optional callable on torch tensors (same argument order) for the PyTorch comparison
    dtypes     float dtypes the forward test runs in
    grad       run gradcheck (float64)
    double_grad run the second-order check
    diff_args  indices of inputs to differentiate (default: all float inputs)
    tol        {dtype: (atol, rtol)} overrides
    keeps_dtype float outputs must have the input dtype (float32 stays float32)
    """
    name: str
    fn: Callable
    ref: Optional[Callable] = None
    shapes: Sequence = ((3, 4),)
    make: Optional[Callable] = None
    domain: tuple = (-2.0, 2.0)
    torch_fn: Optional[Callable] = None
    dtypes: tuple = ("float32", "float64")
    grad: bool = True
    double_grad: bool = True
    diff_args: Optional[tuple] = None
    tol: dict = dataclasses.field(default_factory=dict)
    grad_tol: tuple = (1e-5, 1e-4)
    eps: float = 1e-6
    keeps_dtype: bool = True

    @property
    def id(self):
        return self.name

    def arrays(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        if self.make is not None:
            return [np.asarray(a) for a in self.make(rng, dtype)]
        lo, hi = self.domain
        return [rng.uniform(lo, hi, size=s).astype(dtype) for s in self.shapes]

    def tolerance(self, dtype):
        return self.tol.get(dtype, _TOL[dtype])

    def diff_indices(self, arrays):
        if self.diff_args is not None:
            return self.diff_args
        return tuple(i for i, a in enumerate(arrays) if np.issubdtype(a.dtype, np.floating))


def _listify(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check_forward(spec, dtype):
    arrays = spec.arrays(dtype)
    out = _listify(spec.fn(*[kusari.tensor(a) for a in arrays]))
    if spec.ref is None:
        return
    want = _listify(spec.ref(*[a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a
                              for a in arrays]))
    atol, rtol = spec.tolerance(dtype)
    for o, w in zip(out, want):
        if spec.keeps_dtype and kusari.dtypes.is_float(o.dtype):
            assert o.dtype == dtype, f"{spec.name}: a {dtype} input gave a {o.dtype} output"
        np.testing.assert_allclose(o.numpy().astype(np.float64), np.asarray(w, dtype=np.float64),
                                   atol=atol, rtol=rtol, err_msg=f"{spec.name} forward in {dtype}")


def _grad_inputs(spec):
    arrays = spec.arrays("float64")
    diff = spec.diff_indices(arrays)
    return [kusari.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]


def check_grad(spec):
    atol, rtol = spec.grad_tol
    assert gradcheck(spec.fn, _grad_inputs(spec), eps=spec.eps, atol=atol, rtol=rtol)


def check_double_grad(spec):
    atol, rtol = spec.grad_tol
    assert gradgradcheck(spec.fn, _grad_inputs(spec), eps=spec.eps, atol=atol * 10, rtol=rtol * 10)


def check_torch(spec, dtype):
    import torch
    arrays = spec.arrays(dtype)
    diff = spec.diff_indices(arrays)
    ours = [kusari.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out_k = _listify(spec.fn(*ours))
    out_t = _listify(spec.torch_fn(*theirs))
    atol, rtol = spec.tolerance(dtype)
    rng = np.random.default_rng(1)
    loss_k, loss_t = None, None
    for ok, ot in zip(out_k, out_t):
        np.testing.assert_allclose(ok.numpy().astype(np.float64), ot.detach().numpy().astype(np.float64),
                                   atol=atol, rtol=rtol, err_msg=f"{spec.name} forward vs torch ({dtype})")
        if ok.requires_grad:
            w = rng.standard_normal(ok.shape).astype(dtype)
            lk, lt = (ok * kusari.tensor(w)).sum(), (ot * torch.tensor(w)).sum()
            loss_k = lk if loss_k is None else loss_k + lk
            loss_t = lt if loss_t is None else loss_t + lt
    if loss_k is None or not diff:
        return
    loss_k.backward()
    loss_t.backward()
    for i in diff:
        gk = ours[i].grad
        gt = theirs[i].grad
        if gt is None:
            assert gk is None or np.allclose(gk.numpy(), 0), f"{spec.name}: grad of input {i} should be zero"
            continue
        assert gk is not None, f"{spec.name}: no gradient for input {i}"
        np.testing.assert_allclose(gk.numpy().astype(np.float64), gt.numpy().astype(np.float64),
                                   atol=atol * 10, rtol=rtol * 10,
                                   err_msg=f"{spec.name} grad of input {i} vs torch ({dtype})")


def make_op_tests(specs):
    """Four parametrised pytest functions for a list of OpSpec rows: returns a dict to put into ``globals()``."""
    import pytest

    fwd = [pytest.param(s, d, id=f"{s.id}-{d}") for s in specs for d in s.dtypes]
    grads = [pytest.param(s, id=s.id) for s in specs if s.grad]
    ggrads = [pytest.param(s, id=s.id) for s in specs if s.grad and s.double_grad]
    torch_rows = [pytest.param(s, d, id=f"{s.id}-{d}") for s in specs if s.torch_fn is not None
                  for d in ("float32", "float64") if d in s.dtypes or d == "float64"]

    @pytest.mark.parametrize("spec,dtype", fwd)
    def test_forward(spec, dtype):
        check_forward(spec, dtype)

    @pytest.mark.parametrize("spec", grads)
    def test_gradcheck(spec):
        check_grad(spec)

    @pytest.mark.parametrize("spec", ggrads)
    def test_double_grad(spec):
        check_double_grad(spec)

    @pytest.mark.parametrize("spec,dtype", torch_rows)
    def test_vs_torch(spec, dtype):
        pytest.importorskip("torch")
        check_torch(spec, dtype)

    return {"test_forward": test_forward, "test_gradcheck": test_gradcheck, "test_double_grad": test_double_grad,
            "test_vs_torch": test_vs_torch}
