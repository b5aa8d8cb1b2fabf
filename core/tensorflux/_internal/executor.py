"""Compiling a (fetches, feeds) signature into a flat execution plan, and running it.

A plan is a list of steps ``(kernel, input_slots, output_slot(s))`` over one flat list of slots.
Running it does no graph walk and no dict lookups: one Python call per op.
"""

from __future__ import annotations

import functools
import operator
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .devices import Device
from .errors import (
    InternalError,
    InvalidArgumentError,
    KernelUnavailable,
    OpError,
    ResourceExhaustedError,
    UnavailableError,
)
from .geometry import seeded_rng
from .graph import Operation, Tensor
from .passes.pipeline import disabled_passes, run_passes
from .passes.plan import Node, PassContext, Ref, consumers
from .placement import is_host, place
from .plan_placement import place_plan
from .session_state import SessionState, VariableSlot
from .value_checks import mismatch


class KernelContext:
    """What a kernel that asks for ``ctx`` receives: its op, device, session state and RNG."""

    __slots__ = ("op_name", "op_type", "device", "variable", "_rng_holder", "state", "seed")

    def __init__(self, op: Operation, device: Device, state: SessionState, variable: VariableSlot | None,
                 rng_holder: dict) -> None:
        self.op_name = op.name
        self.op_type = op.type
        self.device = device
        self.state = state
        self.variable = variable
        self._rng_holder = rng_holder
        self.seed = (op.attrs.get("seed", 0), op.attrs.get("seed2", 0))

    @property
    def rng(self) -> np.random.Generator:
        """A per-op, per-session generator: seeded ops repeat across sessions, and every run draws anew."""
        gen = self._rng_holder.get("rng")
        if gen is None:
            gen = seeded_rng(*self.seed)
            self._rng_holder["rng"] = gen
        return gen


# Arrays smaller than this are not worth donating: allocating a fresh one costs less than the checks.
DONATE_MIN_BYTES = 1 << 16


def _no_inputs(slots: list) -> tuple:
    return ()


def _gatherer(ins: list) -> Callable[[list], tuple]:
    """A function taking the slot list to the tuple of the slots ``ins`` (a step's arguments)."""
    if not ins:
        return _no_inputs
    if len(ins) == 1:
        only = ins[0]
        return lambda slots: (slots[only],)
    return operator.itemgetter(*ins)


def _sole_count(args: tuple) -> int:
    a = args[0]
    return sys.getrefcount(a)


# What sys.getrefcount says in _donatable of an array that only the argument tuple holds.
_SOLE = _sole_count(_gatherer([0, 1])([np.empty(1), None]))


def _donatable(args: list, positions: tuple) -> tuple:
    """The positions in ``positions`` whose array nobody but ``args`` holds: large, owns its memory, is
    writable, and has no other reference (no slot, variable, constant, caller, or view of it)."""
    given = ()
    for p in positions:
        a = args[p]
        if (type(a) is np.ndarray and a.nbytes >= DONATE_MIN_BYTES and a.base is None and a.flags.writeable
                and sys.getrefcount(a) <= _SOLE):
            given += (p,)
    return given


class Promise:
    """What the graph promises of one step's output(s), checked against what its kernel returns.

    ``outputs`` holds, per output, ``(tensor name, numpy dtype, static dims)`` (dims None: unknown rank; a
    None dim: unknown size), or None for an output that is fed (its kernel still computes it). ``seen`` is
    the last shape of output 0 that passed, so a repeat run compares one dtype and one tuple per step.
    ``plugin`` is the kernel's plugin, for the error.

    Example:
        >>> import numpy as np
        >>> p = Promise(None, "cpu", [("y:0", np.dtype("float32"), (None, 3))])
        >>> p.check(np.zeros((2, 3), np.float32), 0) is None
        True
    """

    __slots__ = ("op", "plugin", "outputs", "dtype", "seen")

    def __init__(self, op: Operation | None, plugin: str, outputs: list) -> None:
        self.op, self.plugin, self.outputs = op, plugin, outputs
        # The single-output fast path reads these two directly.
        self.dtype = outputs[0][1] if outputs else None
        dims = outputs[0][2] if outputs else None
        self.seen = dims if dims is not None and None not in dims else None

    def check(self, value: Any, index: int) -> None:
        """Raise InternalError unless ``value`` fits output ``index``'s promise; remember its shape when it does."""
        _, dtype, dims = self.outputs[index]
        wrong = mismatch(value, dtype, dims)
        if wrong is not None:
            self._fail(index, *wrong)
        if index == 0:
            self.seen = tuple(value.shape)

    def check_all(self, values: Any) -> tuple:
        """Check a multi-output kernel's results: their number, then each; returns them as a tuple."""
        if type(values) is not tuple:
            values = tuple(values)
        if len(values) != len(self.outputs):
            self._fail(None, f"{len(values)} outputs", f"{len(self.outputs)} outputs")
        first = values[0]
        # One output (an allreduce of one tensor) as run()'s single-output path, without the loop.
        if len(values) == 1 and getattr(first, "dtype", None) is self.dtype and getattr(first, "shape", None) == self.seen:
            return values
        for i, (value, promised) in enumerate(zip(values, self.outputs)):
            if promised is not None:
                # Output 0 as run()'s single-output path: one identity and one tuple comparison on a repeat.
                if i == 0 and getattr(value, "dtype", None) is self.dtype and getattr(value, "shape", None) == self.seen:
                    continue
                self.check(value, i)
        return values

    def _fail(self, index: int | None, got: str, expected: str) -> None:
        op = self.op
        where = f"op '{op.name}' ({op.type})" if op is not None else "a step"
        which = "" if index is None else f" for output {index} ('{self.outputs[index][0]}')"
        raise InternalError(f"The kernel of plugin '{self.plugin}' for {where} returned {got}{which}, but the "
                            f"graph promises {expected}", op)


def _promise_of(node: Node, plugin: str) -> Promise | None:
    """The promise of a kernel node's outputs (a fused node's are its last op's), or None when nothing is known."""
    if node.kind != "kernel" or node.op is None:
        return None
    outputs: list = []
    for key in node.outputs:
        dtype = getattr(key, "dtype", None)
        np_dtype = getattr(dtype, "np_dtype", None)
        if np_dtype is None:  # a fed output: nothing reads the kernel's value of it
            outputs.append(None)
            continue
        outputs.append((key.name, np_dtype, key.shape._dims))
    if not any(outputs) or (not node.multi and outputs[0] is None):
        return None
    return Promise(node.op, plugin, outputs)


def _plugin_of(node: Node) -> str:
    kdef = node.kdef
    if kdef is not None:
        return kdef.plugin or "core"
    return getattr(node.fn, "plugin", None) or ("core" if node.kind == "kernel" else "")


@dataclass
class Plan:
    """A compiled run: ``steps`` of ``(kernel, input slots, output slot(s), multi, dead slots, donatable)``.

    ``dead slots`` are cleared right after the step reads them (so memory is released early), and
    ``donatable`` lists input positions a kernel that declared ``donated`` may write its result into,
    when at run time the array turns out to be referenced by nobody else (never a feed: that is the
    caller's array). ``promises`` holds, per step, the :class:`Promise` its results are checked against
    (None: not checked), and ``step_plugins`` the plugin whose kernel each step runs, for errors.
    """

    steps: list
    step_ops: list
    template: list
    feed_slots: list
    feed_checks: list
    fetch_slots: list
    fetch_devices: list
    fallbacks: list
    promises: list = field(default_factory=list)
    step_plugins: list = field(default_factory=list)

    def __post_init__(self) -> None:
        promises = self.promises or [None] * len(self.steps)
        # What run() walks: each step's inputs as one C-level getter over the slot list, not a comprehension.
        self._walk = [(fn, _gatherer(ins), out, multi, dead, donate, promise)
                      for (fn, ins, out, multi, dead, donate), promise in zip(self.steps, promises)]

    def run(self, feed_values: list) -> list:
        slots = self.template.copy()
        for slot, value in zip(self.feed_slots, feed_values):
            if type(value) is np.ndarray:
                # The caller's array: a kernel that writes into its input must fail, not change it. A read-only
                # view costs about 0.4 us a feed (setflags is the cheaper spelling; asking first costs more).
                value = value.view()
                value.setflags(write=False)
            slots[slot] = value
        index = -1
        try:
            # Results go straight into their slots: a local holding the last one would keep it
            # referenced during the next step, and so never donatable to it (``got`` is cleared).
            for index, (fn, gather, out, multi, dead, donate, promise) in enumerate(self._walk):  # noqa: B007 - the handler reads it
                args = gather(slots)
                given = ()
                if dead:
                    for i in dead:
                        slots[i] = None
                    if donate:
                        given = _donatable(args, donate)
                if multi:
                    got = fn(*args, donated=given) if given else fn(*args)
                    if promise is not None:
                        got = promise.check_all(got)
                    for o, v in zip(out, got):
                        slots[o] = v
                    got = v = None
                    continue
                slots[out] = fn(*args, donated=given) if given else fn(*args)
                if promise is not None:
                    got = slots[out]
                    # One identity and one tuple comparison when the result matches the last good one.
                    try:
                        if got.dtype is not promise.dtype or got.shape != promise.seen:
                            promise.check(got, 0)
                    except AttributeError:  # not an array at all: check() says so
                        promise.check(got, 0)
                    got = None
        except Exception as exc:
            in_range = 0 <= index < len(self.step_ops)
            raise _wrap_error(exc, self.step_ops[index] if in_range else None,
                              self.step_plugins[index] if in_range and self.step_plugins else "") from exc
        fetch = self.fetch_slots
        if len(fetch) == 1:  # a comprehension is a call of its own, costly once a large transfer left the caches cold
            return [slots[fetch[0]]]
        return [slots[i] for i in fetch]


def _wrap_error(exc: Exception, op: Operation | None, plugin: str = "") -> Exception:
    op = getattr(exc, "tensorflux_op", None) or op  # a fused step names the op whose kernel raised
    plugin = getattr(exc, "tensorflux_plugin", None) or plugin
    where = f"op '{op.name}' ({op.type})" if op is not None else "the plan"
    # Appended, so that the op's part of each message reads as it always has.
    by = f" [kernel of plugin '{plugin}']" if plugin else ""
    if isinstance(exc, MemoryError):
        return ResourceExhaustedError(f"out of memory in {where}: {exc}{by}", op)
    if isinstance(exc, KernelUnavailable):
        return UnavailableError(f"{where} cannot run on its device: {exc}; the session's next run places it on "
                                f"another device{by}", op)
    if isinstance(exc, OpError):
        if exc.op is None and op is not None:
            return type(exc)(f"{exc.message} [in {where}]{by}", op)
        return exc
    return InvalidArgumentError(f"{type(exc).__name__} in {where}: {exc}{by}", op)


class _Copier:
    __slots__ = ("src", "dst")

    def __init__(self, src: Device, dst: Device) -> None:
        self.src, self.dst = src, dst

    def __call__(self, value: Any) -> Any:
        return self.dst.copy_from(value, self.src)


class _ReadKey:
    """The value of one variable read, made for one reader (so each reader reads at its own step)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor

    @property
    def shape(self) -> Any:
        return self.tensor.shape

    @property
    def dtype(self) -> Any:
        return self.tensor.dtype


def compile_plan(state: SessionState, fetch_targets: list, feed_tensors: list) -> Plan:
    """Build the plan that computes ``fetch_targets`` (Tensors or Operations) given ``feed_tensors``.

    The graph is sorted once: that order finds unfed placeholders, places ops and lays out the nodes.
    """
    fed = set(feed_tensors)
    order = _needed_ops(fetch_targets, fed)
    _check_placeholders_fed(order)
    place_plan(order, state.placement, state.config)  # logs, refuses or reports the plan's placement, once
    fetched = {t for t in fetch_targets if isinstance(t, Tensor)}
    nodes, fallbacks = _build_nodes(state, order, fed, fetched)
    ctx = PassContext(state, fetched)
    nodes = run_passes(nodes, ctx, disabled_passes(state.config))
    return _lower(nodes, ctx, fetch_targets, feed_tensors, fallbacks)


def _check_placeholders_fed(order: list) -> None:
    for op in order:
        if op.type == "Placeholder":
            shape = op.attrs["shape"]
            raise InvalidArgumentError(
                f"You must feed a value for placeholder tensor '{op.name}' with dtype {op.attrs['dtype'].name}"
                + ("" if shape.rank is None else f" and shape {shape}"), op)


def _build_nodes(state: SessionState, order: list, fed: set, fetched: set) -> tuple[list, list]:
    """One Node per kernel call, in execution order, with copies between devices and per-reader variable reads."""
    nodes: list[Node] = []
    fallbacks: list = []
    device_of: dict = {t: None for t in fed}
    readers: dict = {}  # a VariableV2 output -> (its kernel, device, op): read where each reader runs
    copies: dict = {}
    placed = state.placement
    for op in order:
        device, kdef = place(op, placed)
        if kdef is None:
            continue
        if op.device and device is not None and device.name != op.device and op not in fallbacks:
            fallbacks.append(op)
        kwargs = {p: op.attrs[p] for p in kdef.attr_params if p in op.attrs}
        variable = _variable_for(state, op, device)
        if kdef.wants_ctx:
            kwargs["ctx"] = KernelContext(op, device, state, variable, state.rng_state.setdefault(op, {}))
        fn: Callable = functools.partial(kdef.fn, **kwargs) if kwargs else kdef.fn
        if op.type == "VariableV2" and not op.inputs:
            t = op.outputs[0]
            if t not in fed:
                readers[t] = (fn, device, op, kdef)
                device_of[t] = device
                if t in fetched:
                    nodes.append(Node(op, "read", device, kdef, fn, [], [t]))
            continue
        inputs: list = []
        for spec_is_ref, t in _inputs_with_ref_flags(op):
            if spec_is_ref:
                inputs.append(Ref(_variable_for(state, t.op, place(t.op, placed)[0])))
                continue
            key, src = t, device_of[t]
            if t in readers:
                rfn, src, rop, rkdef = readers[t]
                key = _ReadKey(t)
                nodes.append(Node(rop, "read", src, rkdef, rfn, [], [key]))
            if not (is_host(src) and is_host(device)) and src is not device:
                if isinstance(key, _ReadKey) or (key, device) not in copies:
                    copied = (key, device)
                    nodes.append(Node(op, "copy", device, None, _Copier(src or state.host, device), [key], [copied]))
                    copies[copied] = copied
                key = copies.get((key, device), (key, device))
            inputs.append(key)
        outputs = []
        for t in op.outputs:
            if t in fed:
                outputs.append(None)
            else:
                device_of[t] = device
                outputs.append(t)
        multi = not (len(outputs) == 1 and not any(s.variadic for s in op.op_def.output_specs))
        if op.type == "Const" and not inputs and not multi:
            nodes.append(Node(op, "const", device, kdef, fn, [], outputs, value=fn()))
            continue
        pure = not (op.op_def.stateful or kdef.wants_ctx or any(isinstance(k, Ref) for k in inputs)
                    or op.type in ("Placeholder", "VariableV2"))
        nodes.append(Node(op, "kernel", device, kdef, fn, inputs, outputs, multi=multi, pure=pure))
    return nodes, fallbacks


def _lower(nodes: list, ctx: PassContext, fetch_targets: list, feed_tensors: list, fallbacks: list) -> Plan:
    """Assign slots, find each value's last reader, and turn nodes into steps."""
    template: list = []
    slot_of: dict = {}
    device_of: dict = {}

    def new_slot(value: Any = None) -> int:
        template.append(value)
        return len(template) - 1

    feed_slots = []
    for t in feed_tensors:
        slot_of[t] = new_slot()
        feed_slots.append(slot_of[t])
    trash = new_slot()
    nothing = new_slot()  # what fetching an Operation gives: None, never written
    fetch_keys = [ctx.resolve(t) for t in fetch_targets if isinstance(t, Tensor)]
    read_counts = consumers(nodes)
    for key in fetch_keys:
        read_counts[key] = read_counts.get(key, 0) + 1
    constant_slots = set()
    plain = []  # (node, input slots, output spec, multi)
    for node in nodes:
        if node.kind == "const":
            key = node.outputs[0]
            if key is not None:
                slot_of[key] = new_slot(node.value)
                device_of[key] = node.device
                constant_slots.add(slot_of[key])
            continue
        ins = [new_slot(k.variable) if isinstance(k, Ref) else slot_of[k] for k in node.inputs]
        outs = []
        for key in node.outputs:
            if key is None or not read_counts.get(key):
                outs.append(trash)  # nobody reads it: the next write to trash releases it
            else:
                slot_of[key] = new_slot()
                device_of[key] = node.device
                outs.append(slot_of[key])
        if node.multi:
            spec = outs
        else:
            spec = outs[0] if outs else trash
        plain.append((node, ins, spec))
    keep = {slot_of[k] for k in fetch_keys} | constant_slots | {trash}
    last: dict = {}
    for index, (_, ins, _) in enumerate(plain):
        for i in ins:
            last[i] = index
    steps, step_ops, promises, plugins = [], [], [], []
    fed = set(feed_slots)
    for index, (node, ins, spec) in enumerate(plain):
        dead = tuple(sorted({i for i in ins if last.get(i) == index and i not in keep
                             and not isinstance(template[i], VariableSlot)}))
        donate = ()
        if node.kdef is not None and node.kdef.wants_donated and is_host(node.device):
            # A feed is the caller's array, whoever else holds it: never written into.
            donate = tuple(p for p, i in enumerate(ins) if i in dead and i not in fed and ins.count(i) == 1
                           and not _known_small(node.inputs[p]))
        steps.append((node.fn, ins, spec, node.multi, dead, donate))
        step_ops.append(node.op)
        plugin = _plugin_of(node)
        plugins.append(plugin)
        promises.append(_promise_of(node, plugin))
    fetch_slots, fetch_devices = [], []
    for target in fetch_targets:
        if isinstance(target, Operation):
            fetch_slots.append(nothing)
            fetch_devices.append(None)
        else:
            key = ctx.resolve(target)
            fetch_slots.append(slot_of[key])
            fetch_devices.append(device_of.get(key))
    return Plan(steps, step_ops, template, feed_slots, list(feed_tensors), fetch_slots, fetch_devices, fallbacks,
                promises, plugins)


def _known_small(key: Any) -> bool:
    """Whether ``key`` is a tensor whose static shape says it is below DONATE_MIN_BYTES (never worth donating)."""
    dims = getattr(getattr(key, "shape", None), "_dims", None)
    if dims is None or any(d is None for d in dims):
        return False
    size = 1
    for d in dims:
        size *= d
    return size * key.dtype.np_dtype.itemsize < DONATE_MIN_BYTES


def _inputs_with_ref_flags(op: Operation) -> list:
    specs = op.op_def.input_specs
    flags = []
    if any(s.variadic for s in specs):
        return [(False, t) for t in op.inputs]
    for spec, t in zip(specs, op.inputs):
        flags.append((spec.is_ref, t))
    return flags


def _variable_for(state: SessionState, op: Operation, device: Device | None) -> VariableSlot | None:
    """The slot an op's ref input refers to (a VariableV2's own slot), or None for an op without one."""
    if op.type != "VariableV2":
        for spec, t in zip(op.op_def.input_specs, op.inputs):
            if spec.is_ref:
                return _variable_for(state, t.op, device)
        return None
    return state.variable_slot(op, device)


def _deps(op: Operation, fed: set) -> list[Operation]:
    deps = [t.op for is_ref, t in _inputs_with_ref_flags(op) if not is_ref and t not in fed]
    return deps + list(op.control_inputs)


def _needed_ops(targets: list, fed: set) -> list[Operation]:
    """Ops needed for ``targets`` in a valid execution order (inputs first), stopping at fed tensors."""
    order: list[Operation] = []
    state: dict[Operation, int] = {}  # 1: on the DFS path, 2: done
    for target in targets:
        root = target if isinstance(target, Operation) else (None if target in fed else target.op)
        if root is None or root in state:
            continue
        state[root] = 1
        stack = [(root, iter(_deps(root, fed)))]
        while stack:
            op, pending = stack[-1]
            for dep in pending:
                s = state.get(dep)
                if s is None:
                    state[dep] = 1
                    stack.append((dep, iter(_deps(dep, fed))))
                    break
                if s == 1:
                    raise ValueError(f"Graph has a cycle through op '{dep.name}'")
            else:
                stack.pop()
                state[op] = 2
                order.append(op)
    return order
