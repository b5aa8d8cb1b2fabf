"""Adam (Kingma and Ba, 2015), with TF's bias correction folded into the step size."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..indexed_slices import IndexedSlices
from ..ops import math_ops, sparse_ops, state_ops
from ..variables import Variable
from .optimizer import Optimizer


class AdamOptimizer(Optimizer):
    """Adam, with TF's update rule. Slots ``m`` and ``v`` start at zeros; ``beta1_power`` and
    ``beta2_power`` (one pair per graph) start at beta1 and beta2 and are multiplied by them after
    every step, so at step t they are beta1^t and beta2^t::

        lr_t = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        var -= lr_t * m / (sqrt(v) + epsilon)

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable([1.0, 2.0])
        >>> opt = tf.train.AdamOptimizer(learning_rate=0.01)
        >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
        >>> opt.get_slot_names(), [v.name for v in opt.variables()][:2]
        (['m', 'v'], ['Variable/Adam:0', 'Variable/Adam_1:0'])
    """

    _fused_op = "ApplyAdam"

    def __init__(self, learning_rate: Any = 0.001, beta1: Any = 0.9, beta2: Any = 0.999, epsilon: Any = 1e-8,
                 use_locking: bool = False, name: str = "Adam", fused: bool | None = None) -> None:
        super().__init__(use_locking, name, fused)
        for key, value in (("learning_rate", learning_rate), ("beta1", beta1), ("beta2", beta2), ("epsilon", epsilon)):
            self._set_hyper(key, value)

    def _create_slots(self, var_list: list) -> None:
        first = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(self._hypers["beta1"], "beta1_power", first)
        self._create_non_slot_variable(self._hypers["beta2"], "beta2_power", first)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _get_beta_accumulators(self, graph: Any = None) -> tuple:
        """(beta1_power, beta2_power) for ``graph`` (default: the graph of the last variables updated)."""
        if graph is None:
            graph = next(iter(self._non_slots))[1]
        return self._get_non_slot_variable("beta1_power", graph), self._get_non_slot_variable("beta2_power", graph)

    def _hypers_for(self, var: Variable) -> tuple:
        b1p, b2p = self._get_beta_accumulators(var.graph)
        dtype = var.dtype
        return (math_ops.cast(b1p, dtype), math_ops.cast(b2p, dtype), self._get_hyper("learning_rate", dtype),
                self._get_hyper("beta1", dtype), self._get_hyper("beta2", dtype), self._get_hyper("epsilon", dtype))

    def _apply_fused(self, grad: Tensor, var: Variable) -> Any:
        b1p, b2p, lr, beta1, beta2, epsilon = self._hypers_for(var)
        return self._apply_op("ApplyAdam", var, self.get_slot(var, "m"), self.get_slot(var, "v"), b1p, b2p, lr, beta1,
                              beta2, epsilon, grad).op

    def _apply_composed(self, grad: Tensor, var: Variable) -> Any:
        b1p, b2p, lr, beta1, beta2, epsilon = self._hypers_for(var)
        mm, sub = math_ops.multiply, math_ops.subtract
        lr_t = math_ops.divide(mm(lr, math_ops.sqrt(sub(1.0, b2p))), sub(1.0, b1p))
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_t = m.assign(math_ops.add(mm(m, beta1), mm(grad, sub(1.0, beta1))), use_locking=self._use_locking)
        v_t = v.assign(math_ops.add(mm(v, beta2), mm(math_ops.square(grad), sub(1.0, beta2))),
                       use_locking=self._use_locking)
        step = mm(lr_t, math_ops.divide(m_t, math_ops.add(math_ops.sqrt(v_t), epsilon)))
        return state_ops.group(var.assign_sub(step, use_locking=self._use_locking), m_t, v_t)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        # TF 1.15's Adam._apply_sparse_shared: m and v decay in every row (m *= beta1, v *= beta2), the touched
        # rows then add (1 - beta1) * g and (1 - beta2) * g^2, and var takes the dense step lr_t * m / (sqrt(v) + eps)
        # -- so rows untouched this step still move while their m is nonzero, exactly as in TF.
        b1p, b2p, lr, beta1, beta2, epsilon = self._hypers_for(var)
        mm, sub, locking = math_ops.multiply, math_ops.subtract, self._use_locking
        lr_t = math_ops.divide(mm(lr, math_ops.sqrt(sub(1.0, b2p))), sub(1.0, b1p))
        g, rows = grad.values, grad.indices
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        graph = var.graph
        m_decayed = m.assign(mm(m, beta1), use_locking=locking)
        with graph.control_dependencies([m_decayed.op]):
            m_t = sparse_ops.scatter_add(m, rows, mm(g, sub(1.0, beta1)), use_locking=locking)
        v_decayed = v.assign(mm(v, beta2), use_locking=locking)
        with graph.control_dependencies([v_decayed.op]):
            v_t = sparse_ops.scatter_add(v, rows, mm(math_ops.square(g), sub(1.0, beta2)), use_locking=locking)
        step = mm(lr_t, math_ops.divide(m_t, math_ops.add(math_ops.sqrt(v_t), epsilon)))
        return state_ops.group(var.assign_sub(step, use_locking=locking), m_t, v_t)

    def _finish(self, update_ops: list, name_scope: str) -> Any:
        # After every variable's update, advance beta1^t and beta2^t to the next step.
        graph = update_ops[0].graph
        b1p, b2p = self._get_beta_accumulators(graph)
        with graph.control_dependencies(update_ops), graph.device(b1p.device or None):
            update_b1 = b1p.assign(math_ops.multiply(b1p, self._get_hyper("beta1", b1p.dtype)),
                                   use_locking=self._use_locking)
            update_b2 = b2p.assign(math_ops.multiply(b2p, self._get_hyper("beta2", b2p.dtype)),
                                   use_locking=self._use_locking)
        return state_ops.group(*update_ops, update_b1, update_b2, name=name_scope)
