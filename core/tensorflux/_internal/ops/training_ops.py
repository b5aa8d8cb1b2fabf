"""Fused optimizer updates: each op updates a variable and its slots in one kernel, on the variable's device.

The inputs marked ``ref`` are variables (the kernel receives their ``VariableSlot``); ``grad`` (or
``delta``) has the variable's shape and every other input is a scalar. The output is the variable's
new value. Optimizers use one of these ops when the variable's device has a kernel for it, and
otherwise compose the same update from basic ops, so a device plugin may provide them but need not.
The formulas are TF's; see each optimizer's module.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..shapes import TensorShape
from .common import define

_SHAPED_LIKE_VAR = ("grad", "delta")


def _apply_shape(op: Any) -> TensorShape:
    var = op.inputs[0]
    shape = var.shape
    for spec, t in zip(op.op_def.input_specs[1:], op.inputs[1:]):
        if spec.is_ref or spec.name in _SHAPED_LIKE_VAR:
            if not shape.is_compatible_with(t.shape):
                raise ValueError(f"{spec.name} '{t.name}' has shape {t.shape}, but variable '{var.op.name}' has shape "
                                 f"{var.shape}")
            shape = shape.merge_with(t.shape)
        elif t.shape.rank not in (None, 0):
            raise ValueError(f"{spec.name} '{t.name}' must be a scalar, got shape {t.shape}")
    return shape


def _define_apply(name: str, inputs: list, **extra_attrs: Any) -> None:
    attrs = {"T": ("type", None, dt.FLOATING), "use_locking": ("bool", False), **extra_attrs}
    define(name, inputs, ["out: T"], attrs, shape=_apply_shape, stateful=True, differentiable=False)


_define_apply("ApplyGradientDescent", ["var: ref T", "alpha: T", "delta: T"])
_define_apply("ApplyMomentum", ["var: ref T", "accum: ref T", "lr: T", "grad: T", "momentum: T"],
              use_nesterov=("bool", False))
_define_apply("ApplyAdam", ["var: ref T", "m: ref T", "v: ref T", "beta1_power: T", "beta2_power: T", "lr: T",
                            "beta1: T", "beta2: T", "epsilon: T", "grad: T"], use_nesterov=("bool", False))
# Internal: made by the fusion graph pass from an ApplyAdam whose gradient is a MatMul that nothing else
# reads (a dense layer's weights): the product is computed in row blocks, each applied while in cache.
define("_MatMulApplyAdam", ["var: ref T", "m: ref T", "v: ref T", "beta1_power: T", "beta2_power: T", "lr: T",
                            "beta1: T", "beta2: T", "epsilon: T", "a: T", "b: T"], ["out: T"],
       {"T": ("type", None, dt.FLOATING), "use_locking": ("bool", False), "use_nesterov": ("bool", False),
        "transpose_a": ("bool", False), "transpose_b": ("bool", False)},
       shape=lambda op: op.inputs[0].shape, stateful=True, differentiable=False,
       doc="ApplyAdam with grad = matmul(a, b, transpose_a, transpose_b) (graph-pass internal).")
_define_apply("ApplyAdagrad", ["var: ref T", "accum: ref T", "lr: T", "grad: T"], update_slots=("bool", True))
_define_apply("ApplyRMSProp", ["var: ref T", "ms: ref T", "mom: ref T", "lr: T", "rho: T", "momentum: T", "epsilon: T",
                               "grad: T"])
_define_apply("ApplyCenteredRMSProp", ["var: ref T", "mg: ref T", "ms: ref T", "mom: ref T", "lr: T", "rho: T",
                                       "momentum: T", "epsilon: T", "grad: T"])
