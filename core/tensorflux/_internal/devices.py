"""Device specs and the Device base class that device plugins subclass (the registry is in ``registry.py``)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_ALIASES = {"gpu": "cuda"}
_SPEC_RE = re.compile(r"^/?(?:device:)?([A-Za-z_]+)(?::(\d+|\*))?$")


def canonical_device(spec: str) -> str:
    """Normalize a device string to ``'/type:index'``; '' means no constraint.

    Accepts '/cpu:0', 'cpu', '/device:CPU:0' and '/job:localhost/replica:0/task:0/device:CPU:0'.

    Example:
        >>> from tensorflux.extend import canonical_device
        >>> canonical_device('/device:CPU:0'), canonical_device('/gpu:1')
        ('/cpu:0', '/cuda:1')
    """
    if spec is None or spec == "":
        return ""
    if not isinstance(spec, str):
        spec = getattr(spec, "name", None) or str(spec)
    parts = [p for p in spec.split("/") if p]
    parts = [p for p in parts if p.split(":")[0] not in ("job", "replica", "task")]
    if not parts:
        return ""
    text = "/".join(parts)
    m = _SPEC_RE.match(text)
    if not m:
        raise ValueError(
            f"Cannot parse device specification '{spec}'; expected a form like '/cpu:0' or '/device:CPU:0'"
        )
    dev_type = m.group(1).lower()
    dev_type = _ALIASES.get(dev_type, dev_type)
    index = m.group(2) or "0"
    if index == "*":
        index = "0"
    return f"/{dev_type}:{index}"


def device_type_of(name: str) -> str:
    return name[1:].split(":")[0] if name else ""


class Device:
    """Base class for a device a plugin provides. Host-memory devices need override nothing.

    A device plugin subclasses this, sets ``device_type``, and overrides ``from_host``,
    ``to_host`` (and optionally ``copy_from``) when its memory is not host numpy memory.

    Example:
        >>> from tensorflux.extend import Device
        >>> class MyDevice(Device):
        ...     device_type = "mydev"
        >>> MyDevice(0).name
        '/mydev:0'
    """

    device_type = "host"
    priority = 0
    host_memory = True

    def __init__(self, index: int = 0) -> None:
        self.index = index

    @property
    def name(self) -> str:
        return f"/{self.device_type}:{self.index}"

    def from_host(self, array: np.ndarray) -> Any:
        """Copy a host array onto this device."""
        return array

    def to_host(self, value: Any) -> np.ndarray:
        """Copy a device value back to a host numpy array."""
        return value

    def copy_from(self, value: Any, source: "Device") -> Any:
        """Copy ``value`` living on ``source`` onto this device; default goes through the host."""
        if source.host_memory and self.host_memory:
            return value
        return self.from_host(source.to_host(value))

    def describe(self) -> dict:
        """Human-readable facts for ``python -m tensorflux devices`` (platform, name, memory...)."""
        return {}

    def unavailable(self, op_type: str, attrs: dict) -> str:
        """Why this device cannot run ``op_type`` now although a kernel is registered for it ('' when it can).

        Placement asks before choosing the device, and an op it cannot run goes to another device with a
        ``PlacementWarning`` stating the reason. A device whose driver may fail to build a kernel overrides
        this; the default reports ops marked with :meth:`mark_unavailable`.

        Example:
            >>> from tensorflux.extend import Device
            >>> d = Device(0)
            >>> d.mark_unavailable("MatMul", "the driver cannot build the gemm")
            >>> d.unavailable("MatMul", {}), d.unavailable("AddV2", {})
            ('the driver cannot build the gemm', '')
        """
        marked = self.__dict__.get("_unavailable_ops")
        return marked.get(op_type, "") if marked else ""

    def mark_unavailable(self, op_type: str, reason: str) -> None:
        """Record that ``op_type`` cannot run here (the executor calls this when a kernel raises KernelUnavailable)."""
        self.__dict__.setdefault("_unavailable_ops", {})[op_type] = reason

    def health_check(self) -> str:
        """'' when the device works, else why not; ``python -m tensorflux devices`` shows it.

        A device whose driver can crash overrides this with a check that builds and runs a small kernel set
        where a crash cannot take the caller down (a child process). The default has nothing to check.

        Example:
            >>> from tensorflux.extend import Device
            >>> Device(0).health_check()
            ''
        """
        return ""

    def __repr__(self) -> str:
        return f"<Device {self.name}>"
