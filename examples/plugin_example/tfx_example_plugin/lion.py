"""The Lion optimizer (Chen et al., 2023), composed from core ops so every device can train with it."""

from __future__ import annotations

from typing import Any

import tensorflux as tf


class LionOptimizer(tf.train.Optimizer):
    """Lion: a sign-of-momentum update with decoupled weight decay (slot ``m``, initially zeros)::

        c = beta1 * m + (1 - beta1) * grad
        var -= learning_rate * (sign(c) + weight_decay * var)
        m = beta2 * m + (1 - beta2) * grad

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable([1.0, -1.0])
        >>> train = tf.train.get_optimizer("lion")(0.1).minimize(tf.reduce_sum(tf.square(w)))
        >>> train.type
        'NoOp'
    """

    def __init__(self, learning_rate: Any = 1e-4, beta1: float = 0.9, beta2: float = 0.99, weight_decay: float = 0.0,
                 use_locking: bool = False, name: str = "Lion") -> None:
        super().__init__(use_locking, name)
        self._set_hyper("learning_rate", learning_rate)
        self._set_hyper("beta1", beta1)
        self._set_hyper("beta2", beta2)
        self._set_hyper("weight_decay", weight_decay)

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._zeros_slot(v, "m", self._name)

    def _apply_composed(self, grad: tf.Tensor, var: tf.Variable) -> Any:
        lr, b1, b2, wd = (self._get_hyper(h, var.dtype) for h in ("learning_rate", "beta1", "beta2", "weight_decay"))
        m = self.get_slot(var, "m")
        direction = tf.sign(b1 * m + (1 - b1) * grad) + wd * var
        var_update = var.assign_sub(lr * direction, use_locking=self._use_locking)
        with tf.control_dependencies([var_update]):
            m_update = m.assign(b2 * m + (1 - b2) * grad, use_locking=self._use_locking)
        return tf.group(var_update, m_update)
