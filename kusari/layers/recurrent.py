"""Recurrent layers: SimpleRNNCell, LSTMCell, GRUCell, RNN, SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed.

Arguments, defaults, ``get_config`` keys, weight names, shapes and order follow Keras 3, so saved weights carry over:

- ``SimpleRNNCell``: ``kernel`` ``(input_dim, units)``, ``recurrent_kernel`` ``(units, units)``, ``bias`` ``(units,)``
- ``LSTMCell``: ``kernel`` ``(input_dim, 4 * units)``, ``recurrent_kernel`` ``(units, 4 * units)``, ``bias``
  ``(4 * units,)``; gate order i, f, c, o; ``unit_forget_bias=True`` starts the forget-gate bias at 1.
- ``GRUCell``: ``kernel`` ``(input_dim, 3 * units)``, ``recurrent_kernel`` ``(units, 3 * units)``, ``bias``
  ``(2, 3 * units)`` (input bias, recurrent bias) with ``reset_after=True`` (default) or ``(3 * units,)``; gate order
  z, r, h.
- ``LSTM``/``GRU``/``SimpleRNN`` own their cell (named ``lstm_cell``/``gru_cell``/``simple_rnn_cell``), whose weights
  are the layer's weights; ``Bidirectional`` has the forward layer's weights, then the backward layer's.

Masking follows Keras 3's ``backend.rnn``: at a masked step the states keep their previous value and the output
repeats the previous output (``zero_output_for_mask=True`` gives zeros instead). With ``go_backwards=True`` the time
axis is processed in reverse and the returned sequence is in processing (reversed) order, as in Keras.

>>> import kusari
>>> lstm = kusari.layers.LSTM(4, return_sequences=True, return_state=True)
>>> seq, h, c = lstm(kusari.ops.ones((2, 5, 3)))
>>> seq.shape, h.shape, c.shape, [w.shape for w in lstm.weights]
((2, 5, 4), (2, 4), (2, 4), [(3, 16), (4, 16), (16,)])
"""
from kusari import activations, constraints, initializers, ops, regularizers
from kusari.autograd.mode import no_grad
from kusari.layers.core import _constraint_config, _serialize
from kusari.layers.layer import Layer
from kusari.ops.recurrent import lstm_cell, lstm_sequence
from kusari.tensor import Tensor

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
           "TimeDistributed"]


def _positive_units(units, cls):
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"{cls}: units must be a positive integer, got {units!r}")
    return units


def _rate(value):
    return min(1.0, max(0.0, float(value)))


def _layer_config(obj):
    from kusari.saving.serialization import serialize
    return serialize(obj)


def _layer_from_config(cfg):
    from kusari.layers.layer import Layer as _L
    if isinstance(cfg, _L):
        return cfg
    from kusari.saving.serialization import deserialize
    return deserialize(cfg)


# -- cells --------------------------------------------------------------------------------------------------------

class _Cell(Layer):
    """Shared parts of the built-in cells: argument handling, per-sequence dropout masks and the fast path used by
    ``RNN`` (the input projection of every time step in one matmul, then ``_step`` per time step)."""

    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = _positive_units(units, type(self).__name__)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout)
        self.recurrent_dropout = _rate(recurrent_dropout)
        self.seed = seed
        self._seed_generator = None
        self._dropout_mask = None
        self._recurrent_dropout_mask = None
        self.state_size = units
        self.output_size = units

    # dropout masks: one per sequence (Keras' DropoutRNNCell), scaled by 1 / (1 - rate)
    def _mask_like(self, x, rate):
        if self._seed_generator is None:
            from kusari.random import SeedGenerator
            self._seed_generator = SeedGenerator(self.seed)
        with no_grad():
            return ops.dropout(ops.ones(x.shape, dtype=x.dtype), rate, seed=self._seed_generator)

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._mask_like(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input):
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._mask_like(step_input, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self.dtype) for d in sizes]

    def _add(self, shape, initializer, regularizer, constraint, name):
        return self.add_weight(shape=shape, initializer=initializer, regularizer=regularizer, constraint=constraint,
                               name=name)

    def _build_kernels(self, input_shape, bias_shape, bias_initializer=None):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{self.name}: the last dimension of the input must be known, got {input_shape}")
        g = self._gates * self.units
        self.kernel = self._add((input_dim, g), self.kernel_initializer, self.kernel_regularizer,
                                self.kernel_constraint, "kernel")
        self.recurrent_kernel = self._add((self.units, g), self.recurrent_initializer, self.recurrent_regularizer,
                                          self.recurrent_constraint, "recurrent_kernel")
        self.bias = self._add(bias_shape, bias_initializer or self.bias_initializer, self.bias_regularizer,
                              self.bias_constraint, "bias") if self.use_bias else None
        self.built = True

    def _check_input(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected inputs with last dimension "
                             f"{self.kernel.shape[0]}, got shape {inputs.shape}")

    # fast path for RNN: all input projections at once
    def _input_bias(self):
        return self.bias

    def _project_inputs(self, sequences, training):
        """``sequences`` (batch, time, features) -> list over time of (batch, gates * units)."""
        self._check_input(sequences)
        if training and self.dropout > 0:
            mask = self.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(mask, 1)
        z = ops.matmul(sequences, self.kernel)
        b = self._input_bias()
        if b is not None:
            z = z + b
        return ops.unstack(z, axis=1)

    def _prepare(self, training):
        """Per-sequence constants for ``_step`` (weight slices, recurrent dropout flag)."""
        return {"rec_dropout": bool(training and self.recurrent_dropout > 0)}

    def _h_for_recurrence(self, h, prep):
        if prep["rec_dropout"]:
            return h * self.get_recurrent_dropout_mask(h)
        return h

    def call(self, inputs, states, training=False):
        single = not isinstance(states, (list, tuple))
        states = [states] if single else list(states)
        self._check_input(inputs)
        x = inputs
        if training and self.dropout > 0:
            x = x * self.get_dropout_mask(inputs)
        z = ops.matmul(x, self.kernel)
        b = self._input_bias()
        if b is not None:
            z = z + b
        out, new_states = self._step(z, states, self._prepare(training))
        return out, (new_states[0] if single else new_states)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _serialize(self.kernel_initializer, initializers),
                "recurrent_initializer": _serialize(self.recurrent_initializer, initializers),
                "bias_initializer": _serialize(self.bias_initializer, initializers),
                "kernel_regularizer": _serialize(self.kernel_regularizer, regularizers),
                "recurrent_regularizer": _serialize(self.recurrent_regularizer, regularizers),
                "bias_regularizer": _serialize(self.bias_regularizer, regularizers),
                "kernel_constraint": _constraint_config(self.kernel_constraint),
                "recurrent_constraint": _constraint_config(self.recurrent_constraint),
                "bias_constraint": _constraint_config(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: ``h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)``.

    >>> import kusari
    >>> cell = kusari.layers.SimpleRNNCell(3)
    >>> out, state = cell(kusari.ops.ones((2, 4)), [kusari.ops.zeros((2, 3))])
    >>> out.shape, [w.shape for w in cell.weights]
    ((2, 3), [(4, 3), (3, 3), (3,)])
    """

    def build(self, input_shape):
        self._build_kernels(input_shape, (self.units,))

    def _step(self, z, states, prep):
        h = ops.matmul(self._h_for_recurrence(states[0], prep), self.recurrent_kernel)
        out = self.activation(z + h)
        return out, [out]


class LSTMCell(_Cell):
    """One step of an LSTM (Hochreiter 1997), Keras' fused-gate form; gates i, f, c, o in that order.

    >>> import kusari
    >>> cell = kusari.layers.LSTMCell(3)
    >>> h, (h2, c) = cell(kusari.ops.ones((2, 4)), [kusari.ops.zeros((2, 3)), kusari.ops.zeros((2, 3))])
    >>> h.shape, c.shape, cell.bias.tolist()
    ((2, 3), (2, 3), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        init = None
        if self.use_bias and self.unit_forget_bias:
            u, base = self.units, self.bias_initializer
            ones = initializers.get("ones")

            def init(shape, dtype=None):
                from kusari.backend import current
                return current().xp.concat([base((u,), dtype), ones((u,), dtype), base((2 * u,), dtype)])
        self._build_kernels(input_shape, (4 * self.units,), init)

    def _fusable(self):
        return self.activation is ops.tanh and self.recurrent_activation is ops.sigmoid

    def _step(self, z, states, prep):
        h_tm1, c_tm1 = states[0], states[1]
        if self._fusable():
            # one autograd node per step (kusari.ops.recurrent.lstm_cell); same maths as below
            h, c = lstm_cell(z, self._h_for_recurrence(h_tm1, prep), c_tm1, self.recurrent_kernel)
            return h, [h, c]
        z = z + ops.matmul(self._h_for_recurrence(h_tm1, prep), self.recurrent_kernel)
        zi, zf, zc, zo = ops.split(z, 4, axis=1)
        i = self.recurrent_activation(zi)
        f = self.recurrent_activation(zf)
        c = f * c_tm1 + i * self.activation(zc)
        o = self.recurrent_activation(zo)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        cfg = super().get_config()
        cfg["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        cfg["unit_forget_bias"] = self.unit_forget_bias
        return cfg


class GRUCell(_Cell):
    """One step of a GRU (Cho 2014); gates z, r, h. ``reset_after=True`` (Keras 3's default, cuDNN/PyTorch style)
    applies the reset gate after the recurrent matmul and keeps separate input and recurrent biases, ``bias[0]``
    and ``bias[1]``.

    >>> import kusari
    >>> cell = kusari.layers.GRUCell(3)
    >>> out, state = cell(kusari.ops.ones((2, 4)), [kusari.ops.zeros((2, 3))])
    >>> out.shape, [w.shape for w in cell.weights]
    ((2, 3), [(4, 9), (3, 9), (2, 9)])
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after

    def build(self, input_shape):
        self._build_kernels(input_shape, (2, 3 * self.units) if self.reset_after else (3 * self.units,))

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _prepare(self, training):
        prep = super()._prepare(training)
        u = self.units
        if self.reset_after:
            prep["rec_bias"] = self.bias[1] if self.bias is not None else None
        else:
            prep["rk_zr"] = self.recurrent_kernel[:, :2 * u]
            prep["rk_h"] = self.recurrent_kernel[:, 2 * u:]
        return prep

    def _step(self, z, states, prep):
        h_tm1 = states[0]
        u = self.units
        h_rec = self._h_for_recurrence(h_tm1, prep)
        xz, xr, xh = ops.split(z, 3, axis=1)
        if self.reset_after:
            inner = ops.matmul(h_rec, self.recurrent_kernel)
            if prep["rec_bias"] is not None:
                inner = inner + prep["rec_bias"]
            rz, rr, rh = ops.split(inner, 3, axis=1)
            zg = self.recurrent_activation(xz + rz)
            r = self.recurrent_activation(xr + rr)
            rh = r * rh
        else:
            inner = ops.matmul(h_rec, prep["rk_zr"])
            rz, rr = ops.split(inner, [u], axis=1)
            zg = self.recurrent_activation(xz + rz)
            r = self.recurrent_activation(xr + rr)
            rh = ops.matmul(r * h_rec, prep["rk_h"])
        hh = self.activation(xh + rh)
        h = zg * h_tm1 + (1.0 - zg) * hh
        return h, [h]

    def get_config(self):
        cfg = super().get_config()
        cfg["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        cfg["reset_after"] = self.reset_after
        return cfg


# -- the RNN layer ------------------------------------------------------------------------------------------------

def _as_list(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


class RNN(Layer):
    """Runs a cell over the time axis of ``(batch, time, features)`` inputs.

    A cell is any layer with ``state_size`` (int or list) and ``call(inputs, states) -> (output, new_states)``;
    the built-in cells take a faster path (all input projections in one matmul). ``unroll`` is accepted and ignored
    (define-by-run always unrolls).

    >>> import kusari
    >>> layer = kusari.layers.RNN(kusari.layers.GRUCell(4), return_sequences=True)
    >>> layer(kusari.ops.ones((2, 5, 3))).shape
    (2, 5, 4)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            raise NotImplementedError("RNN: a list of cells (StackedRNNCells) is not supported by kusari yet")
        if isinstance(cell, dict):
            cell = _layer_from_config(cell)
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f"RNN: the cell must have a `call` method and a `state_size` attribute, got {cell!r}")
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        super().__init__(**kwargs)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True
        self.states = None
        self.state_size = _as_list(cell.state_size)

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) < 3:
            raise ValueError(f"{self.name}: expected inputs of shape (batch, time, features), got {sequences_shape}")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0],) + tuple(sequences_shape[2:]))
            self.cell.built = True
        self.built = True

    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            return _as_list(fn(batch_size=batch_size))
        return [ops.zeros((batch_size, d), dtype=self.dtype) for d in self.state_size]

    def reset_state(self, states=None):
        """Forget the carried state of a ``stateful`` layer (or set it to ``states``)."""
        self.states = None if states is None else [Tensor(getattr(s, "data", s)) if not isinstance(s, Tensor)
                                                   else s.detach() for s in _as_list(states)]

    reset_states = reset_state

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, list):
            previous_mask = previous_mask[0]
        return previous_mask if self.return_sequences else None

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        b, t = sequences_shape[0], sequences_shape[1]
        out_size = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (b, t, out_size) if self.return_sequences else (b, out_size)
        if self.return_state:
            return [out] + [(b, s) for s in self.state_size]
        return out

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if isinstance(mask, list):
            mask = mask[0]
        if sequences.ndim < 3:
            raise ValueError(f"{self.name}: expected inputs of shape (batch, time, features), got {sequences.shape}")
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful and self.states is not None:
                if self.states[0].shape[0] != batch:
                    raise ValueError(f"{self.name}: stateful RNN got batch size {batch} but its state has batch size "
                                     f"{self.states[0].shape[0]}; call reset_state() first")
                initial_state = self.states
            else:
                initial_state = self.get_initial_state(batch)
        initial_state = [s if isinstance(s, Tensor) else Tensor(s) for s in _as_list(initial_state)]
        if len(initial_state) != len(self.state_size):
            raise ValueError(f"{self.name}: expected {len(self.state_size)} initial state tensor(s), got "
                             f"{len(initial_state)}")
        last, outputs, states = self._loop(sequences, initial_state, mask, training)
        if self.stateful:
            self.states = [s.detach() for s in states]
        output = outputs if self.return_sequences else last
        if self.return_sequences and mask is not None:
            output._keras_mask = mask
        if self.return_state:
            return [output] + list(states)
        return output

    def _loop(self, sequences, states, mask, training):
        cell = self.cell
        fast = isinstance(cell, _Cell) and cell.built and type(cell).call is _Cell.call
        n = sequences.shape[1]
        if fast and mask is None and n > 0 and isinstance(cell, LSTMCell):
            fused = self._fused_lstm(cell, sequences, states, training)
            if fused is not None:
                return fused
        if fast:
            steps = cell._project_inputs(sequences, training)
            prep = cell._prepare(training)
        else:
            steps = ops.unstack(sequences, axis=1)
        masks = None
        if mask is not None:
            m = mask if isinstance(mask, Tensor) else Tensor(mask)
            if m.dtype != "bool":
                m = ops.cast(m, "bool")
            if tuple(m.shape) != tuple(sequences.shape[:2]):
                raise ValueError(f"{self.name}: mask of shape {m.shape} does not match inputs {sequences.shape}")
            masks = ops.unstack(ops.expand_dims(m, -1), axis=1)
        order = range(n - 1, -1, -1) if self.go_backwards else range(n)
        cell_kwargs = {}
        if not fast and "training" in cell._call_params()[0]:
            cell_kwargs["training"] = training
        outputs = []
        prev_out = None
        try:
            for t in order:
                if fast:
                    out, new_states = cell._step(steps[t], states, prep)
                else:
                    out, new_states = cell(steps[t], list(states), **cell_kwargs)
                    new_states = _as_list(new_states)
                if masks is not None:
                    keep = masks[t]
                    if self.zero_output_for_mask:
                        out = ops.where(keep, out, ops.zeros_like(out))
                    else:
                        out = ops.where(keep, out, states[0])
                    new_states = [ops.where(keep, ns, s) for ns, s in zip(new_states, states)]
                states = new_states
                prev_out = out
                if self.return_sequences:
                    outputs.append(out)
        finally:
            if isinstance(cell, _Cell):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()
        seq = ops.stack(outputs, axis=1) if self.return_sequences else None
        return prev_out, seq, states

    def _fused_lstm(self, cell, sequences, states, training):
        """The whole time loop as one node (``kusari.ops.recurrent.lstm_sequence``) when nothing needs per-step
        work: the standard activations, no mask, no dropout in use. ``None`` when it does not apply."""
        if (type(cell)._step is not LSTMCell._step or not cell._fusable()
                or (training and (cell.dropout > 0 or cell.recurrent_dropout > 0))):
            return None
        cell._check_input(sequences)
        r = cell.recurrent_kernel
        h0, c0 = states[0], states[1]
        dt = r.dtype
        if not (sequences.ndim == 3 and sequences.dtype == dt == h0.dtype == c0.dtype == cell.kernel.dtype
                and (cell.bias is None or cell.bias.dtype == dt)):
            return None
        hs, h, c = lstm_sequence(sequences, h0, c0, cell.kernel, r, cell.bias, go_backwards=self.go_backwards)
        return h, (hs if self.return_sequences else None), [h, c]

    def get_config(self):
        cfg = {**super().get_config(), "return_sequences": self.return_sequences,
               "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
               "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}
        cfg["cell"] = _layer_config(self.cell)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cell = _layer_from_config(config.pop("cell"))
        return cls(cell, **config)


class _CellRNN(RNN):
    """SimpleRNN/LSTM/GRU: an RNN that makes its own cell and exposes the cell's arguments."""

    _cell_cls = None
    _cell_name = None
    _cell_args = ()

    def __init__(self, cell_kwargs, return_sequences, return_state, go_backwards, stateful, unroll,
                 activity_regularizer, kwargs):
        kwargs.pop("use_cudnn", None)
        kwargs.pop("implementation", None)
        cell = self._cell_cls(**cell_kwargs, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                              name=self._cell_name)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

    def __getattr__(self, name):
        # Keras exposes the cell's arguments as properties of the layer (layer.units, layer.kernel_initializer…)
        if name in type(self)._cell_args or name in ("kernel", "recurrent_kernel", "bias"):
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self):
        cfg = super().get_config()
        del cfg["cell"]
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cell_cfg.pop(k, None)
        cfg.update(cell_cfg)
        cfg["activity_regularizer"] = _serialize(self.activity_regularizer, regularizers)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_COMMON_CELL_ARGS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                     "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                     "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
                     "seed")


class SimpleRNN(_CellRNN):
    """Fully connected RNN whose output is fed back: ``h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + b)``.

    >>> import kusari
    >>> kusari.layers.SimpleRNN(4)(kusari.ops.ones((2, 5, 3))).shape
    (2, 4)
    """

    _cell_cls = SimpleRNNCell
    _cell_name = "simple_rnn_cell"
    _cell_args = _COMMON_CELL_ARGS

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell_kwargs = dict(units=units, activation=activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                           seed=seed)
        super().__init__(cell_kwargs, return_sequences, return_state, go_backwards, stateful, unroll,
                         activity_regularizer, kwargs)


class LSTM(_CellRNN):
    """Long Short-Term Memory layer (Hochreiter 1997), Keras 3's arguments, defaults and weight layout.

    >>> import kusari
    >>> lstm = kusari.layers.LSTM(4)
    >>> lstm(kusari.ops.ones((2, 5, 3))).shape, [w.path for w in lstm.weights]
    ((2, 4), ['lstm_cell/kernel', 'lstm_cell/recurrent_kernel', 'lstm_cell/bias'])
    """

    _cell_cls = LSTMCell
    _cell_name = "lstm_cell"
    _cell_args = _COMMON_CELL_ARGS + ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"LSTM: use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        cell_kwargs = dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                           use_bias=use_bias, kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                           unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                           seed=seed)
        super().__init__(cell_kwargs, return_sequences, return_state, go_backwards, stateful, unroll,
                         activity_regularizer, kwargs)
        self.use_cudnn = use_cudnn


class GRU(_CellRNN):
    """Gated Recurrent Unit (Cho 2014), Keras 3's arguments, defaults (``reset_after=True``) and weight layout.

    >>> import kusari
    >>> gru = kusari.layers.GRU(4, return_state=True)
    >>> out, h = gru(kusari.ops.ones((2, 5, 3)))
    >>> out.shape, h.shape, gru.weights[2].shape
    ((2, 4), (2, 4), (2, 12))
    """

    _cell_cls = GRUCell
    _cell_name = "gru_cell"
    _cell_args = _COMMON_CELL_ARGS + ("recurrent_activation", "reset_after")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"GRU: use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        cell_kwargs = dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                           use_bias=use_bias, kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                           dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed)
        super().__init__(cell_kwargs, return_sequences, return_state, go_backwards, stateful, unroll,
                         activity_regularizer, kwargs)
        self.use_cudnn = use_cudnn


# -- wrappers -----------------------------------------------------------------------------------------------------

class Bidirectional(Layer):
    """Runs an RNN forwards and a copy of it backwards and merges the two outputs.

    ``merge_mode``: "concat" (default), "sum", "mul", "ave" or None (a list of both outputs). Weights: the forward
    layer's, then the backward layer's (named ``forward_<name>`` / ``backward_<name>`` as in Keras).

    >>> import kusari
    >>> bi = kusari.layers.Bidirectional(kusari.layers.LSTM(4, return_sequences=True))
    >>> bi(kusari.ops.ones((2, 5, 3))).shape, len(bi.weights)
    ((2, 5, 8), 6)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if isinstance(layer, dict):
            layer = _layer_from_config(layer)
        if isinstance(backward_layer, dict):
            backward_layer = _layer_from_config(backward_layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: `layer` must be a Layer instance, got {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: `backward_layer` must be a Layer instance, got {backward_layer!r}")
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; expected one of 'sum', 'mul', "
                             "'ave', 'concat', None")
        super().__init__(**kwargs)
        base_name = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        cfg = layer.get_config()
        cfg["name"] = "forward_" + base_name
        self.forward_layer = type(layer).from_config(cfg)
        self._user_backward = backward_layer is not None
        if backward_layer is None:
            cfg = layer.get_config()
            cfg["go_backwards"] = not cfg.get("go_backwards", False)
            cfg["name"] = "backward_" + base_name
            self.backward_layer = type(layer).from_config(cfg)
        else:
            self.backward_layer = backward_layer
            for attr in ("return_sequences", "return_state"):
                if getattr(backward_layer, attr, None) != getattr(layer, attr, None):
                    raise ValueError(f"Bidirectional: forward and backward layers must have the same {attr}")
            if getattr(backward_layer, "go_backwards", None) == getattr(layer, "go_backwards", None):
                raise ValueError("Bidirectional: forward_layer.go_backwards must differ from "
                                 "backward_layer.go_backwards")
        self.merge_mode = merge_mode
        self.return_sequences = getattr(layer, "return_sequences", False)
        self.return_state = getattr(layer, "return_state", False)
        self.stateful = getattr(layer, "stateful", False)
        self.supports_masking = True
        if weights is not None:
            raise NotImplementedError("Bidirectional(weights=...) is not supported; call set_weights() after build")

    def build(self, sequences_shape, initial_state_shape=None):
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = _as_list(initial_state)
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        kw = {"training": training}
        y = self.forward_layer(sequences, initial_state=fwd_state, mask=mask, **kw)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, mask=mask, **kw)
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            out = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) / 2.0
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_sequences and mask is not None:
            for o in _as_list(out):
                o._keras_mask = mask[0] if isinstance(mask, list) else mask
        if self.return_state:
            return (list(out) if self.merge_mode is None else [out]) + states
        return out

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, list):
            previous_mask = previous_mask[0]
        return previous_mask if self.return_sequences else None

    def reset_state(self):
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def get_config(self):
        cfg = {**super().get_config(), "merge_mode": self.merge_mode}
        cfg["layer"] = _layer_config(self.forward_layer)
        cfg["backward_layer"] = _layer_config(self.backward_layer)   # always, as Keras 3 writes it
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = _layer_from_config(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = _layer_from_config(backward)
        return cls(layer, backward_layer=backward, **config)


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step (axis 1) of its input: ``(batch, time, ...)`` -> ``(batch, time, ...)``.

    The wrapped layer's weights are shared across steps (one weight set, as in Keras).

    >>> import kusari
    >>> td = kusari.layers.TimeDistributed(kusari.layers.Dense(8))
    >>> td(kusari.ops.ones((2, 5, 3))).shape, td.layer.kernel.shape
    ((2, 5, 8), (3, 8))
    """

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = _layer_from_config(layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a Layer instance, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"{self.name}: TimeDistributed needs inputs of rank >= 3 (batch, time, ...), got "
                             f"shape {input_shape}")
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if inputs.ndim < 3:
            raise ValueError(f"{self.name}: TimeDistributed needs inputs of rank >= 3 (batch, time, ...), got "
                             f"shape {inputs.shape}")
        b, t = inputs.shape[0], inputs.shape[1]
        x = ops.reshape(inputs, (b * t,) + tuple(inputs.shape[2:]))
        kwargs = {}
        params, var_kw = self.layer._call_params()
        if "training" in params or var_kw:
            kwargs["training"] = training
        if mask is not None and "mask" in params:
            m = mask if isinstance(mask, Tensor) else Tensor(mask)
            kwargs["mask"] = ops.reshape(m, (b * t,) + tuple(m.shape[2:]))
        y = self.layer(x, **kwargs)
        return ops.reshape(y, (b, t) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        return (inner[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _layer_config(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = _layer_from_config(config.pop("layer"))
        return cls(layer, **config)
