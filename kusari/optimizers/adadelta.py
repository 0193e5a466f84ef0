"""Adadelta (Zeiler), Keras 3's ``Adadelta``."""
from kusari.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta, Keras 3 ``keras.optimizers.Adadelta``: running averages of g^2 and of the squared updates;
    ``delta = -sqrt(acc_delta + eps) / sqrt(acc_g + eps) * g``; ``w += lr * delta``.

    >>> import kusari
    >>> from kusari.optimizers import Adadelta
    >>> w = kusari.Parameter([1.0], name="w")
    >>> Adadelta(learning_rate=1.0, rho=0.0, epsilon=1e-6).apply([kusari.tensor([1.0])], [w])
    >>> round(w.item(), 5)   # 1 - sqrt(1e-6) / sqrt(1 + 1e-6)
    0.999
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        i = self._get_variable_index(variable)
        acc_g, acc_d = self._accumulated_grads[i], self._accumulated_delta_vars[i]
        rho, eps = self.rho, self.epsilon
        kernel = self._kernel(variable, "adadelta_update")
        if kernel is not None:
            self._store((variable, acc_g, acc_d), kernel(variable.data, g, acc_g.data, acc_d.data, lr, rho, eps))
            return
        xp = variable.backend.xp
        acc_g.assign(acc_g.data * rho + (g * g) * (1 - rho))
        delta = -((xp.sqrt(acc_d.data + eps) * g) / xp.sqrt(acc_g.data + eps))
        acc_d.assign(acc_d.data * rho + (delta * delta) * (1 - rho))
        variable.assign(variable.data + delta * lr)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
