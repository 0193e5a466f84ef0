"""RMSprop (Hinton), Keras 3's RMSprop with rho, momentum and centered."""
from kusari.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop, Keras 3 ``keras.optimizers.RMSprop``.

    ``v = rho v + (1 - rho) g^2``; ``increment = lr * g / sqrt(v + epsilon)`` (epsilon inside the root, as Keras;
    ``centered`` subtracts the squared running mean of g inside the root); with ``momentum > 0``:
    ``mom = momentum * mom + increment; w -= mom``, else ``w -= increment``.

    >>> import kusari
    >>> from kusari.optimizers import RMSprop
    >>> w = kusari.Parameter([1.0], name="w")
    >>> RMSprop(learning_rate=0.01).apply([kusari.tensor([1.0])], [w])
    >>> round(w.item(), 5)   # 1 - 0.01 / sqrt(0.1)
    0.96838
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient")

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        i = self._get_variable_index(variable)
        vel = self._velocities[i]
        mom = self._momentums[i] if self.momentum > 0 else None
        avg = self._average_gradients[i] if self.centered else None
        rho = self.rho
        kernel = self._kernel(variable, "rmsprop_update")
        if kernel is not None:
            out = kernel(variable.data, g, vel.data, None if mom is None else mom.data,
                         None if avg is None else avg.data, lr, rho, self.momentum, self.epsilon)
            self._store((variable, vel, mom, avg), out)
            return
        xp = variable.backend.xp
        vel.assign(vel.data * rho + (g * g) * (1 - rho))
        if avg is not None:
            avg.assign(avg.data * rho + g * (1 - rho))
            denominator = vel.data - avg.data * avg.data + self.epsilon
        else:
            denominator = vel.data + self.epsilon
        increment = (g * lr) / xp.sqrt(denominator)
        if mom is not None:
            mom.assign(mom.data * self.momentum + increment)
            variable.assign(variable.data - mom.data)
        else:
            variable.assign(variable.data - increment)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
