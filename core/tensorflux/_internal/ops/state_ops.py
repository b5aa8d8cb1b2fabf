"""Variable storage ops (VariableV2, Assign*) and control-flow grouping ops (NoOp, group, tuple)."""

from __future__ import annotations

import builtins
from typing import Any

from .. import dtypes as dt
from ..graph import Operation, Tensor, get_default_graph
from ..op_builder import apply_op
from ..shapes import TensorShape, broadcast_shapes
from .common import define

define("VariableV2", [], ["ref: ref dtype"],
       {"shape": "shape", "dtype": "type", "container": ("string", ""), "shared_name": ("string", "")},
       shape=lambda op: op.attrs["shape"], stateful=True)


def _assign_shape(op: Any) -> TensorShape:
    ref, value = op.inputs[0].shape, op.inputs[1].shape
    if not op.attrs["validate_shape"]:
        return value
    if not ref.is_compatible_with(value):
        raise ValueError(f"cannot assign a value of shape {value} to variable '{op.inputs[0].op.name}' of shape {ref}")
    return ref.merge_with(value)


def _update_shape(op: Any) -> TensorShape:
    ref, value = op.inputs[0].shape, op.inputs[1].shape
    if broadcast_shapes(ref, value) is None or not ref.is_compatible_with(broadcast_shapes(ref, value)):
        raise ValueError(f"cannot update variable '{op.inputs[0].op.name}' of shape {ref} with a value of shape {value}")
    return ref


define("Assign", ["ref: ref T", "value: T"], ["output: T"],
       {"T": "type", "validate_shape": ("bool", True), "use_locking": ("bool", True)}, shape=_assign_shape,
       stateful=True, differentiable=False)
for _name in ("AssignAdd", "AssignSub"):
    define(_name, ["ref: ref T", "value: T"], ["output: T"],
           {"T": ("type", None, dt.NUMERIC), "use_locking": ("bool", False)}, shape=_update_shape, stateful=True,
           differentiable=False)
define("IsVariableInitialized", ["ref: ref dtype"], ["is_initialized: bool"], {"dtype": "type"},
       shape=lambda op: TensorShape([]), stateful=True, differentiable=False)
define("NoOp", [], [], {}, shape=lambda op: [], differentiable=False)


def no_op(name: str | None = None) -> Operation:
    """An op that does nothing; useful as a target for control dependencies.

    Example:
        >>> import tensorflux as tf
        >>> tf.no_op().type
        'NoOp'
    """
    return apply_op_no_outputs("NoOp", name=name)


def apply_op_no_outputs(op_type: str, name: str | None = None) -> Operation:
    graph = get_default_graph()
    before = len(graph._op_list)
    apply_op(op_type, name=name)
    return graph._op_list[before]


def _as_op(x: Any) -> Operation:
    if isinstance(x, Operation):
        return x
    if isinstance(x, Tensor):
        return x.op
    if hasattr(x, "op") and isinstance(x.op, Operation):
        return x.op
    raise TypeError(f"Expected an Operation or Tensor, got {x!r}")


def group(*inputs: Any, name: str | None = None) -> Operation:
    """An op that runs after all ``inputs`` (ops or tensors) and produces nothing.

    Example:
        >>> import tensorflux as tf
        >>> a, b = tf.no_op(), tf.no_op()
        >>> [o.name for o in tf.group(a, b).control_inputs]
        ['NoOp', 'NoOp_1']
    """
    flat: list = []
    for i in inputs:
        flat.extend(i if isinstance(i, (list, builtins.tuple)) else [i])
    graph = get_default_graph()
    with graph.control_dependencies([_as_op(x) for x in flat]):
        return no_op(name=name or "group_deps")


def tuple(tensors: list, name: str | None = None, control_inputs: list | None = None) -> list:  # noqa: A001
    """Identities of ``tensors`` that are each available only after all of them are computed.

    Example:
        >>> import tensorflux as tf
        >>> a, b = tf.tuple([tf.constant(1), tf.constant(2)])
        >>> tf.Session().run([a, b])
        [1, 2]
    """
    from .array_ops import identity

    graph = get_default_graph()
    deps = [_as_op(t) for t in tensors if t is not None] + [_as_op(c) for c in (control_inputs or [])]
    with graph.name_scope(name or "tuple"):
        gate = group(*deps)
        with graph.control_dependencies([gate]):
            return [None if t is None else identity(t) for t in tensors]
