"""Lion (Chen et al., 2023), Keras 3's ``Lion``."""
from kusari.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """Lion, Keras 3 ``keras.optimizers.Lion``: ``w -= lr * sign(beta_1 m + (1 - beta_1) g)``; then
    ``m = beta_2 m + (1 - beta_2) g``.

    >>> import kusari
    >>> from kusari.optimizers import Lion
    >>> w = kusari.Parameter([1.0, 1.0], name="w")
    >>> Lion(learning_rate=0.1).apply([kusari.tensor([3.0, -0.01])], [w])
    >>> [round(x, 5) for x in w.tolist()]
    [0.9, 1.1]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates "
                             f"to SignSGD. Received: beta_1={beta_1}.")

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        m = self._momentums[self._get_variable_index(variable)]
        kernel = self._kernel(variable, "lion_update")
        if kernel is not None:
            self._store((variable, m), kernel(variable.data, g, m.data, lr, self.beta_1, self.beta_2))
            return
        xp = variable.backend.xp
        variable.assign(variable.data - xp.sign(m.data * self.beta_1 + g * (1.0 - self.beta_1)) * lr)
        m.assign(m.data * self.beta_2 + g * (1.0 - self.beta_2))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
