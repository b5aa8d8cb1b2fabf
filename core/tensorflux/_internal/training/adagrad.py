"""Adagrad: ``accum += grad ** 2; var -= learning_rate * grad / sqrt(accum)``."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..indexed_slices import IndexedSlices
from ..ops import array_ops, math_ops, sparse_ops, state_ops
from ..variables import Variable
from .optimizer import Optimizer


class AdagradOptimizer(Optimizer):
    """Adagrad, with TF 1.x's update rule (slot ``accumulator``, initially ``initial_accumulator_value``)::

        accum += grad * grad
        var -= learning_rate * grad / sqrt(accum)

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable([1.0, 2.0])
        >>> opt = tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.5)
        >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
        >>> opt.get_slot_names()
        ['accumulator']
    """

    _fused_op = "ApplyAdagrad"

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad", fused: bool | None = None) -> None:
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive, got {initial_accumulator_value}")
        super().__init__(use_locking, name, fused)
        self._set_hyper("learning_rate", learning_rate)
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._filled_slot(v, self._initial_accumulator_value, "accumulator", self._name)

    def _apply_fused(self, grad: Tensor, var: Variable) -> Any:
        lr = self._get_hyper("learning_rate", var.dtype)
        return self._apply_op("ApplyAdagrad", var, self.get_slot(var, "accumulator"), lr, grad).op

    def _apply_composed(self, grad: Tensor, var: Variable) -> Any:
        lr = self._get_hyper("learning_rate", var.dtype)
        accum = self.get_slot(var, "accumulator").assign_add(math_ops.square(grad), use_locking=self._use_locking)
        step = math_ops.multiply(math_ops.multiply(lr, grad), math_ops.rsqrt(accum))
        return var.assign_sub(step, use_locking=self._use_locking).op

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        # TF's SparseApplyAdagrad: the dense update on the touched rows only (indices are distinct here).
        lr, slot = self._get_hyper("learning_rate", var.dtype), self.get_slot(var, "accumulator")
        g, rows, locking = grad.values, grad.indices, self._use_locking
        accum = math_ops.add(array_ops.gather(slot, rows), math_ops.square(g))
        step = math_ops.multiply(math_ops.multiply(lr, g), math_ops.rsqrt(accum))
        return state_ops.group(sparse_ops.scatter_update(slot, rows, accum, use_locking=locking),
                               sparse_ops.scatter_sub(var, rows, step, use_locking=locking))
