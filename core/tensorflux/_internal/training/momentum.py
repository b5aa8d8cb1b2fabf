"""Momentum: ``accum = momentum * accum + grad; var -= learning_rate * accum`` (or Nesterov's variant)."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..indexed_slices import IndexedSlices
from ..ops import array_ops, math_ops, sparse_ops, state_ops
from ..variables import Variable
from .optimizer import Optimizer


class MomentumOptimizer(Optimizer):
    """Momentum, with TF's update rule (slot ``momentum``, initially zeros)::

        accum = momentum * accum + grad
        var -= learning_rate * accum                                   # use_nesterov=False
        var -= learning_rate * grad + learning_rate * momentum * accum  # use_nesterov=True

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable([1.0, -1.0])
        >>> opt = tf.train.MomentumOptimizer(0.1, momentum=0.9, use_nesterov=True)
        >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
        >>> opt.get_slot(w, "momentum").name
        'Variable/Momentum:0'
    """

    _fused_op = "ApplyMomentum"

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False, fused: bool | None = None) -> None:
        super().__init__(use_locking, name, fused)
        self._set_hyper("learning_rate", learning_rate)
        self._set_hyper("momentum", momentum)
        self._use_nesterov = bool(use_nesterov)

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_fused(self, grad: Tensor, var: Variable) -> Any:
        lr, momentum = self._get_hyper("learning_rate", var.dtype), self._get_hyper("momentum", var.dtype)
        return self._apply_op("ApplyMomentum", var, self.get_slot(var, "momentum"), lr, grad, momentum,
                              use_nesterov=self._use_nesterov).op

    def _apply_composed(self, grad: Tensor, var: Variable) -> Any:
        lr, momentum = self._get_hyper("learning_rate", var.dtype), self._get_hyper("momentum", var.dtype)
        slot = self.get_slot(var, "momentum")
        accum = slot.assign(math_ops.add(math_ops.multiply(slot, momentum), grad), use_locking=self._use_locking)
        if self._use_nesterov:
            step = math_ops.add(math_ops.multiply(grad, lr), math_ops.multiply(math_ops.multiply(accum, momentum), lr))
        else:
            step = math_ops.multiply(accum, lr)
        return state_ops.group(var.assign_sub(step, use_locking=self._use_locking))

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        # TF's SparseApplyMomentum: the dense update on the touched rows only (indices are distinct here).
        lr, momentum = self._get_hyper("learning_rate", var.dtype), self._get_hyper("momentum", var.dtype)
        slot, g, rows = self.get_slot(var, "momentum"), grad.values, grad.indices
        accum = math_ops.add(math_ops.multiply(array_ops.gather(slot, rows), momentum), g)
        if self._use_nesterov:
            step = math_ops.add(math_ops.multiply(g, lr), math_ops.multiply(math_ops.multiply(accum, momentum), lr))
        else:
            step = math_ops.multiply(accum, lr)
        locking = self._use_locking
        return state_ops.group(sparse_ops.scatter_update(slot, rows, accum, use_locking=locking),
                               sparse_ops.scatter_sub(var, rows, step, use_locking=locking))
