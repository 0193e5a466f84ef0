"""The Backend protocol: everything kusari asks of an array library.

A backend is one object. Ops call ``backend.current()`` and use its members; nothing outside ``kusari/backend``
imports an array library. Elementwise maths, reductions and shape functions come from ``xp``, a namespace with the
Python array API standard's names (``xp.sum(x, axis=..., keepdims=...)``, ``xp.permute_dims``, ``xp.concat`` …);
the rest — things the standard lacks or a library does slowly — are methods here.

To add a backend: subclass ``Backend`` in one new file of this folder, fill in every method that raises
``NotImplementedError``, and register its factory in ``registry.py``.
"""


def foreign_rng_seed(state):
    """A seed derived from another backend's generator state (``rng_state``'s format differs per library): a
    model saved on one backend and loaded on another gets a deterministic, but not identical, random stream."""
    import hashlib
    import json
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2 ** 63)


class Backend:
    name = "abstract"
    device = "cpu"
    xp = None              # the array-API namespace
    array_types = ()       # isinstance(obj, array_types) -> obj is an array of this backend
    supports_jit = False   # compile(jit_compile=True) compiles the train step (kusari/training/jit.py)

    def jit(self, fn):
        """``fn`` (a pure function of nested lists of arrays) compiled; only where ``supports_jit``."""
        raise NotImplementedError

    # the exceptions tracing raises when code needs a concrete value (Python control flow on a traced array)
    jit_errors = ()

    def owns(self, array):
        """Whether ``array`` is an array of this backend (on its device, for libraries with several)."""
        return isinstance(array, self.array_types)

    def is_concrete(self, array):
        """False for a placeholder being traced by a compiler (``jax.jit``): its values are unknown, so value
        checks are skipped and value-dependent shortcuts take their general path."""
        return True

    # -- creation and conversion ------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """An array of this backend from ``data`` (nested lists, scalars, NumPy arrays, own arrays)."""
        raise NotImplementedError

    def to_numpy(self, a):
        """A NumPy array with the same values (a copy where the library needs one)."""
        raise NotImplementedError

    def dtype(self, name):
        """The library's dtype object for a canonical dtype name."""
        raise NotImplementedError

    def dtype_name(self, native):
        """The canonical name of a library dtype."""
        raise NotImplementedError

    def zeros(self, shape, dtype):
        raise NotImplementedError

    def ones(self, shape, dtype):
        raise NotImplementedError

    def full(self, shape, value, dtype):
        raise NotImplementedError

    def arange(self, start, stop, step, dtype):
        raise NotImplementedError

    def cast(self, a, dtype_name):
        raise NotImplementedError

    # -- state ------------------------------------------------------------------------------------
    def assign(self, dst, src):
        """Write ``src`` into ``dst``; return the array that now holds the value (``dst`` itself where the
        library mutates in place, a new array where it can't)."""
        raise NotImplementedError

    def getitem(self, x, index):
        """``x[index]`` with NumPy's rules (ints, slices of any step, None, ..., integer arrays; boolean masks
        arrive already expanded to integer arrays)."""
        raise NotImplementedError

    def setitem(self, dst, index, src):
        """``dst[index] = src``; returns the resulting array, like ``assign``."""
        raise NotImplementedError

    # -- kernels the array API lacks ---------------------------------------------------------------
    def erf(self, x):
        raise NotImplementedError

    def pad(self, x, pairs, mode="constant", constant_values=0):
        raise NotImplementedError

    def einsum(self, subscripts, *operands):
        raise NotImplementedError

    def take_along_axis(self, x, indices, axis):
        raise NotImplementedError

    def scatter_add(self, shape, axis, indices, values):
        """Zeros of ``shape`` with ``values`` summed in at ``indices`` (1-D integers) along ``axis``.
        Repeated indices accumulate. The backward of ``take``."""
        raise NotImplementedError

    def index_add(self, shape, index, values):
        """Zeros of ``shape`` with ``values`` added at the (advanced) ``index``, repeats accumulating.
        The backward of ``x[index]``."""
        raise NotImplementedError

    # -- random numbers from explicit generators ----------------------------------------------------
    def rng(self, seed):
        """A new generator seeded with the integer ``seed``."""
        raise NotImplementedError

    def rng_state(self, gen):
        """A JSON-serialisable snapshot of ``gen``'s state."""
        raise NotImplementedError

    def set_rng_state(self, gen, state):
        """Restore ``state`` (from ``rng_state``) into ``gen``. A state another backend wrote reseeds ``gen``
        from ``foreign_rng_seed(state)`` instead."""
        raise NotImplementedError

    def normal(self, gen, shape, dtype, mean=0.0, stddev=1.0):
        raise NotImplementedError

    def uniform(self, gen, shape, dtype, minval=0.0, maxval=1.0):
        raise NotImplementedError

    def randint(self, gen, shape, minval, maxval, dtype):
        raise NotImplementedError

    def permutation(self, gen, n):
        raise NotImplementedError

    # -- convolution and pooling (channels-last, explicit (lo, hi) padding per spatial dim) -----------
    def conv(self, x, w, strides, padding, dilation, groups):
        """x (N, *sp, C_in), w (*k, C_in // groups, C_out) -> (N, *out, C_out); strides/dilation tuples,
        padding one (lo, hi) pair per spatial dim (negative pads crop)."""
        raise NotImplementedError

    def conv_backward_input(self, gy, w, x_shape, strides, padding, dilation, groups):
        """Gradient of ``conv`` w.r.t. x (also the transposed convolution of gy), shaped ``x_shape``."""
        raise NotImplementedError

    def conv_backward_filter(self, x, gy, w_shape, strides, padding, dilation, groups):
        """Gradient of ``conv`` w.r.t. w, shaped ``w_shape``."""
        raise NotImplementedError

    def get_num_threads(self):
        """Threads this backend computes with (NumPy: its BLAS; torch: intra-op threads)."""
        raise NotImplementedError(f"the {self.name} backend cannot report its thread count")

    def set_num_threads(self, n):
        raise NotImplementedError(f"the {self.name} backend cannot change its thread count at runtime")

    def conv_keep(self, x, w, bias, strides, padding, dilation, groups, relu=False):
        """``(conv(...) + bias, kept)`` (``bias`` may be None), then relu when ``relu``: ``kept`` is anything the
        backend wants handed back to ``conv_backward_filter_kept`` for the same x (NumPy: its im2col matrix, so the
        kernel gradient does not build it twice). Default: nothing kept."""
        y = self.conv(x, w, strides, padding, dilation, groups)
        y = y if bias is None else y + bias
        return (self.relu_(y) if relu else y), None

    def conv_backward_filter_kept(self, kept, x, gy, w_shape, bias_grad, strides, padding, dilation, groups):
        """``(gw, gb)`` for ``conv_keep``'s conv, given what it kept; ``gb`` (the sum of gy over all but the
        channel axis) only when ``bias_grad``, else None."""
        gw = self.conv_backward_filter(x, gy, w_shape, strides, padding, dilation, groups)
        return gw, (self.xp.sum(gy, axis=tuple(range(gy.ndim - 1))) if bias_grad else None)

    def max_pool(self, x, pool, strides, padding):
        """Returns ``(y, argmax)``; ``argmax`` is opaque and only handed back to the two functions below."""
        raise NotImplementedError

    def max_pool_backward(self, gy, argmax, x_shape, pool, strides, padding):
        raise NotImplementedError

    def max_pool_grad_gather(self, ggx, argmax, pool, strides, padding):
        """The adjoint of ``max_pool_backward``: ``ggx`` (shaped like the pool's input) picked at each argmax;
        returns an array shaped like ``argmax``."""
        raise NotImplementedError

    def avg_pool(self, x, pool, strides, padding):
        raise NotImplementedError

    def avg_pool_backward(self, gy, x_shape, pool, strides, padding):
        raise NotImplementedError

    def __repr__(self):
        return f"<kusari backend {self.name!r} on {self.device}>"

    def matmul(self, a, b):
        """``a @ b`` for the fused ops' hot products (the NumPy backend spreads big ones over its threads)."""
        return a @ b

    def linear(self, x, kernel, bias, relu):
        """``x @ kernel (+ bias)``, then relu when ``relu``: Dense's forward on a 2-D ``x`` (a fresh array)."""
        y = self.matmul(x, kernel)
        if bias is not None:
            y += bias
        return self.relu_(y) if relu else y

    def layer_norm_forward(self, x, gamma, beta, epsilon):
        """Layer norm of the rows of 2-D ``x``: ``(y, x_hat, inv_std)``; ``gamma``/``beta`` ``(C,)`` or None."""
        xp = self.xp
        d = x - xp.mean(x, axis=-1, keepdims=True)
        inv_std = 1.0 / xp.sqrt(xp.mean(d * d, axis=-1, keepdims=True) + epsilon)
        x_hat = d * inv_std
        y = x_hat if gamma is None else x_hat * gamma
        return (y if beta is None else y + beta), x_hat, inv_std

    def layer_norm_backward(self, gy, x_hat, inv_std, gamma, need_x, need_gamma, need_beta):
        """``(gx, dgamma, dbeta)`` of ``layer_norm_forward`` (None where not needed)."""
        xp = self.xp
        gx = None
        if need_x:
            g = gy if gamma is None else gy * gamma
            gx = (g - xp.mean(g, axis=-1, keepdims=True)
                  - x_hat * xp.mean(g * x_hat, axis=-1, keepdims=True)) * inv_std
        return (gx, xp.sum(gy * x_hat, axis=0) if need_gamma else None,
                xp.sum(gy, axis=0) if need_beta else None)

    def matmul_many(self, pairs):
        """``[a @ b for a, b in pairs]``: a fused op's products that do not depend on each other (the NumPy
        backend computes them in one dispatch to its threads)."""
        return [self.matmul(a, b) for a, b in pairs]

    def relu_grad(self, g, y):
        """``g * (y > 0)``: the gradient through a relu whose output was ``y``."""
        return g * (y > 0)

    def relu(self, x):
        """``maximum(x, 0)`` as a fresh array (the NumPy backend's form is faster than NumPy's own)."""
        return self.xp.maximum(x, 0)

    def relu_(self, a):
        """``maximum(a, 0)``, in place where the library allows; only for arrays nothing else holds (a fused
        op's own fresh output). Returns the result."""
        return self.xp.maximum(a, 0)

    # -- fused recurrent kernels -----------------------------------------------------------------------
    # Used by ``kusari.ops.recurrent.LSTMSequence`` (the whole LSTM time loop as one autograd node). Written here
    # with ``xp`` only, so every backend has them; a backend may override them with faster in-place versions.
    def lstm_sequence_forward(self, x, h0, c0, kernel, r, bias, go_backwards):
        """LSTM over time (gates i, f, c, o; sigmoid/tanh): ``x`` (batch, time, features), ``h0``/``c0``
        (batch, u), ``kernel`` (features, 4u), ``r`` (u, 4u), ``bias`` (4u,) or None. Returns
        ``(hs, h_last, c_last, saved)``: ``hs`` (batch, time, u) in processing order (reversed time when
        ``go_backwards``); ``saved`` is opaque, for ``lstm_sequence_backward``."""
        xp = self.xp
        u = h0.shape[-1]
        u2, u3 = 2 * u, 3 * u
        n = x.shape[1]
        xz = x @ kernel
        if bias is not None:
            xz = xz + bias
        h, c = h0, c0
        hs, acts, cs, tcs = [], [], [], []
        for t in (range(n - 1, -1, -1) if go_backwards else range(n)):
            z = xz[:, t] + h @ r
            # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5: one pass of tanh, never overflows (as LSTMCellStep)
            s_if = xp.tanh(z[:, :u2] * 0.5) * 0.5 + 0.5
            g = xp.tanh(z[:, u2:u3])
            o = xp.tanh(z[:, u3:] * 0.5) * 0.5 + 0.5
            i, f = s_if[:, :u], s_if[:, u:]
            c = f * c + i * g
            tc = xp.tanh(c)
            h = o * tc
            hs.append(h)
            acts.append((i, f, g, o))
            cs.append(c)
            tcs.append(tc)
        return xp.stack(hs, axis=1), h, c, (hs, acts, cs, tcs)

    def lstm_sequence_backward(self, saved, x, h0, c0, kernel, r, bias, ghs, gh, gc, need, go_backwards):
        """Backpropagation through time for ``lstm_sequence_forward``: ``ghs``, ``gh``, ``gc`` are the gradients
        of its three outputs, ``need`` one bool per input (x, h0, c0, kernel, r[, bias]). Returns six gradients
        (x, h0, c0, kernel, r, bias; None where not needed)."""
        xp = self.xp
        hs, acts, cs, tcs = saved
        n = len(hs)
        rt = r.T
        dh, dc = gh, gc
        dzs = [None] * n
        for k in range(n - 1, -1, -1):
            i, f, g, o = acts[k]
            tc = tcs[k]
            c_prev = cs[k - 1] if k else c0
            dh = dh + ghs[:, k]
            gct = dc + dh * o * (1.0 - tc * tc)
            dz = xp.concat([(gct * g) * i * (1.0 - i), (gct * c_prev) * f * (1.0 - f), (gct * i) * (1.0 - g * g),
                            (dh * tc) * o * (1.0 - o)], axis=1)
            dzs[k] = dz
            if k or need[1]:
                dh = dz @ rt
            dc = gct * f
        g4 = r.shape[1]
        dxz = xp.stack(dzs[::-1] if go_backwards else dzs, axis=1)      # (batch, time, 4u), time order
        gx = dxz @ kernel.T if need[0] else None
        gk = xp.reshape(x, (-1, x.shape[-1])).T @ xp.reshape(dxz, (-1, g4)) if need[3] else None
        gr = gb = None
        if need[4]:
            hprev = xp.reshape(xp.stack([h0] + hs[:-1], axis=0), (-1, r.shape[0]))
            gr = hprev.T @ xp.reshape(xp.stack(dzs, axis=0), (-1, g4))
        if bias is not None and need[5]:
            gb = xp.sum(xp.reshape(dxz, (-1, g4)), axis=0)
        return gx, dh if need[1] else None, dc if need[2] else None, gk, gr, gb

    # -- optimizer kernels --------------------------------------------------------------------------
    # Fused parameter updates used by ``kusari.optimizers``. Arrays in; the resulting arrays out, in the order
    # the arguments name them (the same objects where the library updates in place, new arrays where it can't),
    # like ``assign``. ``grad`` is read-only: a kernel never writes into it. Scalars are Python floats, already
    # derived by the optimizer (bias corrections etc.). A backend that does not override a kernel gets the
    # optimizer's generic ``assign``-based path instead, so all of these are optional.
    def sgd_update(self, param, grad, momentum_buf, lr, momentum, nesterov):
        """Keras SGD: ``m = m*momentum - g*lr; p += m`` (nesterov: ``p += m*momentum - g*lr``); without a
        buffer (``momentum_buf is None``) ``p -= g*lr``. Returns ``(param, momentum_buf)``."""
        raise NotImplementedError

    def adam_update(self, param, grad, m, v, v_hat, alpha, beta_1, beta_2, epsilon):
        """Keras Adam with ``alpha = lr*sqrt(1-beta_2^t)/(1-beta_1^t)``; ``v_hat`` (amsgrad) may be None.
        Returns ``(param, m, v, v_hat)``."""
        raise NotImplementedError

    # Multi-tensor versions: the same update over lists (one entry per variable, scalars shared), returning lists.
    # A backend with a multi-tensor kernel (torch's ``_foreach_*`` ops) overrides them; the optimizer calls them
    # only where overridden (eagerly), so the defaults, a loop over the per-tensor kernel, are for other callers.
    def sgd_update_many(self, params, grads, momentum_bufs, lr, momentum, nesterov):
        """``sgd_update`` over lists; ``momentum_bufs`` is None or a list. Returns ``(params, momentum_bufs)``."""
        bufs = [None] * len(params) if momentum_bufs is None else momentum_bufs
        out = [self.sgd_update(p, g, m, lr, momentum, nesterov) for p, g, m in zip(params, grads, bufs)]
        return [o[0] for o in out], None if momentum_bufs is None else [o[1] for o in out]

    def adam_update_many(self, params, grads, ms, vs, v_hats, alpha, beta_1, beta_2, epsilon):
        """``adam_update`` over lists; ``v_hats`` is None or a list. Returns ``(params, ms, vs, v_hats)``."""
        hats = [None] * len(params) if v_hats is None else v_hats
        out = [self.adam_update(p, g, m, v, h, alpha, beta_1, beta_2, epsilon)
               for p, g, m, v, h in zip(params, grads, ms, vs, hats)]
        return ([o[0] for o in out], [o[1] for o in out], [o[2] for o in out],
                None if v_hats is None else [o[3] for o in out])

    def rmsprop_update(self, param, grad, velocity, momentum_buf, average_grad, lr, rho, momentum, epsilon):
        """Keras RMSprop; ``momentum_buf`` / ``average_grad`` are None when unused.
        Returns ``(param, velocity, momentum_buf, average_grad)``."""
        raise NotImplementedError

    def adagrad_update(self, param, grad, accumulator, lr, epsilon):
        """Keras Adagrad. Returns ``(param, accumulator)``."""
        raise NotImplementedError

    def adadelta_update(self, param, grad, accumulated_grad, accumulated_delta, lr, rho, epsilon):
        """Keras Adadelta. Returns ``(param, accumulated_grad, accumulated_delta)``."""
        raise NotImplementedError

    def adamax_update(self, param, grad, m, u, lr, beta_1, beta_2, epsilon, beta_1_power):
        """Keras Adamax. Returns ``(param, m, u)``."""
        raise NotImplementedError

    def nadam_update(self, param, grad, m, v, lr, beta_1, beta_2, epsilon, u_t, u_t_1, u_product_t,
                     u_product_t_1, beta_2_power):
        """Keras Nadam with the momentum-schedule scalars already computed. Returns ``(param, m, v)``."""
        raise NotImplementedError

    def lion_update(self, param, grad, m, lr, beta_1, beta_2):
        """Keras Lion: ``p -= lr*sign(m*b1 + g*(1-b1)); m = m*b2 + g*(1-b2)``. Returns ``(param, m)``."""
        raise NotImplementedError
