"""The Optimizer base class: ``minimize = compute_gradients + apply_gradients``, with slot variables.

A subclass sets hyperparameters with ``_set_hyper``, creates its slots in ``_create_slots`` and
builds one variable's update in ``_apply_dense``. An optimizer that has a fused update op names it
in ``_fused_op`` and implements ``_apply_fused`` beside ``_apply_composed``: the fused op is used when
the variable's device has a kernel for it, and the update is composed from basic ops otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dtypes
from ..graph import GraphKeys, Operation, Tensor
from ..indexed_slices import IndexedSlices
from ..op_builder import apply_op, convert_to_tensor
from ..ops import array_ops, math_ops, sparse_ops, state_ops
from ..registry import OPTIMIZERS
from ..resource_variables import ResourceVariable, is_resource_variable, op_without_outputs
from ..variables import Variable


class Optimizer:
    """Base class for optimizers: ``minimize(loss)`` computes gradients and applies them.

    ``fused`` selects the update: None (default) and True build the optimizer's update op (``ApplyAdam``, ...),
    as TensorFlow does; False composes the update from basic ops. The graph never depends on which plugins are
    installed: kernels are chosen when a session plans the run, where the ``fusion`` pass also merges an update
    with the product that feeds it (``_MatMulApplyAdam``) on devices that have that kernel. A device without a
    kernel for the update op fails at ``Session.run`` naming the op and the device (the SDK's reference kernels
    give every device the update ops).

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable(5.0)
        >>> train = tf.train.GradientDescentOptimizer(0.25).minimize(tf.square(w))
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     sess.run(train)
        ...     float(sess.run(w))
        2.5
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    # The fused update op of this optimizer (a core op such as "ApplyAdam"), or None.
    _fused_op: str | None = None

    def __init__(self, use_locking: bool, name: str, fused: bool | None = None) -> None:
        if not name:
            raise ValueError("An optimizer needs a name (used as its name scope and in its slots' names)")
        if fused not in (None, True, False):
            raise ValueError(f"Optimizer '{name}': fused must be None, True or False, got {fused!r}")
        self._use_locking = use_locking
        self._name = name
        self._fused = fused
        self._hypers: dict[str, Any] = {}
        self._hyper_tensors: dict = {}
        self._slots: dict[str, dict] = {}
        self._non_slots: dict = {}

    def get_name(self) -> str:
        """The optimizer's name: its name scope and the suffix of its slots' names.

        Example:
            >>> import tensorflux as tf
            >>> tf.train.MomentumOptimizer(0.1, 0.9).get_name()
            'Momentum'
        """
        return self._name

    # -- the three public steps ------------------------------------------------------------------
    def minimize(self, loss: Any, global_step: Any = None, var_list: Any = None, gate_gradients: int = GATE_OP,
                 aggregation_method: Any = None, colocate_gradients_with_ops: bool = False, name: str | None = None,
                 grad_loss: Any = None) -> Operation:
        """Add ops that update ``var_list`` (default: trainable variables) to minimize ``loss``.

        Increments ``global_step`` by one when given. Returns the training op.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable(1.0)
            >>> step = tf.train.get_or_create_global_step()
            >>> tf.train.AdamOptimizer(0.1).minimize(tf.square(w), global_step=step).type
            'AssignAdd'
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, gate_gradients=gate_gradients,
                                                aggregation_method=aggregation_method,
                                                colocate_gradients_with_ops=colocate_gradients_with_ops,
                                                grad_loss=grad_loss)
        if all(g is None for g, _ in grads_and_vars):
            raise ValueError(
                f"No gradients provided for any variable: no path from loss '{_name_of(loss)}' to any of "
                f"{[v.name for _, v in grads_and_vars]} goes through differentiable ops")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss: Any, var_list: Any = None, gate_gradients: int = GATE_OP,
                          aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list:
        """A list of (gradient, variable) pairs for ``loss``; a gradient is None where loss doesn't depend on it.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable(3.0)
            >>> [(g.dtype, v is w) for g, v in tf.train.GradientDescentOptimizer(0.1).compute_gradients(w * w)]
            [(tf.float32, True)]
        """
        if gate_gradients not in (Optimizer.GATE_NONE, Optimizer.GATE_OP, Optimizer.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be GATE_NONE, GATE_OP or GATE_GRAPH, got {gate_gradients!r}")
        loss = convert_to_tensor(loss)
        if not loss.dtype.is_floating:
            raise TypeError(f"The loss '{loss.name}' must be a floating-point tensor, got {loss.dtype.name}")
        if var_list is None:
            var_list = loss.graph.get_collection(GraphKeys.TRAINABLE_VARIABLES)
        var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize: the graph has no trainable variables and no var_list was given")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"var_list must hold tf.Variable objects, got {type(v).__name__} {v!r}")
        from ..gradients import gradients

        # The executor runs one op at a time, so gating (TF's guard against races between concurrently
        # running gradient ops) would change nothing but add ops: gate_gradients is accepted and not applied.
        grads = gradients(loss, var_list, grad_ys=None if grad_loss is None else [grad_loss],
                          aggregation_method=aggregation_method,
                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars: Any, global_step: Any = None, name: str | None = None) -> Operation:
        """Add ops that apply the (gradient, variable) pairs; pairs whose gradient is None are skipped.

        Increments ``global_step`` after all updates when given. Returns the training op.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable([1.0, 2.0])
            >>> opt = tf.train.MomentumOptimizer(0.1, momentum=0.9)
            >>> train = opt.apply_gradients([(tf.constant([1.0, 1.0]), w)])
            >>> opt.get_slot_names()
            ['momentum']
        """
        pairs = [self._checked_pair(g, v) for g, v in grads_and_vars]
        if not pairs:
            raise ValueError("apply_gradients needs at least one (gradient, variable) pair")
        var_list = [v for g, v in pairs if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in pairs]}")
        if global_step is not None and not isinstance(global_step, Variable):
            raise TypeError(f"global_step must be a tf.Variable (see tf.train.get_or_create_global_step), got "
                            f"{type(global_step).__name__} {global_step!r}")
        graph = var_list[0].graph
        with graph.as_default():
            self._create_slots(var_list)
            update_ops = []
            with graph.name_scope(name or self._name) as scope:
                self._hyper_tensors = {}
                self._prepare()
                for g, v in pairs:
                    if g is None:
                        continue
                    with graph.name_scope("update_" + v.op.name):
                        sparse = isinstance(g, IndexedSlices)
                        update_ops.append(self._apply_sparse_duplicate_indices(g, v) if sparse else self._apply_dense(g, v))
                if global_step is None:
                    train_op = self._finish(update_ops, scope)
                else:
                    with graph.control_dependencies([self._finish(update_ops, "update")]):
                        train_op = global_step.assign_add(1, name=scope).op
                self._hyper_tensors = {}
            train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if train_op not in train_ops:
                train_ops.append(train_op)
        return train_op

    # -- slots --------------------------------------------------------------------------------
    def get_slot_names(self) -> list[str]:
        """The names of the slots this optimizer creates, sorted (e.g. ['m', 'v'] for Adam).

        Example:
            >>> import tensorflux as tf
            >>> tf.train.GradientDescentOptimizer(0.1).get_slot_names()
            []
        """
        return sorted(self._slots)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The slot variable ``name`` (e.g. 'momentum') created for ``var``, or None.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable([1.0])
            >>> opt = tf.train.AdagradOptimizer(0.1)
            >>> _ = opt.minimize(tf.reduce_sum(w * w))
            >>> opt.get_slot(w, "accumulator").name
            'Variable/Adagrad:0'
        """
        named = self._slots.get(name)
        return None if named is None else named.get(_var_key(var))

    def variables(self) -> list[Variable]:
        """Every variable this optimizer created (slots and accumulators such as Adam's beta powers), by name.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable(1.0, name="w")
            >>> opt = tf.train.AdamOptimizer()
            >>> _ = opt.minimize(w * w)
            >>> [v.name for v in opt.variables()]
            ['beta1_power:0', 'beta2_power:0', 'w/Adam:0', 'w/Adam_1:0']
        """
        out = [v for named in self._slots.values() for v in named.values()] + list(self._non_slots.values())
        return sorted(out, key=lambda v: v.name)

    def _get_or_make_slot(self, var: Variable, initial_value: Any, slot_name: str, op_name: str) -> Variable:
        """The slot ``slot_name`` of ``var``, created as ``<var name>/<op_name>`` beside it on first use.

        ``initial_value`` is a callable returning the initial tensor (or a value), built in the slot's scope.
        """
        named = self._slots.setdefault(slot_name, {})
        key = _var_key(var)
        if key not in named:
            named[key] = _beside(var, initial_value, f"{var.op.name}/{op_name}")
        return named[key]

    def _zeros_slot(self, var: Variable, slot_name: str, op_name: str) -> Variable:
        return self._filled_slot(var, 0.0, slot_name, op_name)

    def _filled_slot(self, var: Variable, value: float, slot_name: str, op_name: str) -> Variable:
        """A slot shaped like ``var`` and filled with ``value`` (the variable's shape must be fully defined)."""
        if not var.shape.is_fully_defined():
            raise ValueError(f"Optimizer '{self._name}' needs the shape of variable '{var.name}' to be fully defined to "
                             f"create its '{slot_name}' slot, got {var.shape}")
        dims = np.array(var.shape.as_list(), dtype=np.int32)
        return self._get_or_make_slot(var, lambda: array_ops.fill(dims, np.array(value, dtype=var.dtype.np_dtype)),
                                      slot_name, op_name)

    def _create_non_slot_variable(self, initial_value: Any, name: str, colocate_with: Variable) -> Variable:
        """One variable per graph for this optimizer (such as Adam's beta1_power), beside ``colocate_with``."""
        key = (name, colocate_with.graph)
        if key not in self._non_slots:
            self._non_slots[key] = _beside(colocate_with, initial_value, name)
        return self._non_slots[key]

    def _get_non_slot_variable(self, name: str, graph: Any) -> Variable | None:
        return self._non_slots.get((name, graph))

    # -- hyperparameters ------------------------------------------------------------------------
    def _set_hyper(self, name: str, value: Any) -> None:
        """Record a hyperparameter: a Python number, a tensor (e.g. a placeholder) or a Variable."""
        if not isinstance(value, (int, float, Tensor, Variable)) and not callable(value):
            raise TypeError(f"Optimizer '{self._name}': hyperparameter {name} must be a number, a tensor or a "
                            f"callable, got {type(value).__name__} {value!r}")
        self._hypers[name] = value

    def _get_hyper(self, name: str, dtype: Any) -> Tensor:
        """Hyperparameter ``name`` as a scalar tensor of ``dtype``, built once per apply_gradients call.

        Python numbers become constants of ``dtype`` directly (no float32 rounding for float64
        variables); tensors are cast.
        """
        dtype = _dtypes.as_dtype(dtype)
        key = (name, dtype)
        if key not in self._hyper_tensors:
            value = self._hypers[name]
            if callable(value) and not isinstance(value, (Tensor, Variable)):
                value = value()
            if isinstance(value, (Tensor, Variable)):
                t = math_ops.cast(value, dtype)
            else:
                t = array_ops.constant(value, dtype=dtype, name=name)
            self._hyper_tensors[key] = t
        return self._hyper_tensors[key]

    # -- what subclasses implement ----------------------------------------------------------------
    def _create_slots(self, var_list: list) -> None:
        """Create the slots (and non-slot variables) for ``var_list``."""

    def _prepare(self) -> None:
        """Build per-call tensors before the updates (inside the optimizer's name scope)."""

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        """One variable's update: the optimizer's update op, or composed from basic ops when ``fused=False``."""
        if self._fused_op_for(var) is not None and self._fused is not False:
            return self._apply_fused(grad, var)
        return self._apply_composed(grad, var)

    def _apply_sparse_duplicate_indices(self, grad: IndexedSlices, var: Variable) -> Any:
        """One variable's update from a sparse gradient: duplicate indices are summed first, then ``_apply_sparse``."""
        values, indices = _deduplicate_indexed_slices(grad.values, grad.indices)
        return self._apply_sparse(IndexedSlices(values, indices, grad.dense_shape), var)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        """One variable's update from a sparse gradient whose indices are distinct: only those rows change."""
        raise NotImplementedError(f"{type(self).__name__} has no sparse update (_apply_sparse) for the IndexedSlices "
                                  f"gradient of variable '{var.name}'; pass tf.convert_to_tensor(grad) to update densely")

    def _apply_fused(self, grad: Tensor, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no fused update")

    def _apply_composed(self, grad: Tensor, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _apply_composed (or _apply_dense)")

    def _finish(self, update_ops: list, name_scope: str) -> Operation:
        """Group the updates into the training op (named ``name_scope``)."""
        return state_ops.group(*update_ops, name=name_scope)

    # -- fused-kernel selection -------------------------------------------------------------------
    def _fused_op_for(self, var: Variable) -> str | None:
        return self._fused_op

    def _apply_op(self, op_type: str, var: Variable, *args: Any, **attrs: Any) -> Tensor:
        """Run fused update ``op_type`` on ``var``; Variables among ``args`` (slots) are passed by reference."""
        refs = [a._ref if isinstance(a, Variable) else a for a in args]
        if is_resource_variable(var):
            # TF's Resource* form, which has no output: the update's result is a read of the variable after it.
            update = op_without_outputs("Resource" + op_type, var._ref, *refs, use_locking=self._use_locking, **attrs)
            with var.graph.control_dependencies([update]):
                return var.read_value()
        return apply_op(op_type, var._ref, *refs, use_locking=self._use_locking, **attrs)[0]

    def _checked_pair(self, g: Any, v: Any) -> tuple:
        if not isinstance(v, Variable):
            raise TypeError(f"apply_gradients expects (gradient, tf.Variable) pairs, got variable {v!r}")
        if g is None:
            return None, v
        if isinstance(g, IndexedSlices):
            if g.dtype is not v.dtype:
                raise TypeError(f"The IndexedSlices gradient '{g.name}' for variable '{v.name}' is {g.dtype.name}, but "
                                f"the variable is {v.dtype.name}")
            return g, v
        g = convert_to_tensor(g, dtype=v.dtype) if not isinstance(g, Tensor) else g
        if g.dtype is not v.dtype:
            raise TypeError(f"The gradient '{g.name}' for variable '{v.name}' is {g.dtype.name}, but the variable is "
                            f"{v.dtype.name}")
        if not v.shape.is_compatible_with(g.shape):
            raise ValueError(f"The gradient '{g.name}' for variable '{v.name}' has shape {g.shape}, but the variable has "
                             f"shape {v.shape}")
        return g, v


def _check_optimizer_class(name: str, cls: Any, plugin: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise TypeError(f"plugin '{plugin}' registers optimizer '{name}' as {cls!r}, but an optimizer must "
                        "be a subclass of tensorflux.train.Optimizer")


# The registry sits below this module; registrations are checked against the class defined here.
OPTIMIZERS.validate = _check_optimizer_class


def _beside(var: Variable, initial_value: Any, name: str) -> Variable:
    """A non-trainable variable named ``name`` at the graph's root scope, on ``var``'s device, outside any
    control dependencies."""
    graph = var.graph
    with graph.as_default(), graph.name_scope(None), graph.control_dependencies(None), graph.device(var.device or None):
        if is_resource_variable(var):  # TF's resource updates take every slot as a handle
            return ResourceVariable._create(initial_value, name, dtype=var.dtype)
        return Variable(initial_value, trainable=False, name=name, dtype=var.dtype)


def _deduplicate_indexed_slices(values: Tensor, indices: Tensor) -> tuple:
    """``(summed_values, unique_indices)``: the rows of ``values`` at equal indices summed, as TF does."""
    unique_indices, positions = sparse_ops.unique(indices)
    summed = sparse_ops.unsorted_segment_sum(values, positions, array_ops.shape(unique_indices)[0])
    return summed, unique_indices


def _var_key(var: Variable) -> Any:
    return var.op


def _name_of(t: Any) -> str:
    return getattr(t, "name", repr(t))


def list_optimizers() -> list[str]:
    """The names of every registered optimizer, built-in and from installed plugins, sorted.

    Example:
        >>> import tensorflux as tf
        >>> {"adam", "gradient_descent", "momentum"} <= set(tf.train.list_optimizers())
        True
    """
    return OPTIMIZERS.names()


def get_optimizer(name: str) -> type:
    """The optimizer class registered as ``name`` (case-insensitive); KeyError lists the known names.

    Example:
        >>> import tensorflux as tf
        >>> opt = tf.train.get_optimizer("adam")(learning_rate=0.01)
        >>> opt.get_name()
        'Adam'
    """
    return OPTIMIZERS.get(name)
