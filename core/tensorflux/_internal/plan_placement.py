"""Placing the ops of a new plan as the session's config asks: print each op's device, refuse or report fallbacks.

``place`` decides one op's device; this module looks at a whole plan's decisions once, when the plan is
compiled, so that a cached plan run again prints and warns nothing.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from . import config as _env
from .devices import Device
from .errors import InvalidArgumentError
from .placement import PlacementWarning, place
from .registry import DEVICES, devices_of_type, lookup_kernel
from .session_config import ConfigProto, session_config

_DEFAULTS = ConfigProto()  # read only
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def place_plan(ops: list, placed: dict, config: Any = None) -> list[Device | None]:
    """Place every op of a plan being compiled and act on the session's placement settings; returns the devices.

    ``placed`` caches decisions across the session's plans. With ``allow_soft_placement`` False, an op pinned
    to a device that cannot run it raises InvalidArgumentError; otherwise the ops that run elsewhere than
    asked are reported in one PlacementWarning for the plan. With ``log_device_placement``, every op's
    device is printed to stderr.

    Example:
        >>> import tensorflux as tf
        >>> _ = tf.Session()  # finds the installed device plugins
        >>> with tf.device("/cpu:0"):
        ...     two = tf.constant(2.0, name="two")
        >>> place_plan([two.op], {}, tf.ConfigProto(log_device_placement=True))  # prints to stderr
        [<Device /cpu:0>]
    """
    settings = config if isinstance(config, ConfigProto) else _DEFAULTS if config is None else session_config(config)
    decisions = [place(op, placed) for op in ops]
    devices = [device for device, _ in decisions]
    preferred = _env.preferred_device_type()
    moved = [(op, device, reason) for op, (device, kdef) in zip(ops, decisions)
             if (reason := fallback_reason(op, device, preferred, kdef))]
    if not settings.allow_soft_placement:
        adapted = [(op, kdef) for op, (_, kdef) in zip(ops, decisions) if kdef is not None and kdef.adapted_from]
        if adapted:
            raise _adapted_error(adapted)
        pinned = [op for op, _, _ in moved if op.device]
        if pinned:
            raise _pinned_error(pinned)
    if settings.log_device_placement:
        sys.stderr.write(device_placement_log(ops, devices))
        sys.stderr.flush()
    if moved:
        lines = [f"  {reason}" for _, _, reason in moved]
        absent = dict.fromkeys(op.device for op, _, _ in moved if op.device and DEVICES.find(op.device) is None)
        lines += [f"  {spec}: {missing_device(spec).removeprefix('but ')}" for spec in absent]
        warnings.warn(f"{len(moved)} op{'s' if len(moved) > 1 else ''} of this plan run{'' if len(moved) > 1 else 's'}"
                      f" on another device than the one asked for:\n" + "\n".join(lines),
                      PlacementWarning, stacklevel=_first_caller_outside_tensorflux())
    return devices


def fallback_reason(op: Any, device: Device | None, preferred: str | None = None, kernel: Any = None) -> str:
    """Why ``op`` runs on ``device`` rather than on the device it is pinned to, or on the preferred device type
    (``TENSORFLUX_DEVICE``, or ``preferred`` when given), or runs there with another device's ``kernel`` through
    the host adapter; '' when it runs where it was asked to, with the device's own kernel.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.extend import Device
        >>> fallback_reason(tf.constant(2.0).op, Device())  # not pinned, and no preferred device type
        ''
    """
    if kernel is not None and kernel.adapted_from and device is not None:
        return (f"Op '{op.name}' ({op.type}) has no kernel on {device.name}, where the variable it updates lives; "
                f"the {kernel.adapted_from} kernel runs there through the host adapter (copies to the host and back)")
    if device is None or op.colocate_with is not None:
        return ""
    if op.device:
        asked = DEVICES.find(op.device)
        if asked is device:
            return ""
        if asked is None:
            return f"Op '{op.name}' ({op.type}) is pinned to {op.device}, which is not available; it runs on " \
                   f"{device.name} instead"
        return f"Op '{op.name}' ({op.type}) {_problem(op, asked)}; it runs on {device.name} instead"
    preferred = _env.preferred_device_type() if preferred is None else preferred
    if not preferred or device.device_type == preferred or lookup_kernel(op.type, preferred, op.attrs) is None:
        return ""
    why = next((d.unavailable(op.type, op.attrs) for d in devices_of_type(preferred)), "")
    if not why:
        return ""
    return (f"Op '{op.name}' ({op.type}) cannot run on the preferred device type {preferred} ({why}); it runs on "
            f"{device.name} instead")


def device_placement_log(ops: list, devices: list) -> str:
    """The ``log_device_placement`` report of one plan: a header, then ``name: (Type): device`` per op.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.extend import Device
        >>> two = tf.constant(2.0, name="two")
        >>> print(device_placement_log([two.op, tf.no_op(name="nothing")], [Device(), None]), end="")
        Device placement of a new plan (2 ops):
        two: (Const): /host:0
        nothing: (NoOp): none (runs no kernel)
    """
    lines = [f"Device placement of a new plan ({len(ops)} op{'' if len(ops) == 1 else 's'}):"]
    for op, device in zip(ops, devices):
        where = device.name if device is not None else "none (runs no kernel)"
        asked = DEVICES.find(op.device) if op.device and device is not None else None
        if asked is not None and asked is not device:
            where += f" (fell back from {asked.name})"
        elif op.device and device is not None and asked is None:
            where += f" (fell back from {op.device}, which is not available)"
        lines.append(f"{op.name}: ({op.type}): {where}")
    return "\n".join(lines) + "\n"


def _why_unavailable(op: Any, asked: Device) -> str:
    """Why ``asked``'s kernel for ``op`` cannot run it now; '' when it has no kernel (or can run it)."""
    has_kernel = lookup_kernel(op.type, asked.device_type, op.attrs) is not None
    return asked.unavailable(op.type, op.attrs) if has_kernel else ""


def _problem(op: Any, asked: Device) -> str:
    why = _why_unavailable(op, asked)
    return f"cannot run on {asked.name} ({why})" if why else f"has no kernel on {asked.name}"


def _capable_devices(op: Any) -> str:
    names = [d.name for d in DEVICES.all()
             if lookup_kernel(op.type, d.device_type, op.attrs) is not None and not d.unavailable(op.type, op.attrs)]
    return ", ".join(names) or "none"


def _adapted_error(adapted: list) -> InvalidArgumentError:
    first, kdef = adapted[0]
    names = ", ".join(f"'{op.name}' ({op.type})" for op, _ in adapted)
    return InvalidArgumentError(
        f"Op {names} must run on {kdef.device_type}, where the variable it updates lives, which has no kernel for "
        f"it; the session's config has allow_soft_placement=False, which refuses running the {kdef.adapted_from} "
        "kernel there through the host adapter. Register the op's kernel for that device (the SDK's reference "
        "kernels have it), or set allow_soft_placement=True", first)


def missing_device(spec: str) -> str:
    """Why the device ``spec`` names is not there: what is, and what each installed plugin without devices says.

    Example:
        >>> import tensorflux as tf
        >>> _ = tf.Session()  # finds the installed device plugins
        >>> missing_device("/nowhere:0").startswith("but no such device is available (available: ")
        True
    """
    from .plugins import plugin_infos

    known = ", ".join(d.name for d in DEVICES.all()) or "none"
    silent = [f"plugin '{info.name}' found no device: {info.no_devices_reason}" for info in plugin_infos()
              if info.no_devices_reason]
    return f"but no such device is available (available: {known}" + "".join(f"; {s}" for s in silent) + ")"


def _pinned_error(pinned: list) -> InvalidArgumentError:
    first = pinned[0]
    asked = DEVICES.find(first.device)
    if asked is None:
        where = f"{first.device}, {missing_device(first.device)}"
    else:
        why = _why_unavailable(first, asked)
        where = f"{asked.name}, which {f'cannot run it ({why})' if why else 'has no kernel for it'}"
    message = (f"Op '{first.name}' ({first.type}) is pinned to {where}, and the session's "
               f"config has allow_soft_placement=False; devices that have a kernel for it: {_capable_devices(first)}. "
               "Pin it to one of them, or set allow_soft_placement=True to let it run there")
    if len(pinned) > 1:
        others = ", ".join(f"'{op.name}' ({op.type}) on {op.device}" for op in pinned[1:])
        message += f". {len(pinned) - 1} more op{'s' if len(pinned) > 2 else ''} cannot run where pinned: {others}"
    return InvalidArgumentError(message, first)


def _first_caller_outside_tensorflux() -> int:
    """The ``stacklevel`` that points a warning at the user's code, however deep in the package it was raised."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


__all__ = ["place_plan", "fallback_reason", "device_placement_log", "missing_device"]
