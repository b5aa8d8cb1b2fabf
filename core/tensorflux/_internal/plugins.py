"""Plugin discovery through entry points, and the registrar that attributes registrations.

Discovery is lazy: core's own built-in plugin registers when the op registry is first used,
and entry-point plugins when a session or a device query first needs them.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from .. import hookspec
from . import config
from .devices import Device, add_device_alias, remove_device_alias, set_alias_loader
from .registry import (
    CHECKPOINT_FORMATS,
    DEVICES,
    GRADIENTS,
    OPS,
    OPTIMIZERS,
    KernelDef,
    NoGradient,
    OpDef,
    add_kernel,
    remove_kernel,
)

ENTRY_POINT_GROUP = "tensorflux.plugins"
PHASES = (
    "tensorflux_register_ops",
    "tensorflux_register_devices",
    "tensorflux_register_kernels",
    "tensorflux_register_optimizers",
    "tensorflux_register_checkpoint_formats",
)


class PluginWarning(UserWarning):
    """A plugin was skipped; the message names it and its error."""


@dataclass
class PluginInfo:
    """What ``python -m tensorflux plugins`` shows for one plugin."""

    name: str
    version: str = ""
    contract: str = ""
    status: str = "ok"
    error: str = ""
    source: str = ""
    ops: list = field(default_factory=list)
    devices: list = field(default_factory=list)
    kernels: list = field(default_factory=list)
    optimizers: list = field(default_factory=list)
    checkpoint_formats: list = field(default_factory=list)
    no_devices_reason: str = ""
    aliases: list = field(default_factory=list)


class Registrar:
    """Passed to every registration hook; records what one plugin registers so it can be undone.

    Example (inside a plugin)::

        @hookimpl
        def tensorflux_register_kernels(registrar):
            registrar.kernel("Swish", "cpu", swish_kernel, dtypes=[tf.float32, tf.float64])
    """

    def __init__(self, info: PluginInfo) -> None:
        self.info = info
        self._undo: list[Callable[[], None]] = []

    @property
    def plugin_name(self) -> str:
        return self.info.name

    def op(self, op_def: OpDef) -> None:
        """Register an op definition."""
        OPS.add(op_def.name, op_def, self.info.name)
        self.info.ops.append(op_def.name)
        self._undo.append(lambda: OPS.remove(op_def.name))
        gradient = op_def.grad if op_def.grad is not None else (
            None if op_def.differentiable else NoGradient(op_def.source))
        if gradient is not None:
            GRADIENTS.add(op_def.name, gradient, self.info.name)
            self._undo.append(lambda: GRADIENTS.remove(op_def.name, gradient))

    def device(self, device: Device) -> None:
        """Register one device instance."""
        if not isinstance(device, Device):
            raise TypeError(f"registrar.device expects a tensorflux.extend.Device, got {type(device).__name__}")
        DEVICES.add(device.name, device, self.info.name)
        self.info.devices.append(device.name)
        self._undo.append(lambda: DEVICES.remove(device.name))

    def device_alias(self, alias: str, device_type: str) -> None:
        """Make device strings of type ``alias`` mean ``device_type``: ``device_alias("tpu", "tpu_sim")`` lets a
        graph say ``tf.device('/tpu:0')`` for ``'/tpu_sim:0'``. A built-in type or another plugin's alias is an
        error."""
        add_device_alias(alias, device_type, self.info.name)
        self.info.aliases.append(alias)
        self._undo.append(lambda: remove_device_alias(alias))

    def no_devices(self, reason: str) -> None:
        """Say why this plugin found no device (shown by ``python -m tensorflux devices``)."""
        self.info.no_devices_reason = reason

    def kernel(self, op: str, device_type: str, fn: Callable, dtypes: Any = None, type_attr: str = "T",
               priority: int = 0, also: dict | None = None) -> None:
        """Register ``fn`` as the kernel of ``op`` on ``device_type`` for ``dtypes`` (None: any) of ``type_attr``;
        ``also`` limits further type attributes, ``{"SrcT": [tf.float32, ...]}``."""
        from .dtypes import as_dtype

        if not OPS.has(op):
            raise KeyError(f"plugin '{self.info.name}' registers a kernel for unknown op '{op}'")
        dts = None if dtypes is None else tuple(as_dtype(d) for d in dtypes)
        limits = tuple((attr, tuple(as_dtype(d) for d in allowed)) for attr, allowed in (also or {}).items())
        kdef = KernelDef(op=op, device_type=device_type, fn=fn, dtypes=dts, type_attr=type_attr, also=limits,
                         priority=priority, plugin=self.info.name,
                         source=f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}")
        add_kernel(kdef)
        self.info.kernels.append(kdef)
        self._undo.append(lambda: remove_kernel(kdef))

    def kernels(self, device_type: str, table: dict, dtypes: Any = None) -> None:
        """Register many kernels at once: ``{op_name: fn}``, all for the same dtypes."""
        for op, fn in table.items():
            self.kernel(op, device_type, fn, dtypes=dtypes)

    def optimizer(self, name: str, cls: Any) -> None:
        """Register an optimizer class (a subclass of ``tf.train.Optimizer``) under ``name`` (case-insensitive)."""
        OPTIMIZERS.add(name, cls, self.info.name)
        self.info.optimizers.append(name)
        self._undo.append(lambda: OPTIMIZERS.remove(name))

    def checkpoint_format(self, name: str, fmt: Any) -> None:
        """Register a checkpoint format object under ``name`` (see ``tensorflux.extend.CheckpointFormat``)."""
        CHECKPOINT_FORMATS.add(name, fmt, self.info.name)
        self.info.checkpoint_formats.append(name)
        self._undo.append(lambda: CHECKPOINT_FORMATS.remove(name))

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.info.ops.clear()
        self.info.devices.clear()
        self.info.kernels.clear()
        self.info.optimizers.clear()
        self.info.checkpoint_formats.clear()
        self.info.aliases.clear()


class PluginManager:
    """Loads core's built-in plugin, then entry-point plugins, isolating each one's failures."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspec.PROJECT)
        self.pm.add_hookspecs(hookspec)
        self.plugins: dict[str, PluginInfo] = {}
        self._lock = threading.RLock()
        self._core_loaded = False
        self._discovered = False
        self._loading = False

    def ensure_core(self) -> None:
        if self._core_loaded:
            return
        with self._lock:
            if self._core_loaded:
                return
            self._core_loaded = True
            if _CORE_PLUGIN is None:
                raise RuntimeError("tensorflux's own plugin was never handed to the plugin manager; "
                                   "import tensorflux (the package root does it) before using the registries")
            info = PluginInfo(name="core", version=_core_version(), contract=hookspec.CONTRACT_VERSION,
                              source=getattr(_CORE_PLUGIN, "__name__", repr(_CORE_PLUGIN)))
            self._load([(info, _CORE_PLUGIN)])

    def ensure_discovered(self) -> None:
        if self._discovered:
            return
        with self._lock:
            if self._discovered or self._loading:
                return
            self._loading = True
            try:
                self.ensure_core()
                self._load(self._entry_point_plugins())
            finally:
                self._loading = False
                self._discovered = True

    def _entry_point_plugins(self) -> list:
        allow, deny = config.plugin_filter()
        found = []
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in self.plugins:
                continue
            version = ep.dist.version if ep.dist is not None else ""
            info = PluginInfo(name=ep.name, version=version, source=ep.value)
            self.plugins[ep.name] = info
            if ep.name in deny or (allow is not None and ep.name not in allow):
                info.status = "disabled"
                info.error = "disabled by TENSORFLUX_PLUGINS"
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must never break tensorflux
                self._mark_broken(info, f"import failed: {type(exc).__name__}: {exc}")
                continue
            found.append((info, obj))
        return found

    def _load(self, candidates: list) -> None:
        accepted = []
        for info, obj in candidates:
            self.plugins[info.name] = info
            declared = getattr(obj, "TENSORFLUX_CONTRACT", None)
            if declared is None:
                warnings.warn(
                    f"tensorflux plugin '{info.name}' ({info.source}) does not declare TENSORFLUX_CONTRACT; it is "
                    f"loaded as targeting contract {hookspec.CONTRACT_VERSION}. Add "
                    f"TENSORFLUX_CONTRACT = \"{hookspec.CONTRACT_VERSION}\" to the module its entry point names",
                    PluginWarning, stacklevel=3)
            contract = str(declared if declared is not None else hookspec.CONTRACT_VERSION)
            info.contract = contract
            problem = contract_problem(info.name, contract)
            if problem:
                info.status = "incompatible"
                info.error = problem
                warnings.warn(problem, PluginWarning, stacklevel=3)
                continue
            try:
                self.pm.register(obj, name=info.name)
            except Exception as exc:  # noqa: BLE001
                self._mark_broken(info, f"invalid hooks: {exc}")
                continue
            accepted.append((info, Registrar(info)))
        for phase in PHASES:
            for info, registrar in accepted:
                if info.status != "ok":
                    continue
                for impl in getattr(self.pm.hook, phase).get_hookimpls():
                    if impl.plugin_name != info.name:
                        continue
                    try:
                        impl.function(registrar=registrar)
                    except Exception as exc:  # noqa: BLE001
                        registrar.rollback()
                        self.pm.unregister(name=info.name)
                        self._mark_broken(info, f"{phase} raised {type(exc).__name__}: {exc}")

    def versions(self) -> dict[str, dict]:
        """What each loaded plugin's ``tensorflux_versions`` hook reports; a failing hook reports its error."""
        self.ensure_discovered()
        found: dict[str, dict] = {}
        for impl in self.pm.hook.tensorflux_versions.get_hookimpls():
            try:
                found[impl.plugin_name] = {str(k): str(v) for k, v in dict(impl.function()).items()}
            except Exception as exc:  # noqa: BLE001 - a diagnostic command must report, not crash
                found[impl.plugin_name] = {"error": f"tensorflux_versions raised {type(exc).__name__}: {exc}"}
        return found

    def _mark_broken(self, info: PluginInfo, error: str) -> None:
        info.status = "broken"
        info.error = error
        warnings.warn(f"tensorflux plugin '{info.name}' was skipped: {error}", PluginWarning, stacklevel=4)


def contract_problem(name: str, declared: str) -> str:
    """Return why a plugin's declared contract version is incompatible with core's, or ''."""
    try:
        p_major, p_minor = (int(x) for x in (declared.split(".") + ["0"])[:2])
    except ValueError:
        return f"tensorflux plugin '{name}' declares contract version '{declared}', which is not 'MAJOR.MINOR'"
    c_major, c_minor = (int(x) for x in hookspec.CONTRACT_VERSION.split(".")[:2])
    if p_major != c_major or p_minor > c_minor:
        newer = "tensorflux" if (p_major, p_minor) > (c_major, c_minor) else f"the plugin '{name}'"
        return (
            f"tensorflux plugin '{name}' targets plugin contract {declared}, but this tensorflux provides "
            f"contract {hookspec.CONTRACT_VERSION}; upgrade {newer} so the versions match"
        )
    return ""


def _core_version() -> str:
    try:
        return metadata.version("tensorflux")
    except metadata.PackageNotFoundError:
        return "0+unknown"


_CORE_PLUGIN: Any = None


def set_core_plugin(plugin: Any) -> None:
    """Hand core's own plugin (its op families, formats and optimizers) to the manager; the package root does.

    Example:
        >>> import tensorflux
        >>> from tensorflux._internal import plugins
        >>> plugins._CORE_PLUGIN.__name__
        'tensorflux._internal.builtin'
    """
    global _CORE_PLUGIN
    _CORE_PLUGIN = plugin


def _install(manager: "PluginManager") -> None:
    # The registries sit below this module: it tells them how to load plugins on first use.
    OPS.on_first_use = manager.ensure_core
    OPS.on_miss = lambda name: manager.ensure_discovered()
    GRADIENTS.on_first_use = manager.ensure_core
    GRADIENTS.on_miss = lambda name: manager.ensure_discovered()
    OPTIMIZERS.on_first_use = manager.ensure_discovered
    CHECKPOINT_FORMATS.on_first_use = manager.ensure_discovered
    set_alias_loader(lambda: manager.ensure_discovered() or manager._discovered)


MANAGER = PluginManager()
_install(MANAGER)


def ensure_discovered() -> None:
    """Load every entry-point plugin once (idempotent, thread-safe)."""
    MANAGER.ensure_discovered()


def plugin_infos() -> list[PluginInfo]:
    """Every plugin seen, loaded or not, after discovery."""
    ensure_discovered()
    return list(MANAGER.plugins.values())


def plugin_versions() -> dict[str, dict]:
    """Each plugin's own dependencies and drivers with their versions (its ``tensorflux_versions`` hook).

    Example:
        >>> from tensorflux.extend import plugin_versions
        >>> "numba" in plugin_versions().get("cpu", {"numba": ""})
        True
    """
    return MANAGER.versions()


def reload_for_tests() -> None:
    """Forget every plugin and registration and discover again (used by tests that install plugins)."""
    global MANAGER
    for info in list(MANAGER.plugins.values()):
        for kdef in info.kernels:
            remove_kernel(kdef)
        for d in info.devices:
            DEVICES.remove(d)
        for alias in info.aliases:
            remove_device_alias(alias)
        if info.name != "core":  # core's hooks do not run again, so its registrations stay
            for n in info.optimizers:
                OPTIMIZERS.remove(n)
            for n in info.checkpoint_formats:
                CHECKPOINT_FORMATS.remove(n)
            for o in info.ops:
                OPS.remove(o)
                GRADIENTS.remove(o)
    core_info = MANAGER.plugins.get("core")
    MANAGER = PluginManager()
    if core_info is not None:
        MANAGER._core_loaded = True
        MANAGER.plugins["core"] = core_info
    _install(MANAGER)
    importlib.invalidate_caches()
