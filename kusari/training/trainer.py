"""The one loop behind ``fit``, ``evaluate`` and ``predict``, and the default ``train_step``/``test_step``.

Keras 3's contract: ``train_step(data)`` returns a dict of logs, which the progress bar, History and every callback
receive; inside it, ``kusari.grad(loss, weights)`` and ``optimizer.apply(grads, weights)``. Override it for GANs,
several optimizers, adversarial inputs — ``fit`` keeps its logs, callbacks and checkpoints.

The loops keep each step's logs as backend arrays (a compiled jax step or a CUDA kernel is then not waited for) and
convert them to Python floats where they are read: at the end of an epoch or an evaluation, and at a batch end only
when a callback reads batch logs (``CallbackList``). Users and callbacks see floats as before.
"""
from kusari.autograd.mode import no_grad
from kusari.data import adapters
from kusari.tensor import Tensor, grad
from kusari.training.compile_utils import CompileLoss, CompileMetrics
from kusari.training import jit as _jit


def _python(logs):
    out = {}
    for k, v in logs.items():
        if isinstance(v, Tensor):
            v = v.item() if v.size == 1 else v.numpy()
        elif hasattr(v, "item") and getattr(v, "size", 2) == 1:
            v = v.item()
        out[k] = v
    return out


class _Permuter:
    """Shuffling for the data adapters, driven by a backend generator whose state is checkpointed."""

    def __init__(self, seed):
        from kusari.backend import current
        self.backend = current()
        self.gen = self.backend.rng(seed)

    def permutation(self, n):
        return self.backend.to_numpy(self.backend.permutation(self.gen, n))

    @property
    def state(self):
        """The generator's state (JSON-serialisable); saved in model files so a resumed fit sees the same order."""
        return self.backend.rng_state(self.gen)

    def set_state(self, state):
        self.backend.set_rng_state(self.gen, state)


class Trainer:
    def _init_trainer(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self.loss = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._output_loss_trackers = []
        self._permuter = None
        self._initial_epoch = None   # set by a callback (BackupAndRestore) in on_train_begin to resume a fit

    # -- compile --
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, loss(es) and metrics (objects or Keras string names)."""
        from kusari import metrics as M
        from kusari import optimizers
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        names = self._output_names()
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, names, loss) \
            if (metrics is not None or weighted_metrics is not None) else None
        self._loss_tracker = M.Mean(name="loss")
        self._output_loss_trackers = [M.Mean(name=f"{n}_loss") for n in names] if len(names) > 1 else []
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self._kusari_jit_step = None          # a compiled train step is traced again for the new settings
        self.compiled = True

    def _output_names(self):
        names = getattr(self, "output_names", None)
        if names:
            seen, out = {}, []
            for n in names:
                seen[n] = seen.get(n, 0) + 1
                out.append(n if seen[n] == 1 else f"{n}_{seen[n] - 1}")
            return out
        return ["output"]

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"call compile() before {what}()")

    # -- losses and metrics --
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss(es) on ``y_pred`` plus the model's regularization losses."""
        total = None
        if self._compile_loss is not None and y is not None:
            total, parts = self._compile_loss(y, y_pred, sample_weight)
            for tracker, part in zip(self._output_loss_trackers, parts):
                if part is not None:
                    tracker.update_state(part)
        extra = self.losses
        for l in extra:
            total = l if total is None else total + l
        if total is None:
            raise ValueError("no loss to compute: compile() with loss=..., or override train_step/compute_loss")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics; return ``get_metrics_result()``."""
        if self._compile_metrics is not None and y is not None:
            with no_grad():
                self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    @property
    def metrics(self):
        """Every metric object: the loss tracker(s), compiled metrics, metrics assigned as attributes."""
        out = []
        if self._loss_tracker is not None:
            out.append(self._loss_tracker)
        out.extend(self._output_loss_trackers)
        if self._compile_metrics is not None:
            out.extend(self._compile_metrics.metrics)
        for m in self.__dict__.get("_tracked_metrics", []):
            if all(m is not o for o in out):
                out.append(m)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        logs = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                logs.update(r)
            else:
                logs[m.name] = r
        return logs

    # -- steps --
    def train_step(self, data):
        x, y, sample_weight = adapters.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(y_pred))
        weights = self.trainable_weights
        if weights:
            if not self.optimizer.built:
                # slots for every weight that can train, frozen ones too: `layer.trainable = True` later needs no
                # recompile (the optimizer only knows the variables it was built with)
                self.optimizer.build(self._trainable_candidates())
            grads = grad(loss, weights, allow_unused=True)
            self.optimizer.apply(grads, weights)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _trainable_candidates(self):
        """The weights created trainable, frozen or not, in ``trainable_weights`` order."""
        out, seen = [], set()
        for layer in self._flatten_layers(include_self=True):
            for w in layer._trainable_vars:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    def test_step(self, data):
        x, y, sample_weight = adapters.unpack_x_y_sample_weight(data)
        with no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = adapters.unpack_x_y_sample_weight(data)
        with no_grad():
            return self(x, training=False)

    # -- the loops --
    def _data_permuter(self):
        if self._permuter is None:
            from kusari import random
            seed = int(random.randint((), 0, 2 ** 31 - 1).item())
            self._permuter = _Permuter(seed)
        return self._permuter

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` (from ``initial_epoch``); returns the ``History``."""
        from kusari.callbacks import CallbackList
        self._assert_compiled("fit")
        if validation_split and validation_data is None:
            if not adapters.is_array_like(x):
                raise ValueError("validation_split needs array inputs; pass validation_data= for generators and "
                                 "Datasets")
            (x, y, sample_weight), validation_data = adapters.split_validation(x, y, sample_weight,
                                                                               validation_split)
        if class_weight is not None:
            sample_weight = _class_weights(y, class_weight, sample_weight)
        data = adapters.make_adapter(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)
        verbose = 1 if verbose == "auto" else verbose
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=epochs,
            steps=data.steps)
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin()
        if self._initial_epoch is not None:   # a callback restored a checkpoint and says where to go on
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        permuter = self._data_permuter()      # after on_train_begin: a restore may have replaced it
        logs = {}
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            _jit.refresh(self)                # a compiled step sees weights (un)frozen between epochs
            for step, batch in enumerate(data.batches(permuter)):
                cbs.on_train_batch_begin(step)
                logs = _jit.train_step(self, _to_tensors(batch))   # compiled if jit_compile=True; not read here
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = _python(logs)      # floats now: validation below resets the metrics
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                vx, vy, vsw = _unpack_validation(validation_data)
                val = self.evaluate(vx, vy, sample_weight=vsw, batch_size=validation_batch_size or batch_size,
                                    steps=validation_steps, verbose=0, return_dict=True, _callbacks=cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, _callbacks=None):
        """Loss and metrics on the data; a scalar, a list in ``metrics_names`` order, or a dict."""
        from kusari.callbacks import CallbackList
        self._assert_compiled("evaluate")
        data = adapters.make_adapter(x, y, sample_weight, batch_size, False, steps)
        verbose = 1 if verbose == "auto" else verbose
        cbs = _callbacks or (callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=data.steps))
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        for step, batch in enumerate(data.batches()):
            cbs.on_test_batch_begin(step)
            logs = self.test_step(_to_tensors(batch))
            cbs.on_test_batch_end(step, logs)
        logs = _python(logs if logs else self.get_metrics_result())
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` in batches, as NumPy arrays (same structure as the outputs)."""
        from kusari.callbacks import CallbackList
        data = adapters.make_adapter(x, None, None, batch_size, False, steps)
        verbose = 1 if verbose == "auto" else verbose
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=data.steps)
        cbs.on_predict_begin()
        chunks = []
        for step, batch in enumerate(data.batches()):
            cbs.on_predict_batch_begin(step)
            out = self.predict_step(_to_tensors(batch))
            chunks.append(_map_leaves(lambda t: t.numpy(), out))
            cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not chunks:
            raise ValueError("predict(): the input has no samples")
        return _concat(chunks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns the (running) logs."""
        self._assert_compiled("train_on_batch")
        self.reset_metrics()  # Keras 3: the logs describe this batch alone
        if class_weight is not None:
            sample_weight = _class_weights(y, class_weight, sample_weight)
        logs = _python(self.train_step(_to_tensors(adapters.pack_x_y_sample_weight(
            _host(x), _host(y), _host(sample_weight)))))
        return logs if return_dict else _flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        logs = _python(self.test_step(_to_tensors(adapters.pack_x_y_sample_weight(
            _host(x), _host(y), _host(sample_weight)))))
        return logs if return_dict else _flatten_logs(logs)

    def predict_on_batch(self, x):
        out = self.predict_step(_to_tensors((_host(x),)))
        return _map_leaves(lambda t: t.numpy(), out)


def _host(a):
    if a is None or isinstance(a, Tensor):
        return a
    return adapters._map(adapters.to_host_array, a)


def _flatten_logs(logs):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _batch_size(y_pred):
    first = y_pred
    while isinstance(first, (list, tuple, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return first.shape[0] if first.ndim else 1


def _to_tensors(batch):
    return adapters._map(lambda a: a if isinstance(a, Tensor) else Tensor(a), batch)


def _map_leaves(fn, s):
    if isinstance(s, (list, tuple)):
        return type(s)(_map_leaves(fn, v) for v in s)
    if isinstance(s, dict):
        return {k: _map_leaves(fn, v) for k, v in s.items()}
    return fn(s)


def _concat(chunks):
    from kusari.backend import current
    first = chunks[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([c[i] for c in chunks]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concat([c[k] for c in chunks]) for k in first}
    xp = current().xp
    return current().to_numpy(xp.concat([current().asarray(c) for c in chunks], axis=0))


def _unpack_validation(validation_data):
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) == 2:
            return validation_data[0], validation_data[1], None
        if len(validation_data) == 3:
            return tuple(validation_data)
        raise ValueError("validation_data must be (x, y) or (x, y, sample_weight), or a Dataset/generator")
    return validation_data, None, None


def _class_weights(y, class_weight, sample_weight):
    """Per-sample weights from a {class: weight} dict (integer labels or one-hot targets)."""
    from kusari.backend import current
    B = current()
    labels = B.to_numpy(Tensor(y).data) if not hasattr(y, "shape") or isinstance(y, Tensor) else y
    labels = B.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = B.xp.argmax(labels, axis=1)
    labels = B.xp.reshape(labels, (-1,))
    table = B.asarray([class_weight.get(int(c), 1.0) for c in range(int(B.xp.max(labels)) + 1)], "float32")
    weights = B.to_numpy(B.xp.take(table, B.cast(labels, "int64")))
    if sample_weight is not None:
        weights = weights * B.to_numpy(B.asarray(sample_weight))
    return weights
