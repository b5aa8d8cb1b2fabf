"""TF's resource-variable ops, with TF's names, arguments and attributes, for graphs TF wrote with resource variables.

TF 2's ``tf.compat.v1`` makes every variable a resource variable unless told otherwise: a ``VarHandleOp`` gives a
handle (a ``resource`` value), ``ReadVariableOp`` reads through it and ``AssignVariableOp``, the ``ResourceApply*``
updates and the scatter ops write through it. A handle refers to the variable's slot in the running session
(``resource_kernels.py``), the same slot a ``VariableV2`` of that name has, so ``Saver`` and ``sess.run`` see one
state. Our own variables stay ``VariableV2``; these ops exist so that a meta graph or GraphDef TF wrote runs here.
Reads order against writes only through control dependencies, as in TF's graph mode.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..graph import Tensor
from ..shapes import TensorShape
from .common import define, not_differentiable, scalar_shape

_IDX = (dt.int32, dt.int64)


def handle_shape(handle: Tensor) -> TensorShape:
    """The shape of the variable ``handle`` refers to, where its ``VarHandleOp`` can be seen; else unknown.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.op_builder import apply_op
        >>> h = apply_op("VarHandleOp", dtype=tf.float32, shape=[2, 3], shared_name="w", name="w")[0]
        >>> handle_shape(h).as_list()
        [2, 3]
    """
    op = handle.op
    while op.type in ("Identity", "Snapshot") and op.inputs:
        op = op.inputs[0].op
    return op.attrs["shape"] if op.type == "VarHandleOp" else TensorShape(None)


def _checked(op: Any, value: TensorShape, what: str) -> None:
    var = handle_shape(op.inputs[0])
    if not var.is_compatible_with(value):
        raise ValueError(f"{op.type} '{op.name}': {what} of shape {value} does not fit variable "
                         f"'{op.inputs[0].op.name}' of shape {var}")


def _assign_shape(op: Any) -> list:
    if op.attrs["validate_shape"]:
        _checked(op, op.inputs[1].shape, "value")
    return []


def _update_shape(op: Any) -> list:
    _checked(op, op.inputs[1].shape, "value")
    return []


def _gather_shape(op: Any) -> TensorShape:
    var, indices = handle_shape(op.inputs[0]), op.inputs[1].shape
    if var.rank is None or indices.rank is None:
        return TensorShape(None)
    b = op.attrs["batch_dims"]
    b = b + indices.rank if b < 0 else b
    if not 0 <= b <= indices.rank or b >= var.rank:
        raise ValueError(f"ResourceGather '{op.name}': batch_dims={op.attrs['batch_dims']} must be in "
                         f"[-{indices.rank}, {indices.rank}] and below the rank {var.rank} of variable "
                         f"'{op.inputs[0].op.name}'")
    return TensorShape(list(indices.dims) + list(var.dims[b + 1:]))


def _scatter_shape(op: Any) -> list:
    var, indices, updates = handle_shape(op.inputs[0]), op.inputs[1].shape, op.inputs[2].shape
    if var.rank is not None and indices.rank is not None and updates.rank not in (None, 0):
        want = TensorShape(list(indices.dims) + list(var.dims[1:]))
        if not want.is_compatible_with(updates):
            raise ValueError(f"{op.type} '{op.name}': updates of shape {updates} do not fit indices of shape {indices} "
                             f"into variable '{op.inputs[0].op.name}' of shape {var}; expected {want}")
    return []


def _apply_shape(op: Any) -> list:
    # Dense updates: ``grad``/``delta`` shaped as the variable, every other non-handle input a scalar.
    var = handle_shape(op.inputs[0])
    for spec, t in zip(op.op_def.input_specs[1:], op.inputs[1:]):
        if spec.name in ("grad", "delta"):
            if not var.is_compatible_with(t.shape):
                raise ValueError(f"{op.type} '{op.name}': {spec.name} '{t.name}' has shape {t.shape}, but variable "
                                 f"'{op.inputs[0].op.name}' has shape {var}")
        elif spec.type_spec != "resource" and spec.name != "indices" and t.shape.rank not in (None, 0):
            raise ValueError(f"{op.type} '{op.name}': {spec.name} '{t.name}' must be a scalar, got shape {t.shape}")
    return []


define("VarHandleOp", [], ["resource: resource"],
       {"dtype": "type", "shape": "shape", "container": ("string", ""), "shared_name": ("string", ""),
        "debug_name": ("string", ""), "allowed_devices": ("list(string)", [])},
       shape=scalar_shape, stateful=True, doc="A handle to the variable named by this op, in the running session.")
define("ReadVariableOp", ["resource: resource"], ["value: dtype"], {"dtype": "type"},
       shape=lambda op: handle_shape(op.inputs[0]), stateful=True, doc="The variable's current value.")
define("AssignVariableOp", ["resource: resource", "value: dtype"], [], {"dtype": "type", "validate_shape": ("bool", False)},
       shape=_assign_shape, stateful=True, doc="Set the variable to ``value``.")
define("AssignAddVariableOp", ["resource: resource", "value: dtype"], [], {"dtype": "type"}, shape=_update_shape,
       stateful=True, doc="Add ``value`` to the variable.")
define("AssignSubVariableOp", ["resource: resource", "value: dtype"], [], {"dtype": "type"}, shape=_update_shape,
       stateful=True, doc="Subtract ``value`` from the variable.")
define("VarIsInitializedOp", ["resource: resource"], ["is_initialized: bool"], {}, shape=scalar_shape, stateful=True,
       doc="Whether the variable has a value in the running session.")
define("VariableShape", ["input: resource"], ["output: out_type"], {"out_type": ("type", dt.int32, _IDX)},
       shape=lambda op: TensorShape([handle_shape(op.inputs[0]).rank]), stateful=True,
       doc="The variable's shape, as a vector.")
define("DestroyResourceOp", ["resource: resource"], [], {"ignore_lookup_error": ("bool", True)},
       shape=lambda op: [], stateful=True, doc="Forget the variable's value in the running session.")
define("ResourceGather", ["resource: resource", "indices: Tindices"], ["output: dtype"],
       {"dtype": "type", "Tindices": ("type", None, _IDX), "batch_dims": ("int", 0), "validate_indices": ("bool", True)},
       shape=_gather_shape, stateful=True, doc="Rows ``indices`` of the variable.")
for _name, _what in (("ResourceScatterAdd", "Add ``updates`` to"), ("ResourceScatterSub", "Subtract ``updates`` from"),
                     ("ResourceScatterUpdate", "Set")):
    define(_name, ["resource: resource", "indices: Tindices", "updates: dtype"], [],
           {"dtype": "type", "Tindices": ("type", None, _IDX)}, shape=_scatter_shape, stateful=True,
           doc=f"{_what} the variable's rows ``indices``.")


def _define_apply(name: str, inputs: list, **extra: Any) -> None:
    attrs = {"T": ("type", None, dt.FLOATING), "use_locking": ("bool", False), **extra}
    if any(i.startswith("indices") for i in inputs):
        attrs["Tindices"] = ("type", None, _IDX)
    define(name, inputs, [], attrs, shape=_apply_shape, stateful=True, doc=f"{name[8:]} on resource variables.")


_R = "resource"
_define_apply("ResourceApplyGradientDescent", [f"var: {_R}", "alpha: T", "delta: T"])
_define_apply("ResourceApplyMomentum", [f"var: {_R}", f"accum: {_R}", "lr: T", "grad: T", "momentum: T"],
              use_nesterov=("bool", False))
_define_apply("ResourceApplyAdam", [f"var: {_R}", f"m: {_R}", f"v: {_R}", "beta1_power: T", "beta2_power: T", "lr: T",
                                    "beta1: T", "beta2: T", "epsilon: T", "grad: T"], use_nesterov=("bool", False))
_define_apply("ResourceApplyAdagrad", [f"var: {_R}", f"accum: {_R}", "lr: T", "grad: T"], update_slots=("bool", True))
_define_apply("ResourceApplyRMSProp", [f"var: {_R}", f"ms: {_R}", f"mom: {_R}", "lr: T", "rho: T", "momentum: T",
                                       "epsilon: T", "grad: T"])
_define_apply("ResourceApplyCenteredRMSProp", [f"var: {_R}", f"mg: {_R}", f"ms: {_R}", f"mom: {_R}", "lr: T", "rho: T",
                                               "momentum: T", "epsilon: T", "grad: T"])
# Sparse updates: ``grad`` holds the rows ``indices`` (distinct) of the variable's gradient.
_define_apply("ResourceSparseApplyMomentum", [f"var: {_R}", f"accum: {_R}", "lr: T", "grad: T", "indices: Tindices",
                                              "momentum: T"], use_nesterov=("bool", False))
_define_apply("ResourceSparseApplyAdagrad", [f"var: {_R}", f"accum: {_R}", "lr: T", "grad: T", "indices: Tindices"],
              update_slots=("bool", True))

RESOURCE_OPS = ("VarHandleOp", "ReadVariableOp", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
                "VarIsInitializedOp", "VariableShape", "DestroyResourceOp", "ResourceGather", "ResourceScatterAdd",
                "ResourceScatterSub", "ResourceScatterUpdate", "ResourceApplyGradientDescent", "ResourceApplyMomentum",
                "ResourceApplyAdam", "ResourceApplyAdagrad", "ResourceApplyRMSProp", "ResourceApplyCenteredRMSProp",
                "ResourceSparseApplyMomentum", "ResourceSparseApplyAdagrad")


# No op differentiates into a handle (``resource`` is not a differentiable dtype): tf.gradients with respect to a
# resource variable sums the gradients of its reads, ReadVariableOp and ResourceGather (``gradients.py``), as TF.
not_differentiable(*RESOURCE_OPS)
