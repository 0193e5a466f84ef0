"""Fused recurrent-cell steps.

``lstm_cell``: one LSTM step (Keras gate order i, f, c, o; tanh and sigmoid) as a single autograd node. Fused because
an RNN runs the cell once per time step: the unfused step is about a dozen nodes (matmul, add, split, three
sigmoids, two tanh, products) forwards and more backwards, and their per-node overhead and extra passes over memory
dominate at the batch sizes RNNs use. Its backward computes with raw arrays when no graph of the gradient is wanted,
and with differentiable ops (recomputing the gates) when it is (``create_graph=True``), so double backprop works.

>>> from kusari import ops
>>> from kusari.ops.recurrent import lstm_cell
>>> h, c = lstm_cell(ops.zeros((2, 8)), ops.zeros((2, 2)), ops.ones((2, 2)), ops.zeros((2, 8)))
>>> [round(v, 4) for v in c[0].tolist()]
[0.5, 0.5]
"""
from kusari.autograd import mode
from kusari.autograd.function import Function
from kusari.ops.convert import B, as_tensor
from kusari.tensor import Tensor

__all__ = ["lstm_cell"]


def _lstm_grads(gh, gc, i, f, g, o, tc, c_prev, h_prev, r, cat, need):
    """Gradients of (h, c) = LSTM step w.r.t. (xz, h_prev, c_prev, r). Works on raw arrays and on Tensors alike."""
    gct = gc + gh * o * (1.0 - tc * tc)
    dz = cat([(gct * g) * i * (1.0 - i), (gct * c_prev) * f * (1.0 - f), (gct * i) * (1.0 - g * g),
              (gh * tc) * o * (1.0 - o)])
    return (dz if need[0] else None,
            dz @ r.T if need[1] else None,
            gct * f if need[2] else None,
            h_prev.T @ dz if need[3] else None)


def _gates_ops(xz, h_prev, r):
    from kusari.ops import matmul, sigmoid, split, tanh
    z = xz + matmul(h_prev, r)
    zi, zf, zg, zo = split(z, 4, axis=1)
    return sigmoid(zi), sigmoid(zf), tanh(zg), sigmoid(zo)


class LSTMCellStep(Function):
    """Inputs ``xz`` (batch, 4u) = inputs @ kernel + bias, ``h`` and ``c`` (batch, u), ``r`` (u, 4u) the recurrent
    kernel; outputs the new ``h`` and ``c``."""

    def forward(self, xz, h, c, r):
        xp = B().xp
        u = h.shape[-1]
        z = xz + h @ r
        # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5: one pass of tanh, never overflows
        s_if = xp.tanh(z[:, :2 * u] * 0.5) * 0.5 + 0.5
        g = xp.tanh(z[:, 2 * u:3 * u])
        o = xp.tanh(z[:, 3 * u:] * 0.5) * 0.5 + 0.5
        i, f = s_if[:, :u], s_if[:, u:]
        c_new = f * c + i * g
        tc = xp.tanh(c_new)
        self.saved = (i, f, g, o, tc)
        return o * tc, c_new

    def backward(self, gh, gc):
        xz, h, c, r = self.inputs
        need = self.needs_input_grad
        if not mode.grad_enabled:
            xp = B().xp
            grads = _lstm_grads(gh.data, gc.data, *self.saved, c.data, h.data, r.data,
                                lambda parts: xp.concat(parts, axis=1), need)
            return tuple(None if g is None else Tensor(g) for g in grads)
        # a graph of the gradient is wanted: recompute the gates with differentiable ops
        from kusari.ops import concatenate, tanh
        i, f, g, o = _gates_ops(xz, h, r)
        tc = tanh(f * c + i * g)
        return _lstm_grads(gh, gc, i, f, g, o, tc, c, h, r, lambda parts: concatenate(parts, axis=1), need)


def lstm_cell(xz, h, c, recurrent_kernel):
    """One LSTM step: ``z = xz + h @ recurrent_kernel``; gates i, f, o = sigmoid, candidate = tanh (Keras order
    i, f, c, o); returns ``(h_new, c_new)``. ``xz`` is the input projection ``inputs @ kernel + bias``."""
    xz, h, c, r = as_tensor(xz), as_tensor(h), as_tensor(c), as_tensor(recurrent_kernel)
    if h.ndim != 2 or c.shape != h.shape or xz.ndim != 2:
        raise ValueError(f"lstm_cell: expected xz (batch, 4u), h and c (batch, u); got shapes {xz.shape}, "
                         f"{h.shape}, {c.shape}")
    u = h.shape[1]
    if xz.shape != (h.shape[0], 4 * u) or r.shape != (u, 4 * u):
        raise ValueError(f"lstm_cell: with u={u}, xz must be ({h.shape[0]}, {4 * u}) and recurrent_kernel "
                         f"({u}, {4 * u}); got {xz.shape} and {r.shape}")
    dts = {xz.dtype, h.dtype, c.dtype, r.dtype}
    if len(dts) != 1:
        raise ValueError(f"lstm_cell: all inputs need one dtype, got {sorted(dts)}")
    return LSTMCellStep()(xz, h, c, r)
