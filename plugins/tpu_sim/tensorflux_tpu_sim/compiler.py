"""Compiling a segment (a run of pure ops core's ``compile`` pass hands the device) for the simulated TPU.

A :class:`Program` replaces the segment's ops with one step. As XLA does for a TPU, it compiles once per
input-shape signature: the first call with new input shapes (or a new precision or chip) compiles, and a
call with shapes it has seen runs the cached :class:`Executable`. Compiling traces the ops once on the
actual inputs, which fixes every intermediate shape and records each product the kernels ask of the MXU;
then it fuses the ops for the cost model (a matrix op with the elementwise ops that consume its result, an
elementwise chain, an elementwise chain into a reduction), pads matrix dimensions to (8, 128) tiles and costs
each fused op (``cost.py``).

Shapes must be static, as XLA needs them. An op whose output shape depends on an input's values (the shape
of a Reshape, Fill, Range, Tile or Slice, the axes of a reduction...) is refused when the segment is
compiled unless that input is computed from constants and shapes only; and a cached executable checks that
each op's output shape is still the one it was compiled with, so any other value-dependent shape is an
error naming the op too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorflux.errors import InvalidArgumentError

from .cost import OpCost, fused_cost
from .numerics import PASSES, MxuContext
from .settings import check_options

# Inputs whose values fix an op's output shape, by op type; XLA needs them to be compile-time constants.
SHAPE_INPUTS = {
    "Reshape": (1,), "Fill": (0,), "Range": (0, 1, 2), "Tile": (1,), "Slice": (1, 2), "StridedSlice": (1, 2, 3),
    "Pad": (1,), "PadV2": (1,), "MirrorPad": (1,), "OneHot": (1,), "BroadcastTo": (1,), "ExpandDims": (1,),
    "RandomUniform": (0,), "RandomStandardNormal": (0,), "TruncatedNormal": (0,), "RandomUniformInt": (0,),
    "Sum": (1,), "Mean": (1,), "Max": (1,), "Min": (1,), "Prod": (1,), "All": (1,), "Any": (1,),
    "ArgMax": (1,), "ArgMin": (1,), "Transpose": (1,), "TopKV2": (1,), "SplitV": (1, 2), "Split": (0,),
    "Conv2DBackpropInput": (0,), "Conv2DBackpropFilter": (1,), "AvgPoolGrad": (0,), "UnsortedSegmentSum": (2,),
    "ScatterNd": (2,), "SparseToDense": (1,), "GatherV2": (2,),
}
# Ops that only relabel or describe an array: no HBM traffic.
FREE = frozenset({"Reshape", "Identity", "ExpandDims", "Squeeze", "StopGradient", "PreventGradient", "Snapshot",
                  "Shape", "ShapeN", "Size", "Rank", "BroadcastGradientArgs", "IdentityN"})
ELEMENTWISE = frozenset({
    "AddV2", "Add", "Sub", "Mul", "RealDiv", "Div", "DivNoNan", "Maximum", "Minimum", "SquaredDifference", "Pow",
    "FloorDiv", "FloorMod", "Mod", "Neg", "Abs", "Square", "Sqrt", "Rsqrt", "Exp", "Expm1", "Log", "Log1p", "Sign",
    "Reciprocal", "Floor", "Ceil", "Round", "Rint", "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Softplus",
    "Softsign", "Sigmoid", "Tanh", "Erf", "Sin", "Cos", "BiasAdd", "Cast", "ReluGrad", "Relu6Grad", "EluGrad",
    "LeakyReluGrad", "SoftplusGrad", "SigmoidGrad", "TanhGrad", "RsqrtGrad", "SqrtGrad", "Select", "SelectV2",
    "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot",
    "IsNan", "IsInf", "IsFinite", "ZerosLike", "OnesLike", "AddN", "ClipByValue", "Atan2",
})
# Reductions take the elementwise chain that feeds them (XLA's input fusion), and end it.
REDUCTIONS = frozenset({"Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "BiasAddGrad", "L2Loss", "ArgMax",
                        "ArgMin"})
_SMALL_INTEGERS = 16  # integer results this small are shape arithmetic, done on the scalar unit


def check_static(segment: Any) -> None:
    """Raise InvalidArgumentError naming the first op of ``segment`` whose output shape depends on values that are
    not computed from constants and shapes alone.

    Example:
        >>> from types import SimpleNamespace
        >>> check_static(SimpleNamespace(nodes=[]))
    """
    static: dict = {}
    for node in segment.nodes:
        for position in SHAPE_INPUTS.get(node.op.type, ()):
            if position < len(node.op.inputs) and not _is_static(node.op.inputs[position], static):
                tensor = node.op.inputs[position]
                raise InvalidArgumentError(
                    f"tpu_sim cannot compile op '{node.op.name}' ({node.op.type}): its output shape depends on "
                    f"the value of input {position} ('{tensor.name}', from {tensor.op.type} '{tensor.op.name}'), "
                    "which is not a compile-time constant; a TPU program needs every shape fixed by its input "
                    "shapes (XLA's static shapes). Compute it from constants and tf.shape, or pin the op to the "
                    "cpu with tf.device('/cpu:0')", node.op)


def _is_static(tensor: Any, memo: dict) -> bool:
    """Whether ``tensor``'s value follows from constants and static facts about shapes (no feed, variable,
    random draw or stateful op on the way)."""
    stack = [tensor.op]
    while stack:
        op = stack[-1]
        if op in memo:
            stack.pop()
            continue
        if op.type in ("Const", "Shape", "ShapeN", "Size", "Rank"):
            memo[op] = True
        elif op.type in ("Placeholder", "PlaceholderWithDefault", "VariableV2") or op.op_def.stateful or not op.inputs:
            memo[op] = False
        else:
            pending = [t.op for t in op.inputs if t.op not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[op] = all(memo[t.op] for t in op.inputs)
        stack.pop()
    return memo[tensor.op]


class Executable:
    """A segment compiled for one input signature: the ops to run, the shapes they were compiled with, and the
    cost of each fused op on the chip."""

    def __init__(self, steps: list, outputs: tuple, shapes: list, costs: list[OpCost], precision: str,
                 chip: Any) -> None:
        self.steps, self.outputs, self.shapes = steps, outputs, shapes
        self.costs, self.precision, self.chip = costs, precision, chip
        self.seconds = sum(c.seconds for c in costs)

    def run(self, inputs: tuple, size: int) -> tuple:
        """Run the ops on ``inputs``; each op's output shapes must be those it was compiled with."""
        values: list = list(inputs) + [None] * (size - len(inputs))
        expected = self.shapes
        with MxuContext(self.precision, None):
            for fn, args, results, multi, op, dead in self.steps:
                try:
                    got = fn(*[values[i] for i in args])
                except Exception as exc:
                    exc.tensorflux_op = op
                    raise
                for r, value in zip(results, got if multi else (got,)):
                    if r is not None:
                        values[r] = value
                        if np.shape(value) != expected[r]:
                            raise _changed_shape(op, expected[r], np.shape(value))
                for i in dead:
                    values[i] = None
        return tuple(values[i] for i in self.outputs)


def _changed_shape(op: Any, compiled: tuple, now: tuple) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"tpu_sim cannot run op '{op.name}' ({op.type}) as compiled: it produced shape {list(now)}, but "
        f"{list(compiled)} when its segment was compiled for the same input shapes, so its output shape depends "
        "on the values it reads; a TPU program needs static shapes (XLA). Pin the op to the cpu with "
        "tf.device('/cpu:0')", op)


class Program:
    """The callable that replaces one segment: compiles per input signature, caches, and reports each call.

    ``trace_name`` and ``traced_ops()`` let a traced run (``RunOptions(trace_level=FULL_TRACE)``) show the
    segment and its ops' simulated times in ``RunMetadata.step_stats``.
    """

    def __init__(self, device: Any, segment: Any) -> None:
        check_static(segment)
        self.device = device
        self.segment = segment
        self.options = check_options(segment.options, "ConfigProto.device_options['tpu_sim']")
        self.size = len(segment.tensors)
        last_use: dict = {}
        for index, node in enumerate(segment.nodes):
            for i in node.args:
                last_use[i] = index
        keep = set(segment.outputs)
        self._steps = [(node.fn, node.args, node.results, node.multi, node.op,
                        tuple(i for i in set(node.args) if last_use.get(i) == index and i not in keep))
                       for index, node in enumerate(segment.nodes)]
        self.cache: dict = {}
        self.last: Executable | None = None
        self.plugin = "tpu_sim"
        self.trace_name = f"cluster_{segment.index}: {len(segment.nodes)} ops compiled for {device.name}"

    def __call__(self, *inputs: Any) -> tuple:
        precision, chip = self.device.resolve(self.options)
        key = (tuple((np.shape(x), getattr(x, "dtype", None)) for x in inputs), precision, chip)
        exe = self.cache.get(key)
        if exe is None:
            exe, outputs = self._compile(inputs, precision, chip)
            self.cache[key] = exe
            self.device.note_compile(self, exe)
        else:
            outputs = exe.run(inputs, self.size)
            self.device.note_cache_hit(self, exe)
        self.last = exe
        return outputs

    def traced_ops(self) -> tuple[str, list]:
        """``(device label, [(op name, label, start ns, duration ns)])`` of the last call's simulated ops."""
        exe = self.last
        if exe is None:
            return f"{self.device.name} (simulated)", []
        out, offset = [], 0.0
        for cost in exe.costs:
            if cost.kind == "free":
                continue
            ns = cost.seconds * 1e9
            out.append((cost.name, f"{cost.label} = {cost.op_type} [{cost.kind}, {cost.bound}-bound, simulated]",
                        int(offset), max(int(round(ns)), 1)))
            offset += ns
        return f"{self.device.name} (simulated TPU {exe.chip.name})", out

    def _compile(self, inputs: tuple, precision: str, chip: Any) -> tuple[Executable, tuple]:
        """Trace the ops once on ``inputs`` (their results are this call's), then fuse and cost them."""
        values: list = list(inputs) + [None] * (self.size - len(inputs))
        gemms: list = []
        for fn, args, results, multi, op, _ in self._steps:
            recorded: list = []
            with MxuContext(precision, recorded):
                try:
                    got = fn(*[values[i] for i in args])
                except Exception as exc:
                    exc.tensorflux_op = op
                    raise
            gemms.append(recorded)
            for r, value in zip(results, got if multi else (got,)):
                if r is not None:
                    values[r] = value
        shapes = [np.shape(v) if v is not None else None for v in values]
        layout = [(np.shape(v), np.asarray(v).dtype.itemsize if v is not None else 0) for v in values]
        costs = self._costs(values, layout, gemms, PASSES[precision], chip)
        exe = Executable(self._steps, tuple(self.segment.outputs), shapes, costs, precision, chip)
        return exe, tuple(values[i] for i in self.segment.outputs)

    def _costs(self, values: list, layout: list, gemms: list, passes: int, chip: Any) -> list[OpCost]:
        nodes = self.segment.nodes
        groups = fuse(nodes, gemms, values, set(self.segment.outputs))
        costs = []
        for kind, members in groups:
            produced = {r for m in members for r in nodes[m].results if r is not None}
            inside = set(members)
            read = {i for m in members for i in nodes[m].args if i not in produced}
            written = {r for r in produced if r in self.segment.outputs
                       or any(r in nodes[j].args for j in range(len(nodes)) if j not in inside)}
            moved = [layout[i] for i in sorted(read | written)]
            root = nodes[members[0]].op
            costs.append(fused_cost(root.name, root.type, kind, tuple(nodes[m].op.name for m in members),
                                    [g for m in members for g in gemms[m]], passes, moved, chip))
        return costs


def fuse(nodes: list, gemms: list, values: list, leaving: set) -> list[tuple[str, list[int]]]:
    """The segment's ops as fused ops, ``(kind, node indices)`` in order (the first index is the root).

    A matrix op (one whose kernel used the MXU) takes the elementwise ops that read its result, when that
    result has no other reader; elementwise ops join the fused op of the values they read the same way, and
    one that reads several elementwise fusions merges them (XLA's loop fusion); a reduction ends the fusion
    that feeds it.

    Example:
        >>> fuse([], [], [], set())
        []
    """
    readers: dict = {}
    for node in nodes:
        for i in node.args:
            readers[i] = readers.get(i, 0) + 1
    groups: list = []
    open_group: dict = {}  # value index -> group index, for results a consumer may still fuse into
    for index, node in enumerate(nodes):
        op_type = node.op.type
        if gemms[index]:
            kind = "mxu"
        elif op_type in FREE or _shape_arithmetic(node, values):
            groups.append(("free", [index]))
            continue
        else:
            kind = "vector"
        fusible = op_type in ELEMENTWISE or op_type in REDUCTIONS
        into = {open_group[i] for i in node.args
                if i in open_group and readers.get(i) == 1 and i not in leaving} if fusible else set()
        if kind == "vector" and len(into) > 1 and all(groups[g][0] == "vector" for g in into):
            target = min(into)
            for g in into - {target}:
                groups[target][1].extend(groups[g][1])
                groups[g] = None
                open_group = {v: (target if o == g else o) for v, o in open_group.items()}
            groups[target][1].append(index)
        elif kind == "vector" and len(into) == 1:
            target = into.pop()
            groups[target][1].append(index)
        else:
            groups.append((kind, [index]))
            target = len(groups) - 1
        if op_type in REDUCTIONS:
            continue  # ends its fusion: nothing fuses after it
        if kind == "mxu" or fusible:
            for r in node.results:
                if r is not None:
                    open_group[r] = target
    return [(kind, sorted(members)) for kind, members in (g for g in groups if g is not None)]


def _shape_arithmetic(node: Any, values: list) -> bool:
    """Whether every result of ``node`` is a tiny integer array (shape math, not tensor work)."""
    results = [values[r] for r in node.results if r is not None]
    return bool(results) and all(np.asarray(v).dtype.kind in "iub" and np.size(v) <= _SMALL_INTEGERS
                                 for v in results)
