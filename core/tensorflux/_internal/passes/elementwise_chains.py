"""Elementwise chains: consecutive elementwise nodes on one host-memory device become one step.

Each node of a chain reads the previous one's output as its only reader (``x + 1 + 1 ...``,
``relu(a * b)``); the step calls the kernels in turn. That saves the per-step slot traffic, and each
kernel that accepts ``donated`` may write into the previous result when nobody else holds it. An
error still names the op whose kernel raised. The fusion pass (``fusion.run``) runs this last.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .plan import Node, PassContext, consumers

ELEMENTWISE = frozenset({
    "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "Pow", "FloorDiv", "FloorMod",
    "Neg", "Abs", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Log1p", "Sign", "Reciprocal", "Floor", "Ceil", "Round",
    "Relu", "Relu6", "Elu", "Softplus", "Sigmoid", "Tanh", "BiasAdd", "Cast",
})
# Results smaller than this are not worth writing into: a fresh array costs less than the checks.
DONATE_MIN_BYTES = 1 << 16


def _refs_in_stage(value: Any, args: list) -> int:
    return sys.getrefcount(value)


def _sole_refs() -> int:
    value = np.empty(1)
    args = [value]
    return _refs_in_stage(value, args)


_SOLE = _sole_refs()  # the references of a value held only by the chain's local variable and argument list


class ElementwiseChain:
    """One step running several kernels in turn, each on the previous one's result.

    ``stages`` are ``(kernel, argument map, donated position or -1, op)``; an argument map entry is an
    index into the chain's inputs, or -1 for the previous stage's result. ``plugins`` names each stage's
    kernel's plugin: an error names the one that raised, and ``plugin`` (the last stage's) is the one
    whose result the executor checks against the graph's promise.

    Example:
        >>> import numpy as np
        >>> ElementwiseChain([(np.negative, [0], -1, None), (np.add, [-1, 0], -1, None)])(np.ones(2)).tolist()
        [0.0, 0.0]
    """

    __slots__ = ("stages", "_compiled", "plugins", "plugin")

    def __init__(self, stages: list, plugins: list | None = None) -> None:
        self.stages = stages
        self.plugins = plugins or [""] * len(stages)
        self.plugin = self.plugins[-1] if self.plugins else ""
        compiled = []
        for fn, argmap, donate, op in stages:
            # Common shapes get a direct call: f(prev), f(prev, input j), f(input j, prev).
            if argmap == [-1]:
                shape, j = 1, 0
            elif len(argmap) == 2 and argmap[0] == -1 and argmap[1] >= 0:
                shape, j = 2, argmap[1]
            elif len(argmap) == 2 and argmap[1] == -1 and argmap[0] >= 0:
                shape, j = 3, argmap[0]
            else:
                shape, j = 0, 0
            compiled.append((fn, shape, j, argmap, donate, op))
        self._compiled = compiled

    def __call__(self, *inputs: Any) -> Any:
        value = None
        op = None
        index = -1
        try:
            for index, stage in enumerate(self._compiled):  # noqa: B007 - the handler reads it
                fn, shape, j, argmap, donate, op = stage
                if (donate >= 0 and type(value) is np.ndarray and value.nbytes >= DONATE_MIN_BYTES
                        and value.base is None and value.flags.writeable):
                    args = [value if k < 0 else inputs[k] for k in argmap]
                    if _refs_in_stage(value, args) <= _SOLE:
                        value = fn(*args, donated=(donate,))
                        continue
                    value = fn(*args)
                elif shape == 2:
                    value = fn(value, inputs[j])
                elif shape == 3:
                    value = fn(inputs[j], value)
                elif shape == 1:
                    value = fn(value)
                else:
                    value = fn(*[value if k < 0 else inputs[k] for k in argmap])
        except Exception as exc:
            exc.tensorflux_op = op  # the executor names this op, and its kernel's plugin, in the error
            if 0 <= index < len(self.plugins) and self.plugins[index]:
                exc.tensorflux_plugin = self.plugins[index]
            raise
        return value


def _chainable(node: Node) -> bool:
    return (node.kind == "kernel" and node.pure and not node.multi and len(node.outputs) == 1
            and node.op is not None and node.op.type in ELEMENTWISE and node.device is not None
            and node.device.host_memory)


def chains(nodes: list, ctx: PassContext) -> list:
    """``nodes`` with each run of chainable elementwise nodes (see the module) replaced by one step.

    Example:
        >>> chains([], PassContext(None, set()))
        []
    """
    counts = consumers(nodes)
    out: list = []
    chain: list = []  # kernel nodes of the chain being built; const nodes in between go to ``out`` directly

    def flush() -> None:
        if len(chain) > 1:
            out.append(_fuse_chain(chain))
        elif chain:
            out.append(chain[0])
        chain.clear()

    for node in nodes:
        if node.kind == "const":
            out.append(node)
            continue
        if chain and _chainable(node) and node.device is chain[-1].device:
            prev = chain[-1].outputs[0]
            if (prev is not None and prev not in ctx.keep and counts.get(prev) == 1
                    and node.inputs.count(prev) == 1):
                chain.append(node)
                continue
        flush()
        if _chainable(node):
            chain.append(node)
        else:
            out.append(node)
    flush()
    return out


def _fuse_chain(chain: list) -> Node:
    inputs: list = []
    stages = []
    plugins = []
    for i, node in enumerate(chain):
        prev = chain[i - 1].outputs[0] if i else None
        argmap, donate = [], -1
        for pos, key in enumerate(node.inputs):
            if key is prev and prev is not None:
                argmap.append(-1)
                if node.kdef is not None and node.kdef.wants_donated:
                    donate = pos
                continue
            if key not in inputs:
                inputs.append(key)
            argmap.append(inputs.index(key))
        stages.append((node.fn, argmap, donate, node.op))
        plugins.append((node.kdef.plugin or "core") if node.kdef is not None else "")
    last = chain[-1]
    return Node(last.op, "kernel", last.device, None, ElementwiseChain(stages, plugins), inputs,
                [last.outputs[0]])
