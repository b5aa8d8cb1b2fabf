"""Core's own plugin: it registers core's op definitions through the same hooks third parties use."""

from __future__ import annotations

from ..hookspec import CONTRACT_VERSION, hookimpl
from .ops import array_ops, math_ops, random_ops, state_ops  # noqa: F401 - each defines its op family
from .ops.common import CORE_OP_DEFS

TENSORFLUX_CONTRACT = CONTRACT_VERSION


@hookimpl
def tensorflux_register_ops(registrar) -> None:
    for op_def in CORE_OP_DEFS:
        registrar.op(op_def)
