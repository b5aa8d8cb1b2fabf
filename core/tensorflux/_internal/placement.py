"""Choosing a device and a kernel for each op."""

from __future__ import annotations

from typing import Any

from . import config
from .devices import Device, device_type_of
from .errors import NotFoundError
from .registry import DEVICES, KernelDef, device_types_for, lookup_kernel


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
    if op.colocate_with is not None:
        target_dev, _ = place(op.colocate_with, placed)
        kdef = lookup_kernel(op.type, target_dev.device_type, op.attrs)
        why = target_dev.unavailable(op.type, op.attrs) if kdef is not None else ""
        if why:
            raise NotFoundError(
                f"Op '{op.name}' ({op.type}) cannot run on {target_dev.name}, where its variable "
                f"'{op.colocate_with.name}' lives: {why}", op)
        if kdef is None:
            raise NotFoundError(
                f"No kernel for op '{op.name}' ({op.type}, {_attr_summary(op)}) on device {target_dev.name}, "
                f"where its variable '{op.colocate_with.name}' lives", op)
        placed[op] = (target_dev, kdef)
        return placed[op]
    if op.device:
        dev = DEVICES.find(op.device)
        if dev is None:
            known = ", ".join(d.name for d in DEVICES.all()) or "none"
            raise NotFoundError(
                f"Op '{op.name}' ({op.type}) is placed on '{op.device}', but no such device is available "
                f"(available: {known}); install the plugin that provides it", op)
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


def _choose(op: Any) -> tuple[Device, KernelDef] | None:
    preferred = config.preferred_device_type()
    best = None
    for dev in DEVICES.all():
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
