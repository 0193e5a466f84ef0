"""Adagrad, Keras 3's ``Adagrad``."""
from kusari.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad, Keras 3 ``keras.optimizers.Adagrad``: ``acc += g^2``; ``w -= lr * g / sqrt(acc + epsilon)``,
    with the accumulators starting at ``initial_accumulator_value``.

    >>> import kusari
    >>> from kusari.optimizers import Adagrad
    >>> w = kusari.Parameter([1.0], name="w")
    >>> Adagrad(learning_rate=0.1, initial_accumulator_value=0.0).apply([kusari.tensor([2.0])], [w])
    >>> round(w.item(), 5)
    0.9
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator",
                                                          initializer=float(self.initial_accumulator_value))

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        acc = self._accumulators[self._get_variable_index(variable)]
        kernel = self._kernel(variable, "adagrad_update")
        if kernel is not None:
            self._store((variable, acc), kernel(variable.data, g, acc.data, lr, self.epsilon))
            return
        xp = variable.backend.xp
        acc.assign(acc.data + g * g)
        variable.assign(variable.data - (g * lr) / xp.sqrt(acc.data + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
