"""Stochastic gradient descent with optional (Nesterov) momentum, Keras 3's ``SGD``."""
from kusari.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent with momentum (Keras 3 ``keras.optimizers.SGD``).

    ``velocity = momentum * velocity - learning_rate * g``; ``w = w + velocity``; with ``nesterov=True``
    ``w = w + momentum * velocity - learning_rate * g``; with ``momentum=0``: ``w = w - learning_rate * g``.

    >>> import kusari
    >>> from kusari.optimizers import SGD
    >>> w = kusari.Parameter([1.0], name="w")
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.apply([kusari.tensor([1.0])], [w])
    >>> round(w.item(), 6)   # 1 - 0.1 - (0.9 * 0.1 + 0.1)
    0.71
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        m = self.momentums[self._get_variable_index(variable)] if self.momentum != 0 else None
        kernel = self._kernel(variable, "sgd_update")
        if kernel is not None:
            out = kernel(variable.data, g, None if m is None else m.data, lr, self.momentum, self.nesterov)
            self._store((variable, m), out)
            return
        p = variable.data
        if m is None:
            variable.assign(p - g * lr)
            return
        step = g * lr
        m.assign(m.data * self.momentum - step)
        if self.nesterov:
            variable.assign(p + (m.data * self.momentum - step))
        else:
            variable.assign(p + m.data)

    def _array_update_many(self, grads, variables, lr):
        # every variable in one multi-tensor kernel (eager steps; see Optimizer._array_update_many)
        kernel = self._kernel_many(variables, "sgd_update_many")
        if kernel is None or type(self)._array_update is not SGD._array_update:
            return False
        ms = [self.momentums[self._get_variable_index(v)] for v in variables] if self.momentum != 0 else None
        out = kernel([v.data for v in variables], grads, None if ms is None else [m.data for m in ms], lr,
                     self.momentum, self.nesterov)
        for tensors, arrays in zip((variables, ms), out):
            if tensors is not None:
                self._store(tensors, arrays)
        return True

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
