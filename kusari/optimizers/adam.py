"""The Adam family, Keras 3's update rules: ``Adam`` (with ``amsgrad``), ``AdamW``, ``Adamax``, ``Nadam``."""
import math

from kusari import config
from kusari.optimizers.optimizer import Optimizer

class Adam(Optimizer):
    """Adam (Kingma & Ba), Keras 3 ``keras.optimizers.Adam``.

    ``m += (g - m)(1 - beta_1)``; ``v += (g^2 - v)(1 - beta_2)``; ``w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    * m / (sqrt(v) + epsilon)`` (epsilon is not bias-corrected, as in Keras). ``amsgrad`` uses ``max`` of all ``v``.

    >>> import kusari
    >>> from kusari.optimizers import Adam
    >>> w = kusari.Parameter([1.0, -1.0], name="w")
    >>> Adam(learning_rate=0.1).apply([kusari.tensor([3.0, -0.5])], [w])
    >>> [round(x, 4) for x in w.tolist()]   # the first step moves each weight by ~lr * sign(g)
    [0.9, -0.9]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    update_step = Optimizer._builtin_update_step

    def _alpha(self, lr, t, variable):
        """The bias-corrected step size at step ``t``."""
        if isinstance(t, int):
            return lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        # traced (jit_compile=True): t is a float64 array; the same float64 formula, cast like a float
        b = variable.backend
        return b.cast(lr * b.xp.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t), variable.dtype)

    def _array_update(self, g, variable, lr):
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        v_hat = self._velocity_hats[i] if self.amsgrad else None
        alpha = self._alpha(lr, self._local_step, variable)
        kernel = self._kernel(variable, "adam_update")
        if kernel is not None:
            out = kernel(variable.data, g, m.data, v.data, None if v_hat is None else v_hat.data, alpha,
                         self.beta_1, self.beta_2, self.epsilon)
            self._store((variable, m, v, v_hat), out)
            return
        xp = variable.backend.xp
        m.assign(m.data + (g - m.data) * (1 - self.beta_1))
        v.assign(v.data + (g * g - v.data) * (1 - self.beta_2))
        vv = v
        if v_hat is not None:
            v_hat.assign(xp.maximum(v_hat.data, v.data))
            vv = v_hat
        variable.assign(variable.data - (m.data * alpha) / (xp.sqrt(vv.data) + self.epsilon))

    def _array_update_many(self, grads, variables, lr):
        # every variable in one multi-tensor kernel (eager steps; see Optimizer._array_update_many)
        kernel = self._kernel_many(variables, "adam_update_many")
        if kernel is None or type(self)._array_update is not Adam._array_update:
            return False
        idx = [self._get_variable_index(v) for v in variables]
        ms = [self._momentums[i] for i in idx]
        vs = [self._velocities[i] for i in idx]
        v_hats = [self._velocity_hats[i] for i in idx] if self.amsgrad else None
        alpha = self._alpha(lr, self._local_step, variables[0])
        out = kernel([v.data for v in variables], grads, [m.data for m in ms], [v.data for v in vs],
                     None if v_hats is None else [h.data for h in v_hats], alpha, self.beta_1, self.beta_2,
                     self.epsilon)
        for tensors, arrays in zip((variables, ms, vs, v_hats), out):
            if tensors is not None:
                self._store(tensors, arrays)
        return True

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), Keras 3 ``keras.optimizers.AdamW``:
    ``w -= w * weight_decay * lr`` before each Adam step. ``weight_decay`` defaults to 0.004.

    >>> import kusari
    >>> from kusari.optimizers import AdamW
    >>> w = kusari.Parameter([1.0], name="w")
    >>> AdamW(learning_rate=0.1, weight_decay=0.5).apply([kusari.tensor([0.0])], [w])
    >>> round(w.item(), 6)   # zero gradient: only the decay 1 - 0.5 * 0.1
    0.95
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class Adamax(Optimizer):
    """Adamax, Adam on the infinity norm (Keras 3 ``keras.optimizers.Adamax``).

    ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 * u, |g|)``; ``w -= lr * m / ((1 - beta_1^t)(u + epsilon))``.

    >>> import kusari
    >>> from kusari.optimizers import Adamax
    >>> w = kusari.Parameter([1.0], name="w")
    >>> Adamax(learning_rate=0.1).apply([kusari.tensor([2.0])], [w])
    >>> round(w.item(), 5)
    0.9
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        i = self._get_variable_index(variable)
        m, u = self._m[i], self._u[i]
        beta_1_power = self.beta_1 ** self._local_step
        kernel = self._kernel(variable, "adamax_update")
        if kernel is not None:
            out = kernel(variable.data, g, m.data, u.data, lr, self.beta_1, self.beta_2, self.epsilon,
                         beta_1_power)
            self._store((variable, m, u), out)
            return
        xp = variable.backend.xp
        m.assign(m.data + (g - m.data) * (1 - self.beta_1))
        u.assign(xp.maximum(u.data * self.beta_2, xp.abs(g)))
        variable.assign(variable.data - (m.data * lr)
                        / ((u.data + self.epsilon) * self._scalar(1 - beta_1_power, variable)))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat), Keras 3 ``keras.optimizers.Nadam`` — the momentum schedule
    ``u_t = beta_1 (1 - 0.5 * 0.96^t)`` and its running product (an optimizer variable).

    >>> import kusari
    >>> from kusari.optimizers import Nadam
    >>> w = kusari.Parameter([1.0], name="w")
    >>> Nadam(learning_rate=0.1).apply([kusari.tensor([2.0])], [w])
    >>> round(w.item(), 4)
    0.8937
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else config.floatx()
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype, name="u_product")

    def _backend_update_step(self, grads, variables, learning_rate):
        t = self._traced_step() if self._traced() else self._step_count() + 1
        u = self._u_product
        u.assign(u.data * self._scalar(self.beta_1 * (1.0 - 0.5 * 0.96 ** t), u))
        super()._backend_update_step(grads, variables, learning_rate)

    update_step = Optimizer._builtin_update_step

    def _array_update(self, g, variable, lr):
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        t = self._local_step
        u_t = self.beta_1 * (1.0 - 0.5 * 0.96 ** t)
        u_t_1 = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        if isinstance(t, int):
            u_product_t = float(self._u_product.item())
        else:       # traced (jit_compile=True): float64 arrays, like the Python floats above
            u_product_t = variable.backend.cast(self._u_product.data, "float64")
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = self.beta_2 ** t
        kernel = self._kernel(variable, "nadam_update")
        if kernel is not None:
            out = kernel(variable.data, g, m.data, v.data, lr, self.beta_1, self.beta_2, self.epsilon, u_t, u_t_1,
                         u_product_t, u_product_t_1, beta_2_power)
            self._store((variable, m, v), out)
            return
        xp = variable.backend.xp
        c = self._scalar
        m.assign(m.data + (g - m.data) * (1 - self.beta_1))
        v.assign(v.data + (g * g - v.data) * (1 - self.beta_2))
        m_hat = (m.data * c(u_t_1, variable)) / c(1 - u_product_t_1, variable) \
            + (g * c(1 - u_t, variable)) / c(1 - u_product_t, variable)
        v_hat = v.data / c(1 - beta_2_power, variable)
        variable.assign(variable.data - (m_hat * lr) / (xp.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
