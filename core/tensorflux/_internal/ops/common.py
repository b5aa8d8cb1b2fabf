"""Helpers shared by the op-family modules: op definition and common shape functions."""

from __future__ import annotations

import sys
from typing import Any, Callable

from ..registry import OpDef
from ..shapes import TensorShape, broadcast_shapes

# Every OpDef core defines, in definition order; core's built-in plugin registers them.
CORE_OP_DEFS: list[OpDef] = []
_BY_NAME: dict[str, OpDef] = {}


def define(name: str, inputs: list, outputs: list, attrs: dict | None = None, shape: Callable | None = None,
           stateful: bool = False, differentiable: bool = True, doc: str = "") -> OpDef:
    """Define a core op; its gradient is attached later with :func:`gradient` in the same module."""
    caller = sys._getframe(1)  # the op-family module, so a duplicate registration names its line
    op_def = OpDef(name=name, inputs=inputs, outputs=outputs, attrs=attrs or {}, shape_fn=shape,
                   stateful=stateful, differentiable=differentiable, doc=doc,
                   source=f"{caller.f_code.co_filename}:{caller.f_lineno}")
    CORE_OP_DEFS.append(op_def)
    _BY_NAME[name] = op_def
    return op_def


def core_op_def(name: str) -> OpDef:
    return _BY_NAME[name]


def gradient(*op_names: str) -> Callable:
    """Attach a gradient function to core ops, next to their definitions.

    The function is called as ``grad_fn(op, *output_grads)`` and returns one gradient (or None)
    per input of ``op``, in input order.
    """

    def attach(fn: Callable) -> Callable:
        for name in op_names:
            _BY_NAME[name].grad = fn
        return fn

    return attach


def not_differentiable(*op_names: str) -> None:
    """Mark core ops as having no gradient (their inputs get None)."""
    for name in op_names:
        _BY_NAME[name].differentiable = False


def same_shape(op: Any) -> TensorShape:
    return op.inputs[0].shape


def broadcast_shape(op: Any) -> TensorShape:
    a, b = op.inputs[0].shape, op.inputs[1].shape
    out = broadcast_shapes(a, b)
    if out is None:
        raise ValueError(f"Dimensions must be compatible for broadcasting, but got shapes {a} and {b}")
    return out


def scalar_shape(op: Any) -> TensorShape:
    return TensorShape([])


def normalize_axis(axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"{what} {axis} is out of range for a tensor of rank {rank}")
    return axis % rank if rank else 0
