"""Helpers shared by core's op-family modules: the family that defines them, and common shape functions."""

from __future__ import annotations

from typing import Any

from ..op_family import OpFamily
from ..shapes import TensorShape, broadcast_shapes

# Core's ops, all families, in definition order; core's built-in plugin registers them. Third-party plugins
# define theirs with their own OpFamily (tensorflux.extend.OpFamily) the same way.
CORE_OPS = OpFamily()
define = CORE_OPS.define
gradient = CORE_OPS.gradient
not_differentiable = CORE_OPS.not_differentiable


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
