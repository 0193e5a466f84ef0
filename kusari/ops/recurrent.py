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

__all__ = ["lstm_cell", "lstm_sequence"]


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


class LSTMSequence(Function):
    """A whole LSTM layer's time loop, input projection included, as one node. Fused because ``LSTM`` runs the cell
    once per time step: one node per step costs Python overhead, a graph edge and temporaries per step, while here
    the input projection is one GEMM over all steps (written straight in time-major order), the kernel, bias and
    recurrent-kernel gradients are one GEMM / one sum over all steps, and the loops live in the backend
    (``Backend.lstm_sequence_forward``/``_backward``: generic ``xp`` code, NumPy with in-place ufuncs).

    Inputs ``x`` (batch, time, features), ``h0``/``c0`` (batch, u), ``kernel`` (features, 4u), ``r`` (u, 4u) and
    optionally ``bias`` (4u,); outputs the hidden states (batch, time, u) in processing order (reversed time when
    ``go_backwards``), the last ``h`` and the last ``c``. The forward keeps the gate activations; the backward
    (BPTT) works on arrays without ``create_graph`` and, with it, recomputes the steps with differentiable ops (the
    per-step maths of ``LSTMCellStep``), so double backprop works."""

    uses_outputs = True     # the backward kernels read the hidden states it returned: in-place changes are caught

    def __init__(self, go_backwards=False):
        self.go_backwards = go_backwards

    def forward(self, x, h0, c0, kernel, r, bias=None):
        hs, h, c, self.saved = B().lstm_sequence_forward(x, h0, c0, kernel, r, bias, self.go_backwards)
        return hs, h, c

    def backward(self, ghs, gh, gc):
        if mode.grad_enabled:
            return self._backward_ops(ghs, gh, gc)
        t = self.inputs
        bias = t[5].data if len(t) == 6 else None
        grads = B().lstm_sequence_backward(self.saved, t[0].data, t[1].data, t[2].data, t[3].data, t[4].data, bias,
                                           ghs.data, gh.data, gc.data, self.needs_input_grad, self.go_backwards)
        return tuple(None if g is None else Tensor(g) for g in grads[:len(t)])

    def _backward_ops(self, ghs, gh, gc):
        """Differentiable BPTT: recompute every step with ops, then run the per-step gradient formulas on Tensors."""
        from kusari.ops import concatenate, matmul, reshape, stack, sum, tanh, transpose, unstack
        x, h0, c0, kernel, r = self.inputs[:5]
        bias = self.inputs[5] if len(self.inputs) == 6 else None
        need = self.needs_input_grad
        xz = matmul(x, kernel)
        if bias is not None:
            xz = xz + bias
        steps = unstack(xz, axis=1)
        n = len(steps)
        order = list(range(n - 1, -1, -1) if self.go_backwards else range(n))
        h, c = h0, c0
        saved = []
        for t in order:
            i, f, g, o = _gates_ops(steps[t], h, r)
            c_new = f * c + i * g
            tc = tanh(c_new)
            saved.append((i, f, g, o, tc, c, h))
            h, c = o * tc, c_new
        ghs_steps = unstack(ghs, axis=1)
        cat = lambda parts: concatenate(parts, axis=1)  # noqa: E731
        dh, dc = gh, gc
        gr = None
        by_time = [None] * n
        for k in range(n - 1, -1, -1):
            i, f, g, o, tc, c_prev, h_prev = saved[k]
            dh = dh + ghs_steps[k]
            dz, dh, dc, dr = _lstm_grads(dh, dc, i, f, g, o, tc, c_prev, h_prev, r, cat, (True, True, True, need[4]))
            by_time[order[k]] = dz
            if dr is not None:
                gr = dr if gr is None else gr + dr
        dxz = stack(by_time, axis=1)
        g4 = dxz.shape[-1]
        gx = matmul(dxz, transpose(kernel)) if need[0] else None
        gk = matmul(transpose(reshape(x, (-1, x.shape[-1]))), reshape(dxz, (-1, g4))) if need[3] else None
        grads = (gx, dh if need[1] else None, dc if need[2] else None, gk, gr)
        if bias is not None:
            grads += (sum(reshape(dxz, (-1, g4)), axis=0) if need[5] else None,)
        return grads


def lstm_sequence(inputs, h0, c0, kernel, recurrent_kernel, bias=None, go_backwards=False):
    """A whole LSTM over time (tanh/sigmoid, Keras gate order i, f, c, o) as one node: at each step
    ``z = x_t @ kernel + bias + h @ recurrent_kernel``. ``inputs`` is (batch, time, features), ``h0``/``c0``
    (batch, u). Returns ``(hidden_states, h_last, c_last)``; ``hidden_states`` (batch, time, u) is in processing
    order, i.e. reversed in time when ``go_backwards``, as ``RNN(return_sequences=True)`` stacks its outputs. Same
    values and gradients as looping ``lstm_cell`` over the steps.

    >>> from kusari import ops
    >>> from kusari.ops.recurrent import lstm_sequence
    >>> hs, h, c = lstm_sequence(ops.ones((2, 3, 4)), ops.zeros((2, 5)), ops.zeros((2, 5)), ops.zeros((4, 20)),
    ...                          ops.zeros((5, 20)))
    >>> hs.shape, h.shape, round(float(c[0, 0]), 4)
    ((2, 3, 5), (2, 5), 0.0)
    """
    x, h, c = as_tensor(inputs), as_tensor(h0), as_tensor(c0)
    k, r = as_tensor(kernel), as_tensor(recurrent_kernel)
    b = None if bias is None else as_tensor(bias)
    if x.ndim != 3 or h.ndim != 2 or c.shape != h.shape or k.ndim != 2:
        raise ValueError(f"lstm_sequence: expected inputs (batch, time, features), h0 and c0 (batch, u), kernel "
                         f"(features, 4u); got shapes {x.shape}, {h.shape}, {c.shape}, {k.shape}")
    u = h.shape[1]
    if (x.shape[0] != h.shape[0] or k.shape != (x.shape[2], 4 * u) or r.shape != (u, 4 * u)
            or (b is not None and b.shape != (4 * u,))):
        raise ValueError(f"lstm_sequence: with u={u} and inputs {x.shape}, expected h0 ({x.shape[0]}, {u}), kernel "
                         f"({x.shape[2]}, {4 * u}), recurrent_kernel ({u}, {4 * u}) and bias ({4 * u},); got "
                         f"{h.shape}, {k.shape}, {r.shape} and {None if b is None else b.shape}")
    if x.shape[1] == 0:
        raise ValueError("lstm_sequence: the sequence has no time steps")
    dts = {t.dtype for t in (x, h, c, k, r) + (() if b is None else (b,))}
    if len(dts) != 1:
        raise ValueError(f"lstm_sequence: all inputs need one dtype, got {sorted(dts)}")
    fn = LSTMSequence(bool(go_backwards))
    return fn(x, h, c, k, r) if b is None else fn(x, h, c, k, r, b)
