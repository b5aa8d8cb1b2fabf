"""Plain gradient descent: ``var -= learning_rate * grad``."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..indexed_slices import IndexedSlices
from ..ops import math_ops, sparse_ops
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

    def _apply_sparse_duplicate_indices(self, grad: IndexedSlices, var: Variable) -> Any:
        # As TF: ScatterSub accumulates duplicate rows itself, so they need no merging first.
        return self._apply_sparse(grad, var)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        step = math_ops.multiply(grad.values, self._get_hyper("learning_rate", var.dtype))
        return sparse_ops.scatter_sub(var, grad.indices, step, use_locking=self._use_locking).op
