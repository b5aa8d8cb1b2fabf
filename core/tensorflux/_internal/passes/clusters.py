"""The ``compile`` pass: runs of pure ops on a device that compiles them become one step (XLA's clusters).

A device that overrides ``Device.compile_segment`` is handed each maximal run of pure kernel nodes placed on
it, as a :class:`Segment`, and returns one callable that replaces them (or None to leave them alone). Other
devices are untouched, and so is a plan with no such device.

A run is not broken by nodes that it does not depend on and that may move without changing a result: a
variable read, a copy or a pure node elsewhere that reads nothing the run computes is hoisted before it (so a
training step's weight reads and input copies do not split it). A node that depends on the run, or any
stateful node met while a run is open, is deferred after it, with everything that depends on it; a node of
the run that depends on a deferred one closes the run. Data, control and variable dependencies are kept:
nothing is hoisted past a deferred node that writes a variable it touches, and stateful nodes keep their
order among themselves. A control-flow op whose functions have side effects closes the run before it: the
variables it writes are not among its inputs, so nothing may move past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..data import tokens
from ..devices import Device
from .plan import Node, PassContext, Ref


@dataclass
class SegmentNode:
    """One op of a segment: its graph ``op``, its kernel ``fn`` bound to the op's attributes, the value indices
    of its inputs (``args``) and outputs (``results``, None for an output nobody reads), and whether ``fn``
    returns a tuple (``multi``)."""

    op: Any
    fn: Callable
    args: tuple
    results: tuple
    multi: bool


@dataclass
class Segment:
    """What ``Device.compile_segment`` gets: a run of pure ops over numbered values.

    Values ``0 .. len(inputs) - 1`` are the segment's inputs, in the order its callable receives them; each
    node's outputs get the next numbers. ``tensors[i]`` is the graph tensor value ``i`` holds (its static dtype,
    shape and name; for an input, the tensor it was copied or read from). ``outputs`` lists the values the
    callable returns, in order. ``index`` and ``count`` place the segment among those one plan hands this
    device (a device that reports per run sees a run start at index 0); ``config`` is the session's config.

    Example:
        >>> s = Segment(Device(0), [], [], [], [], 0, 1, None)
        >>> s.num_inputs, s.options
        (0, {})
    """

    device: Device
    nodes: list
    inputs: list  # value keys of the plan (what the executor feeds), one per input value
    tensors: list
    outputs: list
    index: int
    count: int
    config: Any = None
    num_inputs: int = field(init=False)

    def __post_init__(self) -> None:
        self.num_inputs = len(self.inputs)

    @property
    def options(self) -> dict:
        """The session's settings for this device type (``ConfigProto(device_options={type: {...}})``)."""
        found = getattr(self.config, "device_options", None)
        if found is None and isinstance(self.config, dict):
            found = self.config.get("device_options")
        return dict((found or {}).get(self.device.device_type, {}))


def _compiles(device: Any) -> bool:
    return device is not None and type(device).compile_segment is not Device.compile_segment


def _tensor_of(key: Any) -> Any:
    """The graph tensor behind a plan's value key: itself, a variable read's tensor, or what a copy copied."""
    if isinstance(key, tuple):  # a copy: (the value copied, the device copied to)
        key = key[0]
    return getattr(key, "tensor", key)


def _touches(node: Node) -> set:
    """Names of the variables ``node`` reads or writes."""
    names = {k.variable.name for k in node.inputs if isinstance(k, Ref) and k.variable is not None}
    if node.kind == "read" and node.op is not None:
        names.add(node.op.name)
    return names


def _has_effects(node: Node) -> bool:
    """Whether ``node`` is a control-flow op (``If``, ``While``, ``Scan``) whose functions have side effects."""
    op = node.op
    if node.kind != "kernel" or op is None or op.type not in ("If", "While", "Scan"):
        return False
    where = f"op '{op.name}' ({op.type})"
    # The attrs name function_graph.Branch objects by token (not imported here: that module needs the executor).
    return any(tokens.lookup(op.attrs[a], where).effects() for a in ("then_branch", "else_branch", "cond", "body")
               if a in op.attrs)


def _writes(node: Node) -> set:
    return {k.variable.name for k in node.inputs if isinstance(k, Ref) and k.variable is not None}


def run(nodes: list, ctx: PassContext) -> list:
    """Hand each run of pure nodes on a compiling device to it; returns the new node list.

    Example:
        >>> run([], PassContext(None, set()))
        []
    """
    if not any(_compiles(n.device) for n in nodes if n.kind == "kernel" and n.pure):
        return nodes
    items = _group(nodes)
    readers: dict = {}
    for node in nodes:
        for key in node.inputs:
            if not isinstance(key, Ref):
                readers.setdefault(key, set()).add(id(node))
    counts: dict = {}
    for item in items:
        if isinstance(item, list):
            counts[item[0].device] = counts.get(item[0].device, 0) + 1
    seen: dict = {}
    out: list = []
    config = getattr(ctx.session, "config", None)
    for item in items:
        if not isinstance(item, list):
            out.append(item)
            continue
        device = item[0].device
        index = seen.get(device, 0)
        seen[device] = index + 1
        out.extend(_compile(item, index, counts[device], readers, ctx, config))
    return out


def _group(nodes: list) -> list:
    """The node list with each run of compilable nodes as a list (a segment), hoisting and deferring as above."""
    producer = {key: node for node in nodes for key in node.outputs if key is not None}
    by_op = {node.op: node for node in nodes if node.kind == "kernel" and node.op is not None}
    out: list = []
    seg: list = []
    seg_ids: set = set()
    deferred: list = []
    deferred_ids: set = set()
    deferred_writes: set = set()

    def flush() -> None:
        if seg:
            out.append(list(seg))
        out.extend(deferred)
        seg.clear()
        seg_ids.clear()
        deferred.clear()
        deferred_ids.clear()
        deferred_writes.clear()

    for node in nodes:
        if node.kind == "const":
            out.append(node)
            continue
        if seg and _has_effects(node):
            flush()
        deps = {id(producer[k]) for k in node.inputs if not isinstance(k, Ref) and k in producer}
        if node.kind == "kernel" and node.op is not None:
            deps |= {id(by_op[c]) for c in node.op.control_inputs if c in by_op}
        on_deferred = bool(deps & deferred_ids) or bool(_touches(node) & deferred_writes)
        if node.kind == "kernel" and node.pure and _compiles(node.device):
            if seg and (on_deferred or node.device is not seg[0].device):
                flush()
            seg.append(node)
            seg_ids.add(id(node))
            continue
        if not seg:
            out.append(node)
            continue
        movable = node.kind in ("read", "copy") or (node.kind == "kernel" and node.pure)
        if movable and not on_deferred and not deps & seg_ids:
            out.append(node)  # hoisted before the open run
            continue
        deferred.append(node)
        deferred_ids.add(id(node))
        deferred_writes.update(_writes(node))
    flush()
    return out


def _compile(seg: list, index: int, count: int, readers: dict, ctx: PassContext, config: Any) -> list:
    """The segment's replacement node, or its nodes unchanged when the device compiles nothing."""
    inside = {id(n) for n in seg}
    produced = {key for n in seg for key in n.outputs if key is not None}
    inputs: list = []
    for node in seg:
        for key in node.inputs:
            if key not in produced and key not in inputs:
                inputs.append(key)
    value_of = {key: i for i, key in enumerate(inputs)}
    tensors = [_tensor_of(k) for k in inputs]
    snodes = []
    for node in seg:
        results = []
        for key in node.outputs:
            if key is None:
                results.append(None)
                continue
            value_of[key] = len(tensors)
            tensors.append(_tensor_of(key))
            results.append(value_of[key])
        snodes.append(SegmentNode(node.op, node.fn, tuple(value_of[k] for k in node.inputs), tuple(results),
                                  node.multi))
    leaving = [key for n in seg for key in n.outputs if key is not None
               and (key in ctx.keep or readers.get(key, set()) - inside)]
    segment = Segment(seg[0].device, snodes, inputs, tensors, [value_of[k] for k in leaving], index, count, config)
    fn = seg[0].device.compile_segment(segment)
    if fn is None:
        return seg
    return [Node(seg[-1].op, "kernel", seg[0].device, None, fn, list(inputs), leaving, multi=True)]
