"""RMSProp (Hinton's lecture 6e), with TF's momentum and centered variants."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..indexed_slices import IndexedSlices
from ..ops import array_ops, math_ops, sparse_ops, state_ops
from ..variables import Variable
from .optimizer import Optimizer


class RMSPropOptimizer(Optimizer):
    """RMSProp, with TF 1.x's update rule. Slots: ``rms`` (initially ones), ``momentum`` (zeros) and,
    when centered, ``mg`` (zeros)::

        ms = decay * ms + (1 - decay) * grad * grad
        mg = decay * mg + (1 - decay) * grad              # centered only
        denom = ms - mg * mg if centered else ms
        mom = momentum * mom + learning_rate * grad / sqrt(denom + epsilon)
        var -= mom

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable([1.0, 2.0])
        >>> opt = tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5, centered=True)
        >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
        >>> opt.get_slot_names()
        ['mg', 'momentum', 'rms']
    """

    def __init__(self, learning_rate: Any, decay: Any = 0.9, momentum: Any = 0.0, epsilon: Any = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp",
                 fused: bool | None = None) -> None:
        super().__init__(use_locking, name, fused)
        for key, value in (("learning_rate", learning_rate), ("decay", decay), ("momentum", momentum),
                           ("epsilon", epsilon)):
            self._set_hyper(key, value)
        self._centered = bool(centered)
        self._fused_op = "ApplyCenteredRMSProp" if self._centered else "ApplyRMSProp"

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._filled_slot(v, 1.0, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _hypers_for(self, var: Variable) -> tuple:
        return tuple(self._get_hyper(k, var.dtype) for k in ("learning_rate", "decay", "momentum", "epsilon"))

    def _apply_fused(self, grad: Tensor, var: Variable) -> Any:
        lr, decay, momentum, epsilon = self._hypers_for(var)
        slots = [self.get_slot(var, "rms"), self.get_slot(var, "momentum")]
        if self._centered:
            slots.insert(0, self.get_slot(var, "mg"))
        return self._apply_op(self._fused_op, var, *slots, lr, decay, momentum, epsilon, grad).op

    def _apply_composed(self, grad: Tensor, var: Variable) -> Any:
        lr, decay, momentum, epsilon = self._hypers_for(var)
        add, mul, sub = math_ops.add, math_ops.multiply, math_ops.subtract
        locking = self._use_locking
        ms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        ms_t = ms.assign(add(mul(ms, decay), mul(math_ops.square(grad), sub(1.0, decay))), use_locking=locking)
        updates = [ms_t]
        denom = ms_t
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_t = mg.assign(add(mul(mg, decay), mul(grad, sub(1.0, decay))), use_locking=locking)
            updates.append(mg_t)
            denom = sub(ms_t, math_ops.square(mg_t))
        mom_t = mom.assign(add(mul(mom, momentum), math_ops.divide(mul(lr, grad), math_ops.sqrt(add(denom, epsilon)))),
                           use_locking=locking)
        return state_ops.group(var.assign_sub(mom_t, use_locking=locking), *updates)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        # TF's SparseApply(Centered)RMSProp: the dense update on the touched rows only (indices are distinct here).
        lr, decay, momentum, epsilon = self._hypers_for(var)
        add, mul, sub, locking = math_ops.add, math_ops.multiply, math_ops.subtract, self._use_locking
        g, rows = grad.values, grad.indices
        ms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        ms_t = add(mul(array_ops.gather(ms, rows), decay), mul(math_ops.square(g), sub(1.0, decay)))
        updates = [sparse_ops.scatter_update(ms, rows, ms_t, use_locking=locking)]
        denom = ms_t
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_t = add(mul(array_ops.gather(mg, rows), decay), mul(g, sub(1.0, decay)))
            updates.append(sparse_ops.scatter_update(mg, rows, mg_t, use_locking=locking))
            denom = sub(ms_t, math_ops.square(mg_t))
        mom_t = add(mul(array_ops.gather(mom, rows), momentum),
                    math_ops.divide(mul(lr, g), math_ops.sqrt(add(denom, epsilon))))
        updates.append(sparse_ops.scatter_update(mom, rows, mom_t, use_locking=locking))
        return state_ops.group(sparse_ops.scatter_sub(var, rows, mom_t, use_locking=locking), *updates)
