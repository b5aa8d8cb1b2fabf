"""Compiling a (fetches, feeds) signature into a flat execution plan, and running it.

A plan is a list of steps ``(kernel, input_slots, output_slot(s))`` over one flat list of slots.
Running it does no graph walk and no dict lookups: one Python call per op.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .devices import Device
from .errors import FailedPreconditionError, InvalidArgumentError, OpError, ResourceExhaustedError
from .graph import Operation, Tensor
from .placement import is_host, place


class VariableSlot:
    """One variable's storage in one session, on one device. Kernels of ref inputs receive it.

    Example (a device plugin's assign kernel)::

        def assign(ref, value, *, validate_shape):
            ref.assign(value, validate_shape)
            return ref.value
    """

    __slots__ = ("name", "dtype", "shape", "device", "value", "lock")

    def __init__(self, name: str, dtype: Any, shape: Any, device: Device) -> None:
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.device = device
        self.value: Any = None
        self.lock = threading.Lock()

    def read(self) -> Any:
        value = self.value
        if value is None:
            raise FailedPreconditionError(
                f"Attempting to use uninitialized value {self.name}: variable '{self.name}' has not been "
                "initialized; run its initializer first, e.g. sess.run(tf.global_variables_initializer())"
            )
        return value

    def assign(self, value: Any, validate_shape: bool = True) -> Any:
        if validate_shape and self.shape.rank is not None and not self.shape.is_compatible_with(list(np.shape(value))):
            raise InvalidArgumentError(
                f"Assign to variable '{self.name}': value of shape {list(np.shape(value))} does not match the "
                f"variable's shape {self.shape}")
        if isinstance(value, np.ndarray):
            value = value.copy() if value.flags.writeable or value.base is not None else value
            value.setflags(write=False)
        self.value = value
        return value


class KernelContext:
    """What a kernel that asks for ``ctx`` receives: its op, device, session state and RNG."""

    __slots__ = ("op_name", "op_type", "device", "variable", "_rng_holder", "session", "seed")

    def __init__(self, op: Operation, device: Device, session: Any, variable: VariableSlot | None,
                 rng_holder: dict) -> None:
        self.op_name = op.name
        self.op_type = op.type
        self.device = device
        self.session = session
        self.variable = variable
        self._rng_holder = rng_holder
        self.seed = (op.attrs.get("seed", 0), op.attrs.get("seed2", 0))

    @property
    def rng(self) -> np.random.Generator:
        """A per-op, per-session generator: seeded ops repeat across sessions, and every run draws anew."""
        gen = self._rng_holder.get("rng")
        if gen is None:
            s1, s2 = self.seed
            gen = np.random.default_rng([s1, s2]) if (s1 or s2) else np.random.default_rng()
            self._rng_holder["rng"] = gen
        return gen


@dataclass
class Plan:
    steps: list
    step_ops: list
    template: list
    feed_slots: list
    feed_checks: list
    fetch_slots: list
    fetch_devices: list
    fallbacks: list

    def run(self, feed_values: list) -> list:
        slots = self.template.copy()
        for slot, value in zip(self.feed_slots, feed_values):
            slots[slot] = value
        step = None
        try:
            for step in self.steps:
                fn, ins, out, multi = step
                if multi:
                    for o, v in zip(out, fn(*[slots[i] for i in ins])):
                        slots[o] = v
                else:
                    slots[out] = fn(*[slots[i] for i in ins])
        except Exception as exc:
            raise _wrap_error(exc, self._op_of(step)) from exc
        return [slots[i] for i in self.fetch_slots]

    def _op_of(self, step: Any) -> Operation | None:
        for candidate, op in zip(self.steps, self.step_ops):
            if candidate is step:
                return op
        return None


def _wrap_error(exc: Exception, op: Operation | None) -> Exception:
    where = f"op '{op.name}' ({op.type})" if op is not None else "the plan"
    if isinstance(exc, MemoryError):
        return ResourceExhaustedError(f"out of memory in {where}: {exc}", op)
    if isinstance(exc, OpError):
        if exc.op is None and op is not None:
            return type(exc)(f"{exc.message} [in {where}]", op)
        return exc
    return InvalidArgumentError(f"{type(exc).__name__} in {where}: {exc}", op)


class _Copier:
    __slots__ = ("src", "dst")

    def __init__(self, src: Device, dst: Device) -> None:
        self.src, self.dst = src, dst

    def __call__(self, value: Any) -> Any:
        return self.dst.copy_from(value, self.src)


def compile_plan(session: Any, fetch_targets: list, feed_tensors: list) -> Plan:
    """Build the plan that computes ``fetch_targets`` (Tensors or Operations) given ``feed_tensors``."""
    fed = set(feed_tensors)
    order = _needed_ops(fetch_targets, fed)
    template: list = []
    slot_of: dict[Tensor, int] = {}
    device_of: dict[Tensor, Device | None] = {}

    def new_slot(value: Any = None) -> int:
        template.append(value)
        return len(template) - 1

    feed_slots, feed_checks = [], []
    for t in feed_tensors:
        slot_of[t] = new_slot()
        device_of[t] = None
        feed_slots.append(slot_of[t])
        feed_checks.append(t)
    trash = new_slot()
    steps, step_ops, fallbacks = [], [], []
    copies: dict[tuple[Tensor, Any], int] = {}
    placed = session._placement
    for op in order:
        device, kdef = place(op, placed)
        if kdef is None:
            continue
        if op.device and device is not None and device.name != op.device and op not in fallbacks:
            fallbacks.append(op)
        kwargs = {p: op.attrs[p] for p in kdef.attr_params if p in op.attrs}
        variable = _variable_for(session, op, device)
        if kdef.wants_ctx:
            kwargs["ctx"] = KernelContext(op, device, session, variable, session._rng_state.setdefault(op, {}))
        fn: Callable = functools.partial(kdef.fn, **kwargs) if kwargs else kdef.fn
        in_slots = []
        for spec_is_ref, t in _inputs_with_ref_flags(op):
            if spec_is_ref:
                in_slots.append(new_slot(_variable_for(session, t.op, place(t.op, placed)[0])))
                continue
            src = device_of[t]
            if not (is_host(src) and is_host(device)) and src is not device:
                key = (t, device)
                if key not in copies:
                    copies[key] = new_slot()
                    steps.append((_Copier(src or session._host, device), [slot_of[t]], copies[key], False))
                    step_ops.append(op)
                in_slots.append(copies[key])
            else:
                in_slots.append(slot_of[t])
        outs = []
        for t in op.outputs:
            if t in fed:
                outs.append(trash)
            else:
                slot_of[t] = new_slot()
                device_of[t] = device
                outs.append(slot_of[t])
        if not outs:
            outs_spec, multi = trash, False
        elif len(outs) == 1 and not any(s.variadic for s in op.op_def.output_specs):
            # A variadic output (split into 1, unstack of 1) still comes back from its kernel as a sequence.
            outs_spec, multi = outs[0], False
        else:
            outs_spec, multi = outs, True
        if op.type == "Const" and not in_slots:
            template[outs_spec] = fn()
            continue
        steps.append((fn, in_slots, outs_spec, multi))
        step_ops.append(op)
    fetch_slots, fetch_devices = [], []
    for target in fetch_targets:
        if isinstance(target, Operation):
            fetch_slots.append(trash)
            fetch_devices.append(None)
        else:
            fetch_slots.append(slot_of[target])
            fetch_devices.append(device_of[target])
    return Plan(steps, step_ops, template, feed_slots, feed_checks, fetch_slots, fetch_devices, fallbacks)


def _inputs_with_ref_flags(op: Operation) -> list:
    specs = op.op_def.input_specs
    flags = []
    if any(s.variadic for s in specs):
        return [(False, t) for t in op.inputs]
    for spec, t in zip(specs, op.inputs):
        flags.append((spec.is_ref, t))
    return flags


def _variable_for(session: Any, op: Operation, device: Device | None) -> VariableSlot | None:
    if op.type != "VariableV2":
        for spec, t in zip(op.op_def.input_specs, op.inputs):
            if spec.is_ref:
                return _variable_for(session, t.op, device)
        return None
    slot = session._variables.get(op.name)
    if slot is None:
        slot = VariableSlot(op.name, op.attrs["dtype"], op.attrs["shape"], device)
        session._variables[op.name] = slot
    return slot


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
