"""Fused elementwise chains: runs of elementwise ops become one elementwise program, one kernel launch on a GPU.

Core's ``compile`` pass hands the device each run of pure ops placed on it (``Device.compile_segment``).
:func:`compile_segment` finds the elementwise groups in it: ops of :data:`EXPRESSIONS` on one float dtype,
each reading the group's previous results only where nobody outside the group reads them. A group of two or
more ops becomes one :class:`~tensorflux_cuda.codegen.Program` (its leaves are the group's inputs, its one
output the last op's result); every other op runs its own kernel as before. A segment with no such group is
left alone.

On a GPU the program is a ``cupy.ElementwiseKernel`` (``backend.py``); elsewhere it is evaluated node by node
(``codegen.evaluate``), which is also how its numerics are tested.

Example:
    >>> x, y = codegen.inputs("x", "y")
    >>> EXPRESSIONS["Relu"]([x * y], {}).op
    'where'
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import numpy as np

from . import codegen
from .codegen import Expr

E = codegen


def _bias_add(args: list, attrs: dict) -> Expr | None:
    # NHWC, or a value of rank < 3: the bias runs along the last axis, which broadcasting gives for free.
    return args[0] + args[1] if attrs.get("data_format", "NHWC") == "NHWC" else None


# op -> expression of its operands (and attrs), or None where the op's attrs cannot be fused
EXPRESSIONS: dict[str, Callable[[list, dict], Expr | None]] = {
    "AddV2": lambda a, _: a[0] + a[1], "Sub": lambda a, _: a[0] - a[1], "Mul": lambda a, _: a[0] * a[1],
    "RealDiv": lambda a, _: a[0] / a[1], "Maximum": lambda a, _: E.maximum(a[0], a[1]),
    "Minimum": lambda a, _: E.minimum(a[0], a[1]), "SquaredDifference": lambda a, _: (a[0] - a[1]) * (a[0] - a[1]),
    "Pow": lambda a, _: E.power(a[0], a[1]), "Neg": lambda a, _: -a[0], "Abs": lambda a, _: E.absolute(a[0]),
    "Square": lambda a, _: a[0] * a[0], "Sqrt": lambda a, _: E.sqrt(a[0]), "Rsqrt": lambda a, _: 1.0 / E.sqrt(a[0]),
    "Exp": lambda a, _: E.exp(a[0]), "Log": lambda a, _: E.log(a[0]), "Log1p": lambda a, _: E.log1p(a[0]),
    "Sign": lambda a, _: E.sign(a[0]), "Reciprocal": lambda a, _: 1.0 / a[0], "Floor": lambda a, _: E.floor(a[0]),
    "Ceil": lambda a, _: E.ceil(a[0]), "Round": lambda a, _: E.rint(a[0]),
    "Relu": lambda a, _: E.maximum(a[0], 0.0), "Relu6": lambda a, _: E.minimum(E.maximum(a[0], 0.0), 6.0),
    "Elu": lambda a, _: E.where(a[0] < 0.0, E.expm1(a[0]), a[0]),
    "LeakyRelu": lambda a, at: E.where(a[0] > 0.0, a[0], a[0] * float(at.get("alpha", 0.2))),
    "Softplus": lambda a, _: E.maximum(a[0], 0.0) + E.log1p(E.exp(-E.absolute(a[0]))),
    "Sigmoid": lambda a, _: E.sigmoid(a[0]), "Tanh": lambda a, _: E.tanh(a[0]), "BiasAdd": _bias_add,
    "ReluGrad": lambda a, _: E.where(a[1] > 0.0, a[0], 0.0),
    "Relu6Grad": lambda a, _: E.where((a[1] > 0.0) & (a[1] < 6.0), a[0], 0.0),
    "EluGrad": lambda a, _: E.where(a[1] < 0.0, a[0] * (a[1] + 1.0), a[0]),
    "SigmoidGrad": lambda a, _: a[1] * a[0] * (1.0 - a[0]), "TanhGrad": lambda a, _: a[1] * (1.0 - a[0] * a[0]),
    "SoftplusGrad": lambda a, _: a[0] * E.sigmoid(a[1]),
}
FLOATS = frozenset(codegen.COMPUTE)


class Group:
    """Elementwise ops of a segment fused into one program: ``inputs`` (segment values), ``output`` (one value).

    Example:
        >>> x, = codegen.inputs("i0")
        >>> Group(codegen.Program("p", ("i0",), {"out": -x}), "float32", [0], 1, []).output
        1
    """

    def __init__(self, program: codegen.Program, dtype: str, inputs: list, output: int, ops: list) -> None:
        self.program, self.dtype, self.inputs, self.output, self.ops = program, dtype, inputs, output, ops


def chain_program(steps: list, dtype: str) -> codegen.Program | None:
    """One program computing the last of ``steps`` from the values they read, or None if one cannot be fused.

    ``steps`` are ``(op_type, attrs, args)``; an arg is ``("in", k)``, the chain's k-th input (named ``i{k}``), or
    ``("step", j)``, the result of step ``j``.

    Example:
        >>> p = chain_program([("Mul", {}, [("in", 0), ("in", 1)]), ("Relu", {}, [("step", 0)])], "float32")
        >>> p.inputs, repr(p.outputs["out"])
        (('i0', 'i1'), 'where(or(gt(mul(i0, i1), 0.0), isnan(mul(i0, i1))), mul(i0, i1), 0.0)')
    """
    if dtype not in FLOATS or not steps:
        return None
    count = 1 + max((k for _, _, args in steps for kind, k in args if kind == "in"), default=-1)
    leaves = codegen.inputs(*(f"i{k}" for k in range(count)))
    results: list[Expr] = []
    for op_type, attrs, args in steps:
        build = EXPRESSIONS.get(op_type)
        expr = build([leaves[k] if kind == "in" else results[k] for kind, k in args], attrs) if build else None
        if expr is None:
            return None
        results.append(expr)
    digest = hashlib.sha1(repr(results[-1]).encode()).hexdigest()[:12]
    return codegen.Program(f"chain_{digest}", tuple(leaf.value for leaf in leaves), {"out": results[-1]})


def _dtype_of(tensor: Any) -> str:
    dtype = getattr(tensor, "dtype", None)
    return getattr(dtype, "name", "") or ""


def find_groups(segment: Any) -> tuple[list[Group], set[int]]:
    """The fusible groups of ``segment`` (two ops or more each) and the positions of the nodes they absorb.

    A node joins the group of an operand's producer when it is elementwise at the same float dtype, its result
    is one value, and each group value it reads has no reader outside the group nor leaves the segment.

    Example:
        >>> find_groups(type("Segment", (), {"nodes": [], "outputs": [], "tensors": []})())
        ([], set())
    """
    readers: dict[int, list[int]] = {}
    for pos, node in enumerate(segment.nodes):
        for v in node.args:
            readers.setdefault(v, []).append(pos)
    leaving = set(segment.outputs)
    group_of: dict[int, list[int]] = {}  # node position -> the positions of its group (shared list)
    producer = {r: pos for pos, node in enumerate(segment.nodes) for r in node.results if r is not None}
    for pos, node in enumerate(segment.nodes):
        if not _fusible(node, segment):
            continue
        joined = None
        for v in node.args:
            src = producer.get(v)
            if src is None or src not in group_of or v in leaving or readers.get(v) != [pos]:
                continue
            joined = group_of[src]
            break
        if joined is None:
            joined = []
        joined.append(pos)
        group_of[pos] = joined
    groups, absorbed = [], set()
    seen: set[int] = set()
    for members in group_of.values():
        if id(members) in seen or len(members) < 2:
            continue
        seen.add(id(members))
        group = _build(segment, members, readers, leaving)
        if group is not None:
            groups.append(group)
            absorbed.update(members)
    return groups, absorbed


def _fusible(node: Any, segment: Any) -> bool:
    op = node.op
    if node.multi or op is None or op.type not in EXPRESSIONS or len(node.results) != 1 or node.results[0] is None:
        return False
    dtype = _dtype_of(segment.tensors[node.results[0]])
    return dtype in FLOATS and all(_dtype_of(segment.tensors[v]) == dtype for v in node.args)


def _build(segment: Any, members: list[int], readers: dict, leaving: set) -> Group | None:
    """The group of the nodes at ``members``: their chain program, or None when a member breaks the group's rule
    (an intermediate result read outside the group, leaving the segment, or read other than once inside it)."""
    inside = set(members)
    for p in members[:-1]:
        result = segment.nodes[p].results[0]
        if result in leaving or not set(readers.get(result, ())) <= inside:
            return None
    produced = {segment.nodes[p].results[0]: i for i, p in enumerate(members)}
    inputs: list[int] = []
    steps = []
    for p in members:
        node = segment.nodes[p]
        args = []
        for v in node.args:
            if v in produced and produced[v] < len(steps):
                args.append(("step", produced[v]))
            else:
                if v not in inputs:
                    inputs.append(v)
                args.append(("in", inputs.index(v)))
        steps.append((node.op.type, dict(node.op.attrs), args))
    # every intermediate result is read by a later member exactly once
    reads = [a for _, _, args in steps for a in args if a[0] == "step"]
    if sorted(k for _, k in reads) != list(range(len(steps) - 1)):
        return None
    last = segment.nodes[members[-1]]
    dtype = _dtype_of(segment.tensors[last.results[0]])
    program = chain_program(steps, dtype)
    if program is None:
        return None
    return Group(program, dtype, inputs, last.results[0], [segment.nodes[p].op for p in members])


class CompiledSegment:
    """A segment run node by node, except that each fused group runs as one program.

    Example:
        >>> CompiledSegment.__call__.__name__
        '__call__'
    """

    def __init__(self, segment: Any, groups: list[Group], absorbed: set[int], device: Any) -> None:
        self.device = device
        self.num_inputs = segment.num_inputs
        self.outputs = list(segment.outputs)
        group_at = {}
        for group in groups:
            last = max(p for p, n in enumerate(segment.nodes) if n.results and n.results[0] == group.output)
            group_at[last] = group
        steps: list = []
        for pos, node in enumerate(segment.nodes):
            if pos in group_at:
                steps.append(("group", group_at[pos]))
            elif pos not in absorbed:
                steps.append(("node", node))
        self.steps = steps
        self.size = len(segment.tensors)

    def __call__(self, *inputs: Any) -> tuple:
        values: list = list(inputs) + [None] * (self.size - len(inputs))
        backend = self.device.backend
        for kind, step in self.steps:
            try:
                if kind == "group":
                    args = [values[v] for v in step.inputs]
                    if any(isinstance(a, (np.ndarray, np.generic)) and not backend.is_device_array(a) for a in args):
                        args = [backend.upload(np.asarray(a), self.device.index)
                                if isinstance(a, (np.ndarray, np.generic)) and not backend.is_device_array(a) else a
                                for a in args]
                    with backend.running_on(self.device.index):
                        values[step.output] = backend.elementwise(step.program, step.dtype)(args)[0]
                    continue
                got = step.fn(*[values[v] for v in step.args])
                if step.multi:
                    for r, value in zip(step.results, got):
                        if r is not None:
                            values[r] = value
                elif step.results and step.results[0] is not None:
                    values[step.results[0]] = got
            except Exception as exc:
                if getattr(exc, "tensorflux_op", None) is None:
                    exc.tensorflux_op = step.ops[-1] if kind == "group" else step.op
                raise
        return tuple(values[v] for v in self.outputs)


def compile_segment(device: Any, segment: Any) -> CompiledSegment | None:
    """``segment`` with its elementwise groups fused, or None when it has none (the plan keeps it as it is).

    Example:
        >>> compile_segment(None, type("S", (), {"nodes": [], "outputs": []})()) is None
        True
    """
    groups, absorbed = find_groups(segment)
    if not groups:
        return None
    return CompiledSegment(segment, groups, absorbed, device)
