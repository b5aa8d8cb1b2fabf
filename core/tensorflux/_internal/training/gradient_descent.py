"""Plain gradient descent: ``var -= learning_rate * grad``."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..ops import math_ops
from ..variables import Variable
from .optimizer import Optimizer


class GradientDescentOptimizer(Optimizer):
    """Gradient descent: ``var -= learning_rate * grad``. The learning rate may be a float or a tensor.

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable(1.0)
        >>> train = tf.train.GradientDescentOptimizer(0.5).minimize(tf.square(w))
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     sess.run(train)
        ...     float(sess.run(w))
        0.0
    """

    _fused_op = "ApplyGradientDescent"

    def __init__(self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent",
                 fused: bool | None = None) -> None:
        super().__init__(use_locking, name, fused)
        self._set_hyper("learning_rate", learning_rate)

    def _apply_fused(self, grad: Tensor, var: Variable) -> Any:
        return self._apply_op("ApplyGradientDescent", var, self._get_hyper("learning_rate", var.dtype), grad).op

    def _apply_composed(self, grad: Tensor, var: Variable) -> Any:
        step = math_ops.multiply(self._get_hyper("learning_rate", var.dtype), grad)
        return var.assign_sub(step, use_locking=self._use_locking).op
