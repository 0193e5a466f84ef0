"""Linear algebra: matmul, dot, tensordot, einsum."""
from kusari.autograd.function import Function
from kusari.ops.convert import pair
from kusari.ops.shape import reshape, sum_to
from kusari.tensor import Tensor

__all__ = ["matmul"]


def _swap_last(x):
    from kusari.ops.shape import transpose
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, tuple(axes))


class MatMul(Function):
    """Batched matrix product of operands with at least 2 dimensions (batch dimensions broadcast)."""

    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = gb = None
        if na:
            ga = gy @ _swap_last(b)
            if ga.shape != a.shape:
                ga = sum_to(ga, a.shape)
        if nb:
            gb = _swap_last(a) @ gy
            if gb.shape != b.shape:
                gb = sum_to(gb, b.shape)
        return ga, gb


def matmul(x1, x2):
    """Matrix product with NumPy's rules (1-D operands are promoted and the added axis removed).

    >>> import kusari
    >>> kusari.ops.matmul(kusari.tensor([[1.0, 2.0]]), kusari.tensor([[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    a, b = pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes {a.shape} and {b.shape}")
    sa, sb = a.shape, b.shape
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = reshape(a, (1, a.shape[0]))
    if vb:
        b = reshape(b, (b.shape[0], 1))
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {sa} and {sb} are not aligned ({a.shape[-1]} != {b.shape[-2]})")
    y = MatMul()(a, b)
    if va and vb:
        return reshape(y, y.shape[:-2])
    if va:
        return reshape(y, y.shape[:-2] + y.shape[-1:])
    if vb:
        return reshape(y, y.shape[:-1])
    return y



Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.matmul = matmul
