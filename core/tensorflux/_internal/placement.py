"""Choosing a device and a kernel for each op."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import config
from .devices import Device, device_type_of
from .errors import NotFoundError
from .host_adapter import host_kernel
from .registry import DEVICES, KernelDef, device_types_for, lookup_kernel, read_parameters


class PlacementWarning(UserWarning):
    """Ops of a new plan could not run where they were asked to and fell back to other devices (one per plan)."""


def _attr_summary(op: Any) -> str:
    parts = [f"{k}={v.name}" for k, v in op.attrs.items() if hasattr(v, "np_dtype")]
    return ", ".join(parts)


def place(op: Any, placed: dict) -> tuple[Device | None, KernelDef | None]:
    """Return (device, kernel) for ``op``; NoOp needs no kernel. ``placed`` caches earlier decisions.

    An op pinned where it cannot run goes to a device that can, silently: ``plan_placement.place_plan`` reports
    (or, without soft placement, refuses) a whole plan's moves at once.
    """
    if op in placed:
        return placed[op]
    if op.type == "NoOp":
        placed[op] = (None, None)
        return placed[op]
    if _holds_host_objects(op):
        # A variant value (a TensorList or Optional of a graph imported from TF) is a Python object: host memory.
        result = _choose(op, host_only=True)
        if result is None:
            raise _no_kernel_error(op)
        placed[op] = result
        return result
    variable = op.colocate_with if op.colocate_with is not None else _ref_variable(op)
    if variable is not None:
        # An op that writes a variable (an assign, an optimizer's update) runs where the variable lives.
        target_dev, _ = place(variable, placed)
        kdef = lookup_kernel(op.type, target_dev.device_type, op.attrs)
        why = target_dev.unavailable(op.type, op.attrs) if kdef is not None else ""
        if kdef is None or why:
            # The op must run where its variable lives (an optimizer's update, an assign): without a kernel
            # there, a host-memory device's kernel runs there through the host adapter.
            kdef = _host_adapted(op, target_dev)
        if kdef is None and why:
            raise NotFoundError(
                f"Op '{op.name}' ({op.type}) cannot run on {target_dev.name}, where its variable "
                f"'{variable.name}' lives: {why}; and no host-memory device has a kernel for it", op)
        if kdef is None:
            raise NotFoundError(
                f"No kernel for op '{op.name}' ({op.type}, {_attr_summary(op)}) on device {target_dev.name}, "
                f"where its variable '{variable.name}' lives, nor on a host-memory device whose kernel "
                "could run there through the host adapter", op)
        placed[op] = (target_dev, kdef)
        return placed[op]
    if op.device:
        dev = DEVICES.find(op.device)
        if dev is None:
            # As TF with soft placement: a script pinned to '/gpu:0' runs on a machine without one; the plan
            # reports the move, or refuses it (plan_placement.place_plan).
            result = _choose(op)
            if result is None:
                raise _no_kernel_error(op)
            placed[op] = result
            return result
        kdef = lookup_kernel(op.type, dev.device_type, op.attrs)
        why = dev.unavailable(op.type, op.attrs) if kdef is not None else ""
        if kdef is not None and not why:
            placed[op] = (dev, kdef)
            return placed[op]
        result = _choose(op)  # the plan reports the move, or refuses it (plan_placement.place_plan)
        if result is None:
            raise _no_kernel_error(op)
        placed[op] = result
        return result
    result = _choose(op)
    if result is None:
        raise _no_kernel_error(op)
    placed[op] = result
    return result


def _ref_variable(op: Any) -> Any:
    """The variable op behind ``op``'s first ref input (following ref chains), or None when it has none."""
    for spec, t in zip(op.op_def.input_specs, op.inputs):
        if spec.is_ref:
            source = t.op
            while source.type != "VariableV2":
                inner = _ref_variable(source)
                if inner is None:
                    return None
                source = inner
            return source
    return None


def _host_adapted(op: Any, target: Device) -> KernelDef | None:
    """A host-memory device's kernel for ``op``, made to run on ``target`` by the host adapter; None if none."""
    if target.host_memory:
        return None
    for dev in DEVICES.all():
        if not dev.host_memory:
            continue
        kdef = lookup_kernel(op.type, dev.device_type, op.attrs)
        if kdef is not None and not dev.unavailable(op.type, op.attrs):
            fn = _bound_to_host(kdef.fn, dev) if kdef.wants_ctx else kdef.fn
            return read_parameters(dataclasses.replace(
                kdef, device_type=target.device_type, fn=host_kernel(fn),
                adapted_from=dev.device_type))
    return None


def _bound_to_host(fn: Any, host: Device) -> Any:
    """``fn`` (a kernel that takes ``ctx``) with its ``ctx`` seeing ``host`` as its device, as its own device would."""
    import inspect

    def on_host(*args: Any, ctx: Any, **attrs: Any) -> Any:
        return fn(*args, ctx=_HostContext(ctx, host), **attrs)

    on_host.__signature__ = inspect.signature(fn)
    return on_host


class _HostContext:
    """A KernelContext whose device is the host device whose kernel runs (its variable slot stays adapted)."""

    def __init__(self, ctx: Any, host: Device) -> None:
        self._ctx = ctx
        self.device = host

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _holds_host_objects(op: Any) -> bool:
    return any(t.dtype.name == "variant" for t in (*op.inputs, *op.outputs))


def _choose(op: Any, host_only: bool = False) -> tuple[Device, KernelDef] | None:
    preferred = config.preferred_device_type()
    best = None
    for dev in DEVICES.all():
        if host_only and not dev.host_memory:
            continue
        kdef = lookup_kernel(op.type, dev.device_type, op.attrs)
        if kdef is None or dev.unavailable(op.type, op.attrs):
            continue
        rank = (dev.device_type == preferred, dev.priority, -dev.index)
        if best is None or rank > best[0]:
            best = (rank, dev, kdef)
    return None if best is None else (best[1], best[2])


def _no_kernel_error(op: Any) -> NotFoundError:
    have = device_types_for(op.type)
    devices = ", ".join(d.name for d in DEVICES.all()) or "none"
    if not DEVICES.all():
        hint = "no device plugin is installed; install one, e.g. `pip install tensorflux-cpu`"
    elif have:
        hint = f"kernels exist for device types {have} but not for these dtypes on an available device"
    else:
        hint = "no installed device plugin provides it; install a device plugin that does"
    return NotFoundError(
        f"No kernel for op '{op.name}' ({op.type}{', ' + _attr_summary(op) if _attr_summary(op) else ''}) "
        f"on any available device (devices: {devices}): {hint}", op)


def is_host(device: Device | None) -> bool:
    return device is None or device.host_memory


__all__ = ["place", "is_host", "PlacementWarning", "device_type_of"]
