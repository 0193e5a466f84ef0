"""Linear algebra: matmul, dot, tensordot, einsum, outer, inner, diagonal, trace, norm.

``einsum``'s backward for each operand is another einsum (the other operands and the output gradient contracted
to that operand's subscripts), so second derivatives work; see ``Einsum.backward``.
"""
import string

from kusari import config, dtypes
from kusari.autograd import mode
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor, normalize_axis, pair
from kusari.ops.shape import broadcast_to, reshape, sum_to, transpose
from kusari.tensor import Tensor

__all__ = ["matmul", "dot", "tensordot", "einsum", "outer", "inner", "diagonal", "trace", "norm"]


def _swap_last(x):
    from kusari.ops.shape import transpose
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, tuple(axes))


class MatMul(Function):
    """Batched matrix product of operands with at least 2 dimensions (batch dimensions broadcast)."""

    def forward(self, a, b):
        return B().matmul(a, b)

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


class Linear(Function):
    """``x @ kernel (+ bias)``, optionally followed by relu, as one node: Dense's hot path (one graph node and one
    output array instead of three, the bias added in place, the relu mask read from the output). ``x`` is
    ``(..., in)``, ``kernel`` ``(in, out)``, ``bias`` ``(out,)``; all of one dtype."""

    def __init__(self, relu):
        self.relu = relu
        if relu:
            self.uses_outputs = True

    def forward(self, x, kernel, bias=None):
        # one GEMM over all leading axes (NumPy's stacked matmul loops over them); bias and relu in place
        y = B().linear(x.reshape(-1, x.shape[-1]), kernel, bias, self.relu)
        return y.reshape(x.shape[:-1] + kernel.shape[1:])

    def backward(self, gy):
        x, kernel = self.inputs[0], self.inputs[1]
        has_bias = len(self.inputs) == 3
        nx, nk = self.needs_input_grad[0], self.needs_input_grad[1]
        nb = has_bias and self.needs_input_grad[2]
        if not mode.grad_enabled:
            # plain backward (no create_graph): the same formulas on arrays, no graph nodes
            g = gy.data
            if self.relu:
                g = B().relu_grad(g, self.output().data)
            wrap = Tensor._wrap
            g2 = g.reshape(-1, g.shape[-1])
            pairs = ([(g2, kernel.data.T)] if nx else []) + ([(x.data.reshape(-1, x.shape[-1]).T, g2)] if nk else [])
            prods = B().matmul_many(pairs)
            gx = wrap(prods[0].reshape(x.shape)) if nx else None
            gk = wrap(prods[-1]) if nk else None
            gb = wrap(B().xp.sum(g2, axis=0)) if nb else None
            return (gx, gk, gb) if has_bias else (gx, gk)
        if self.relu:
            gy = gy * Tensor(B().cast(self.output().data > 0, gy.dtype))
        from kusari.ops.reduce import sum as _sum
        g2 = reshape(gy, (-1, gy.shape[-1]))
        gx = matmul(gy, transpose(kernel)) if nx else None
        gk = matmul(transpose(reshape(x, (-1, x.shape[-1]))), g2) if nk else None
        gb = _sum(g2, axis=0) if nb else None
        return (gx, gk, gb) if has_bias else (gx, gk)


def linear(x, kernel, bias=None, relu=False):
    """``x @ kernel + bias`` (then ``relu`` if asked) as one fused node when the operands allow it (same float
    dtype, ``x`` at least 2-D); otherwise the same result from matmul, add and relu. Used by ``Dense``."""
    kd = kernel.data
    xd = x.data
    if (xd.ndim >= 2 and xd.dtype == kd.dtype and kd.ndim == 2 and xd.shape[-1] == kd.shape[0]
            and (bias is None or (bias.data.dtype == kd.dtype and bias.data.shape == kd.shape[1:]))
            and dtypes.is_float(B().dtype_name(kd.dtype))):
        fn = Linear(relu)
        return fn(x, kernel) if bias is None else fn(x, kernel, bias)
    y = matmul(x, kernel)
    if bias is not None:
        y = y + bias
    if relu:
        from kusari.ops.nn import relu as _relu
        y = _relu(y)
    return y


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



def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def tensordot(x1, x2, axes=2):
    """Sum products over the last ``axes`` axes of ``x1`` and the first of ``x2`` (or over the two given lists
    of axes), NumPy ``tensordot``.

    >>> import kusari
    >>> a = kusari.tensor([[[1.0, 2.0], [3.0, 4.0]]])          # shape (1, 2, 2)
    >>> kusari.ops.tensordot(a, kusari.tensor([[1.0], [1.0]]), axes=1).shape
    (1, 2, 1)
    """
    return _tensordot(x1, x2, axes, "tensordot")


def _tensordot(x1, x2, axes, op):
    a, b = pair(x1, x2)
    if isinstance(axes, int):
        if axes < 0 or axes > a.ndim or axes > b.ndim:
            raise ValueError(f"{op}: axes={axes} is out of range for shapes {a.shape} and {b.shape}")
        ax_a, ax_b = tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise ValueError(f"{op}: axes must be an int or a pair of axis lists, got {axes!r}") from None
        ax_a = normalize_axis(ax_a, a.ndim, op)
        ax_b = normalize_axis(ax_b, b.ndim, op)
        if len(ax_a) != len(ax_b):
            raise ValueError(f"{op}: {len(ax_a)} axes of x1 but {len(ax_b)} axes of x2")
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not match: axis {i} of x1 has length "
                             f"{a.shape[i]}, axis {j} of x2 has length {b.shape[j]}")
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [j for j in range(b.ndim) if j not in ax_b]
    k = _prod([a.shape[i] for i in ax_a])
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b)
    am = reshape(transpose(a, tuple(free_a) + tuple(ax_a)), (_prod([a.shape[i] for i in free_a]), k))
    bm = reshape(transpose(b, tuple(ax_b) + tuple(free_b)), (k, _prod([b.shape[j] for j in free_b])))
    return reshape(MatMul()(am, bm), out_shape)


def dot(x1, x2):
    """NumPy ``dot``: scalars multiply, 1-D·1-D is the inner product, otherwise the last axis of ``x1`` meets
    the second-to-last of ``x2`` (the only one when 1-D).

    >>> import kusari
    >>> kusari.ops.dot(kusari.tensor([1.0, 2.0]), kusari.tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        return _tensordot(a, b, ((a.ndim - 1,), (0,)), "dot")
    return _tensordot(a, b, ((a.ndim - 1,), (b.ndim - 2,)), "dot")


def outer(x1, x2):
    """Outer product of the flattened inputs: shape ``(x1.size, x2.size)``."""
    a, b = pair(x1, x2)
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def inner(x1, x2):
    """Inner product over the last axes (NumPy ``inner``); scalars multiply."""
    a, b = pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _tensordot(a, b, ((a.ndim - 1,), (b.ndim - 1,)), "inner")


# -- einsum ------------------------------------------------------------------------------------------------------

def _parse_einsum(subscripts, shapes):
    """``(input subscript list, output subscripts)`` in explicit form; '...' kept as is."""
    s = subscripts.replace(" ", "")
    if "->" in s:
        lhs, out = s.split("->", 1)
        if "->" in out:
            raise ValueError(f"einsum: {subscripts!r} has more than one '->'")
    else:
        lhs, out = s, None
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(ins)} operands but {len(shapes)} were given")
    sizes = {}
    for term, shape in zip(ins, shapes):
        letters = term.replace("...", "")
        if term.count("...") > 1 or not all(c in string.ascii_letters for c in letters):
            raise ValueError(f"einsum: bad subscripts {term!r} in {subscripts!r}")
        ell = "..." in term
        if len(letters) > len(shape) or (not ell and len(letters) != len(shape)):
            raise ValueError(f"einsum: subscripts {term!r} do not match an operand of shape {shape}")
        pos = term.index("...") if ell else len(term)
        dims = list(shape[:pos]) + list(shape[len(shape) - (len(letters) - pos):]) if ell else list(shape)
        for c, n in zip(letters, dims):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {n} in {subscripts!r}")
    any_ell = any("..." in t for t in ins)
    if out is None:
        counts = {}
        for t in ins:
            for c in t.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out = ("..." if any_ell else "") + "".join(sorted(c for c, k in counts.items() if k == 1))
    else:
        letters = out.replace("...", "")
        if out.count("...") > 1 or len(set(letters)) != len(letters) or any(c not in sizes for c in letters):
            raise ValueError(f"einsum: bad output subscripts {out!r} in {subscripts!r}")
        if "..." in out and not any_ell:
            raise ValueError(f"einsum: output {out!r} has '...' but no operand does")
    return ins, out


class Einsum(Function):
    def __init__(self, ins, out):
        self.ins, self.out = ins, out

    def forward(self, *xs):
        return B().einsum(",".join(self.ins) + "->" + self.out, *xs)

    def backward(self, gy):
        return tuple(self._grad(k, gy) if need else None for k, need in enumerate(self.needs_input_grad))

    def _grad(self, k, gy):
        # d out / d x_k: contract the other operands with gy onto x_k's subscripts. Letters repeated in x_k's
        # term (a diagonal) get a fresh letter joined by an identity matrix; letters only x_k has get a ones vector.
        xs, ins = self.inputs, self.ins
        x = xs[k]
        terms = [t for j, t in enumerate(ins) if j != k] + [self.out]
        ops = [t for j, t in enumerate(xs) if j != k] + [gy]
        used = set("".join(ins) + self.out)
        fresh = (c for c in string.ascii_letters if c not in used)
        have = set("".join(terms))
        target = ins[k]
        ell = "..." in target
        ell_in = any("..." in t for t in terms)
        if ell_in and not ell:
            # x_k does not broadcast: the other operands' '...' dims are summed; NumPy needs explicit letters
            # for that (a letter of size 1 in one operand broadcasts against the others)
            n_e = [t_.ndim - len(t.replace("...", "")) if "..." in t else 0 for t, t_ in zip(terms, ops)]
            ell_letters = [next(fresh) for _ in range(max(n_e))]
            terms = [t.replace("...", "".join(ell_letters[len(ell_letters) - n:])) for t, n in zip(terms, n_e)]
            ell_in = False
        pos = target.index("...") if ell else len(target)
        letters = target.replace("...", "")
        n_ell = x.ndim - len(letters)
        dims = list(x.shape[:pos]) + list(x.shape[pos + n_ell:]) if ell else list(x.shape)
        b = B()
        seen, new_letters = set(), []
        for c, n in zip(letters, dims):
            if c in seen:
                f = next(fresh)
                terms.append(c + f)
                ops.append(Tensor(b.xp.eye(n, dtype=b.dtype(x.dtype))))
                new_letters.append(f)
                continue
            seen.add(c)
            if c not in have:
                terms.append(c)
                ops.append(Tensor(b.ones((n,), x.dtype)))
            new_letters.append(c)
        new_target = "".join(new_letters[:pos]) + ("..." if ell and ell_in else "") + "".join(new_letters[pos:])
        g = Einsum(terms, new_target)(*ops)
        if ell and not ell_in:   # x_k's broadcast dims were summed away: the gradient is constant along them
            g = reshape(g, x.shape[:pos] + (1,) * n_ell + x.shape[pos + n_ell:])
            return broadcast_to(g, x.shape)
        if g.shape != x.shape and not ell:   # a letter of size 1 in x_k broadcast against the others
            return sum_to(g, x.shape)
        if g.shape != x.shape:   # broadcasting inside '...': sum over the broadcast dims
            n_big = g.ndim - len(letters)
            order = tuple(range(pos, pos + n_big)) + tuple(range(pos)) + tuple(range(pos + n_big, g.ndim))
            g = transpose(g, order)
            ell_shape = x.shape[pos:pos + n_ell]
            g = sum_to(g, ell_shape + x.shape[:pos] + x.shape[pos + n_ell:])
            back = [0] * g.ndim
            for i, o in enumerate(tuple(range(n_ell, n_ell + pos)) + tuple(range(n_ell)) +
                                  tuple(range(n_ell + pos, g.ndim))):
                back[i] = o
            g = transpose(g, tuple(back))
        return g


def einsum(subscripts, *operands):
    """Einstein summation (NumPy ``einsum``), including '...' broadcasting and repeated indices.

    >>> import kusari
    >>> kusari.ops.einsum("ij,j->i", kusari.tensor([[1.0, 2.0], [3.0, 4.0]]), kusari.tensor([1.0, 1.0])).tolist()
    [3.0, 7.0]
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string, got {type(subscripts).__name__}")
    if not operands:
        raise ValueError("einsum: no operands")
    xs = [as_tensor(o) for o in operands]
    dt = xs[0].dtype
    for x in xs[1:]:
        dt = dtypes.result_type(dt, x.dtype)
    if dt == "bool":
        dt = "int32"
    from kusari.ops.arithmetic import cast
    xs = [x if x.dtype == dt else cast(x, dt) for x in xs]
    ins, out = _parse_einsum(subscripts, [x.shape for x in xs])
    try:
        return Einsum(ins, out)(*xs)
    except ValueError as e:
        raise ValueError(f"einsum: {subscripts!r} on shapes {[x.shape for x in xs]}: {e}") from None


# -- diagonal, trace, norm ------------------------------------------------------------------------------------------

def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal over ``axis1``/``axis2`` (moved to the last axis), NumPy ``diagonal``."""
    from kusari.ops.indexing import getitem
    from kusari.ops.shape import moveaxis
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1, a2 = normalize_axis((axis1, axis2), x.ndim, "diagonal")
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 are both {a1}")
    y = moveaxis(x, (a1, a2), (-2, -1))
    r0, c0 = max(-offset, 0), max(offset, 0)
    n = max(min(y.shape[-2] - r0, y.shape[-1] - c0), 0)
    ar = B().arange(0, n, 1, "int64")
    return getitem(y, (Ellipsis, ar + r0, ar + c0))


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the diagonal (over ``axis1``/``axis2``)."""
    from kusari.ops.reduce import sum
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (``keras.ops.norm``): vector ords None/2, 1, inf, -inf, 0, any p; matrix ords
    None/"fro", 1, -1, inf, -inf.

    >>> import kusari
    >>> kusari.ops.norm(kusari.tensor([3.0, 4.0])).item()
    5.0
    """
    from kusari.ops import reduce as R
    from kusari.ops.unary import abs, sqrt
    x = as_tensor(x)
    if not dtypes.is_float(x.dtype):
        from kusari.ops.arithmetic import cast
        x = cast(x, config.floatx())
    inf = float("inf")
    if axis is None:
        if ord is None:
            y = sqrt(R.sum(x * x))
            return reshape(y, (1,) * x.ndim) if keepdims else y
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor, got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = normalize_axis(axis, x.ndim, "norm")
    if len(axes) == 1:
        a = axes[0]
        if ord is None or ord == 2:
            return sqrt(R.sum(x * x, a, keepdims))
        if ord == inf:
            return R.max(abs(x), a, keepdims)
        if ord == -inf:
            return R.min(abs(x), a, keepdims)
        if ord == 0:
            from kusari.ops.arithmetic import cast
            return cast(R.count_nonzero(x, a) if not keepdims else
                        R.sum(cast(x != 0, x.dtype), a, True), x.dtype)
        if ord == 1:
            return R.sum(abs(x), a, keepdims)
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm needs a number")
        return R.sum(abs(x) ** float(ord), a, keepdims) ** (1.0 / ord)
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"norm: axis must be one axis or two distinct axes, got {axis!r}")
    r, c = axes
    if ord is None or ord == "fro":
        return sqrt(R.sum(x * x, axes, keepdims))
    if ord in (1, -1):
        y = R.sum(abs(x), r, keepdims=True)
        y = (R.max if ord == 1 else R.min)(y, c, keepdims=True)
    elif ord in (inf, -inf):
        y = R.sum(abs(x), c, keepdims=True)
        y = (R.max if ord == inf else R.min)(y, r, keepdims=True)
    else:
        raise ValueError(f"norm: matrix ord={ord!r} is not supported; use None, 'fro', 1, -1, inf or -inf")
    return y if keepdims else reshape(y, tuple(s for i, s in enumerate(y.shape) if i not in axes))


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.matmul = matmul
Tensor.dot = dot
Tensor.diagonal = lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2)
Tensor.trace = lambda self, offset=0, axis1=0, axis2=1: trace(self, offset, axis1, axis2)
Tensor.norm = lambda self, ord=None, axis=None, keepdims=False: norm(self, ord, axis, keepdims)
