"""Constant folding: a pure node whose inputs are all constants runs once, when the plan is compiled.

Its outputs become constants of the plan (read-only, so a fetch copies them and no kernel writes into
them). Only nodes on host-memory devices are folded, and only results up to ``MAX_BYTES``; a node
whose kernel raises, or returns a value the graph did not promise (another dtype, or a shape its
static shape rules out), is left in the plan, so the error surfaces at run time, naming the op and plugin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..value_checks import mismatch
from .plan import Node, PassContext, Ref

# Results larger than this stay computed at run time (as TF's constant folding limits them).
MAX_BYTES = 10 << 20


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.flags.writeable:
        value = value.view()
        value.setflags(write=False)
    return value


def _small(value: Any) -> bool:
    return not isinstance(value, np.ndarray) or value.nbytes <= MAX_BYTES


def _as_promised(value: Any, key: Any) -> bool:
    dtype = getattr(getattr(key, "dtype", None), "np_dtype", None)
    return dtype is None or mismatch(value, dtype, key.shape._dims) is None


def run(nodes: list, ctx: PassContext) -> list:
    """Replace every foldable node by constant nodes holding its outputs.

    Example:
        >>> run([], PassContext(None, set()))
        []
    """
    constants: dict = {}
    kept = []
    for node in nodes:
        if node.kind == "const":
            constants[node.outputs[0]] = node.value
            kept.append(node)
            continue
        foldable = (node.kind == "kernel" and node.pure and node.inputs and node.device is not None
                    and node.device.host_memory and all(not isinstance(k, Ref) and k in constants for k in node.inputs))
        if not foldable:
            kept.append(node)
            continue
        try:
            with np.errstate(all="ignore"):
                result = node.fn(*[constants[k] for k in node.inputs])
            values = list(result) if node.multi else [result]
        except Exception:  # noqa: BLE001 - left to fail at run time, with the usual error
            kept.append(node)
            continue
        # A result that breaks the graph's promise stays a run-time step, whose check names the kernel's plugin.
        if (len(values) != len(node.outputs) or not all(_small(v) for v in values)
                or not all(_as_promised(v, key) for v, key in zip(values, node.outputs))):
            kept.append(node)
            continue
        for key, value in zip(node.outputs, values):
            if key is None:
                continue
            value = _freeze(value)
            constants[key] = value
            kept.append(Node(node.op, "const", node.device, node.kdef, None, [], [key], value=value))
    return kept
