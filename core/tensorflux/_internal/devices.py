"""Device specs and the Device base class that device plugins subclass (the registry is in ``registry.py``)."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

_ALIASES = {"gpu": "cuda"}
_NEVER_ALIASES = frozenset({"cpu", "host"})  # no plugin may alias these, so naming them loads no plugin
# Device-type aliases that plugins register (``Registrar.device_alias``): alias -> (device type, plugin).
_PLUGIN_ALIASES: dict[str, tuple[str, str]] = {}
_SPEC_RE = re.compile(r"^/?(?:device:)?([A-Za-z_]+)(?::(\d+|\*))?$")
# Loads the installed plugins, so that their aliases are known when a graph names a device, and says whether they
# are loaded (not while discovery runs); the plugin manager installs it, as this module sits below it.
_load_plugins: Callable[[], bool] = lambda: False
_known_types: set[str] = set()  # types seen not to be aliases once the plugins were loaded


def set_alias_loader(load: Callable[[], bool]) -> None:
    """Install what loads the plugins before an unknown device type is taken as no alias (the plugin manager)."""
    global _load_plugins
    _load_plugins = load
    _known_types.clear()


def add_device_alias(alias: str, device_type: str, owner: str = "") -> None:
    """Make device strings of type ``alias`` mean ``device_type`` (``'/tpu:0'`` -> ``'/tpu_sim:0'``).

    Example:
        >>> add_device_alias("fancy", "mydev", owner="example")
        >>> canonical_device("/device:FANCY:1")
        '/mydev:1'
        >>> remove_device_alias("fancy")
    """
    alias, device_type = alias.lower(), device_type.lower()
    for name in (alias, device_type):
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"device alias '{alias}' -> '{device_type}': '{name}' is not a device type "
                             "(letters and underscores)")
    if alias == device_type or alias in _ALIASES or alias in _NEVER_ALIASES:
        raise ValueError(f"plugin '{owner}' cannot alias device type '{alias}' to '{device_type}': '{alias}' is "
                         "a built-in device type or alias")
    taken = _PLUGIN_ALIASES.get(alias)
    if taken is not None and taken[0] != device_type:
        raise ValueError(f"device alias '{alias}' is already registered by plugin '{taken[1]}' (for "
                         f"'{taken[0]}'); plugin '{owner}' tried to make it '{device_type}'")
    _PLUGIN_ALIASES[alias] = (device_type, owner)
    _known_types.discard(alias)


def remove_device_alias(alias: str) -> None:
    """Forget a plugin's device alias (when its plugin is unloaded)."""
    _PLUGIN_ALIASES.pop(alias.lower(), None)


def _resolve_type(dev_type: str) -> str:
    if dev_type in _ALIASES:
        return _ALIASES[dev_type]
    if dev_type not in _PLUGIN_ALIASES and dev_type not in _known_types and dev_type not in _NEVER_ALIASES:
        if _load_plugins() and dev_type not in _PLUGIN_ALIASES:  # once loaded, a later call is a flag check
            _known_types.add(dev_type)
    entry = _PLUGIN_ALIASES.get(dev_type)
    return entry[0] if entry is not None else dev_type


def canonical_device(spec: str) -> str:
    """Normalize a device string to ``'/type:index'``; '' means no constraint.

    Accepts '/cpu:0', 'cpu', '/device:CPU:0' and '/job:localhost/replica:0/task:0/device:CPU:0'. A device type
    that is an alias becomes the type it stands for: 'gpu' is 'cuda', and plugins add theirs (the tpu_sim
    plugin makes 'tpu' its own 'tpu_sim'), so an unknown type first loads the installed plugins.

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
    dev_type = _resolve_type(m.group(1).lower())
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

    def compile_segment(self, segment: Any) -> Callable | None:
        """One callable that replaces a run of pure ops placed here, or None to leave them as they are.

        Optional (XLA's clusters): the ``compile`` graph pass hands a device that overrides this each maximal
        run of pure kernel nodes placed on it, as a ``tensorflux.extend.Segment`` (its ops, their bound
        kernels, where each input comes from, which values leave it). The callable takes the segment's
        ``inputs`` positionally and returns a tuple with one value per ``outputs``; an exception it raises
        for one op should carry that op as ``exc.tensorflux_op`` so the error names it. The default compiles
        nothing.

        Example:
            >>> from tensorflux.extend import Device
            >>> Device(0).compile_segment(None) is None
            True
        """
        return None

    def conformance_tolerance(self, op_types: set, dtype: Any) -> tuple[float, float] | None:
        """``(rtol, atol)`` the conformance suite compares a float result of a graph of ``op_types`` at ``dtype``
        with, the absolute part relative to the largest magnitude of the reference; None keeps the dtype's own.

        A device whose arithmetic is deliberately coarser for some ops says so here (the tpu_sim plugin's
        matrix units take bfloat16 inputs: ``(1e-2, 1e-2)`` for graphs with a MatMul or a convolution).

        Example:
            >>> from tensorflux.extend import Device
            >>> Device(0).conformance_tolerance({"MatMul"}, None) is None
            True
        """
        return None

    def __repr__(self) -> str:
        return f"<Device {self.name}>"
