"""Common-subexpression elimination: pure nodes with the same op, attributes, device and inputs run once.

A node is pure when its op is not stateful, it has no ref inputs and its kernel asks for no context
(random ops, variables and assignments all do). Constants are merged by value. The later duplicate
is dropped and its outputs become aliases of the first node's outputs. Identities (``Identity``,
``StopGradient``: their value is their input) are dropped the same way, their output an alias of
their input; a variable's value is still read where the identity stood, since its read node is
placed there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .plan import Node, PassContext

IDENTITIES = frozenset({"Identity", "StopGradient"})
# Constants larger than this are not compared by value.
_MAX_CONST_BYTES = 1 << 16


def freeze(value: Any) -> Any:
    """A hashable stand-in for an attribute value, equal exactly when the values are equal.

    Example:
        >>> freeze([1, 2]) == freeze((1, 2))
        True
    """
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype == object:
            return ("obj", arr.shape, tuple(freeze(v) for v in arr.reshape(-1).tolist()))
        return ("nd", arr.dtype.str, arr.shape, arr.tobytes())
    if isinstance(value, float):  # NaN never equals anything; -0.0 and 0.0 differ
        return ("nan", id(value)) if value != value else ("float", value.hex())
    try:
        hash(value)
    except TypeError:
        return ("repr", type(value).__name__, repr(value))
    return (type(value).__name__, value)


def _key(node: Node) -> Any:
    if node.kind == "const":
        value = node.value
        if not isinstance(value, (np.ndarray, np.generic)) or np.asarray(value).nbytes > _MAX_CONST_BYTES:
            return None
        return ("const", id(node.device), freeze(value))
    if node.kind != "kernel" or not node.pure:
        return None
    attrs = tuple(sorted((k, freeze(v)) for k, v in node.op.attrs.items()))
    return (node.op.type, id(node.device), id(node.kdef), attrs, tuple(node.inputs))


def run(nodes: list, ctx: PassContext) -> list:
    """Drop every pure node that repeats an earlier one, aliasing its outputs to the earlier outputs.

    Example:
        >>> run([], PassContext(None, set()))
        []
    """
    seen: dict = {}
    kept = []
    for node in nodes:
        node.inputs = [ctx.resolve(k) for k in node.inputs]
        if (node.kind == "kernel" and node.pure and node.op.type in IDENTITIES and len(node.inputs) == 1
                and node.outputs[0] is not None):
            ctx.replace(node.outputs[0], node.inputs[0])
            continue
        try:
            key = _key(node)
        except Exception:  # noqa: BLE001 - an attribute that cannot be compared is simply not merged
            key = None
        first = seen.get(key) if key is not None else None
        if first is None or len(first.outputs) != len(node.outputs) or first.multi != node.multi:
            if key is not None:
                seen[key] = node
            kept.append(node)
            continue
        for old, new in zip(node.outputs, first.outputs):
            if old is None:
                continue
            if new is None:  # the first node drops this output, the duplicate's readers need it
                kept.append(node)
                break
            ctx.replace(old, new)
    return kept
