"""``tf.ConfigProto`` and its nested options: the session settings TF-1.x scripts pass, checked by name and type.

Only the placement fields, and Tensorflux's own ``plan_cache_size`` and ``disable_passes``, change what a
session does; the others are accepted so that scripts written for TF run unchanged, and each says in
``ConfigProto``'s docstring why it has no effect here. A misspelt field is an error naming the known ones,
not a setting silently ignored.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any, Callable, ClassVar, NamedTuple


class _Field(NamedTuple):
    default: Callable[[], Any]
    check: Callable[[str, Any], Any]  # (the field's qualified name, a value) -> the value stored; raises if bad


def _boolean(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where} must be a bool, got {value!r} ({type(value).__name__})")
    return value


def _integer(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where} must be an int, got {value!r} ({type(value).__name__})")
    return int(value)


def _fraction(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise TypeError(f"{where} must be a number >= 0 (a fraction of the device's memory), got {value!r}")
    return float(value)


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where} must be a str, got {value!r} ({type(value).__name__})")
    return value


def _texts(where: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"{where} must be a list of str, got {value!r}")
    items = list(value)
    for item in items:
        _text(f"an item of {where}", item)
    return items


def _device_counts(where: str, value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be a dict of device type to count, such as {{'GPU': 0}}, got {value!r}")
    return {_text(f"a key of {where}", k): _integer(f"{where}[{k!r}]", v) for k, v in value.items()}


def _plan_cache_size(where: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0):
        raise ValueError(f"Session config: plan_cache_size must be an int >= 0 (0 turns plan caching off), got "
                         f"{value!r}")
    return value


def _pass_names(where: str, value: Any) -> Any:
    # Which names exist is checked by passes.disabled_passes when the session starts; here only the form.
    if value is True or value == "all":
        return "all"
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    return tuple(_texts(where, value))


def _device_options(where: str, value: Any) -> dict[str, dict]:
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise TypeError(f"{where} must be a dict of device type to a dict of that device's settings, such as "
                        f"{{'tpu_sim': {{'precision': 'HIGHEST'}}}}, got {value!r}")
    return {_text(f"a key of {where}", k).lower(): dict(v) for k, v in value.items()}


def _anything(where: str, value: Any) -> Any:
    return value


def _message(kind: type) -> Callable[[str, Any], Any]:
    def check(where: str, value: Any) -> Any:
        return _coerce(kind, value, where)

    return check


class _Message:
    """A protobuf-like record: known fields only, each checked when set; unset fields read as their defaults."""

    _FIELDS: ClassVar[dict[str, _Field]] = {}

    def __init__(self, **fields: Any) -> None:
        for name in fields:
            if name not in self._FIELDS:
                raise TypeError(self._unknown(name))
        for name, field in self._FIELDS.items():
            object.__setattr__(self, name, field.default())
        for name, value in fields.items():
            setattr(self, name, value)

    @classmethod
    def _unknown(cls, name: str) -> str:
        return f"{cls.__name__} has no field '{name}'; known fields: {', '.join(cls._FIELDS)}"

    def __setattr__(self, name: str, value: Any) -> None:
        field = self._FIELDS.get(name)
        if field is None:
            raise AttributeError(self._unknown(name))
        object.__setattr__(self, name, field.check(f"{type(self).__name__}.{name}", value))

    def _copy(self) -> Any:
        """A copy whose nested options, lists and dicts are copies too (what a session keeps)."""
        copy = type(self)()
        for name in self._FIELDS:
            value = getattr(self, name)
            if isinstance(value, _Message):
                value = value._copy()
            elif isinstance(value, (list, dict)):
                value = type(value)(value)
            object.__setattr__(copy, name, value)
        return copy

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a protobuf message

    def __repr__(self) -> str:
        defaults = type(self)()
        changed = [f"{n}={getattr(self, n)!r}" for n in self._FIELDS if getattr(self, n) != getattr(defaults, n)]
        return f"{type(self).__name__}({', '.join(changed)})"


def _coerce(kind: type, value: Any, where: str) -> Any:
    """``value`` as a ``kind``: itself, a dict of its fields, or any object with some of its fields as attributes
    (TensorFlow's own protos included)."""
    if isinstance(value, kind):
        return value
    if value is None:
        return kind()
    if isinstance(value, Mapping):
        return kind(**value)
    present = {name: getattr(value, name) for name in kind._FIELDS if hasattr(value, name)}
    if not present:
        raise TypeError(f"{where} must be a {kind.__name__} or a dict of its fields "
                        f"({', '.join(kind._FIELDS)}), got {value!r}")
    return kind(**present)


class OptimizerOptions(_Message):
    """TF's graph optimizer switches: accepted, with no effect (use ``ConfigProto(disable_passes=...)``).

    Example:
        >>> import tensorflux as tf
        >>> tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0).opt_level
        -1
    """

    L1, L0 = 0, -1  # opt_level
    DEFAULT, OFF, ON_1, ON_2 = 0, -1, 1, 2  # global_jit_level
    _FIELDS: ClassVar[dict[str, _Field]] = {
        "do_common_subexpression_elimination": _Field(lambda: False, _boolean),
        "do_constant_folding": _Field(lambda: False, _boolean),
        "do_function_inlining": _Field(lambda: False, _boolean),
        "opt_level": _Field(lambda: 0, _integer),
        "global_jit_level": _Field(lambda: 0, _integer),
    }


class GraphOptions(_Message):
    """TF's graph options: accepted, with no effect here (Tensorflux's graph passes are set with
    ``ConfigProto(disable_passes=...)`` or ``TENSORFLUX_DISABLE_PASSES``).

    Example:
        >>> import tensorflux as tf
        >>> config = tf.ConfigProto()
        >>> config.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
        >>> config.graph_options.optimizer_options.global_jit_level
        1
    """

    _FIELDS: ClassVar[dict[str, _Field]] = {
        "optimizer_options": _Field(OptimizerOptions, _message(OptimizerOptions)),
        "rewrite_options": _Field(lambda: None, _anything),
        "infer_shapes": _Field(lambda: False, _boolean),
        "place_pruned_graph": _Field(lambda: False, _boolean),
        "build_cost_model": _Field(lambda: 0, _integer),
        "enable_bfloat16_sendrecv": _Field(lambda: False, _boolean),
    }


class GPUOptions(_Message):
    """TF's GPU memory options: accepted, with no effect here. Device plugins allocate as they see fit; the
    OpenCL plugin allocates on demand and reuses buffers, which is TF's ``allow_growth=True``.

    Example:
        >>> import tensorflux as tf
        >>> tf.ConfigProto(gpu_options=tf.GPUOptions(per_process_gpu_memory_fraction=0.5)).gpu_options
        GPUOptions(per_process_gpu_memory_fraction=0.5)
    """

    _FIELDS: ClassVar[dict[str, _Field]] = {
        "allow_growth": _Field(lambda: False, _boolean),
        "per_process_gpu_memory_fraction": _Field(lambda: 0.0, _fraction),
        "visible_device_list": _Field(lambda: "", _text),
    }


class ConfigProto(_Message):
    """A session's settings, with TF 1.x's field names: ``tf.Session(config=tf.ConfigProto(...))``.

    Fields that take effect:

    - ``log_device_placement`` (default False): when a session compiles a plan, it prints each op of the
      plan and the device it runs on to stderr, one line per op (``name: (Type): /cpu:0``). A cached plan
      that is run again prints nothing.
    - ``allow_soft_placement`` (default **True**, where TF 1.x's is False): an op pinned with ``tf.device``
      to a device that has no kernel for it, or that cannot run it now, runs on a device that can, and
      each new plan reports the ops that moved in one ``PlacementWarning``. False makes that an
      ``InvalidArgumentError`` naming the op, the device asked for and the devices that have a kernel, as
      in TF 1.x. The default differs on purpose: plugin devices often lack a kernel or two, and a script
      should run (and say so) rather than stop.
    - ``plan_cache_size`` (Tensorflux's own; default None, meaning 256): the most compiled plans a session
      keeps, least recently used dropped first; 0 turns caching off.
    - ``disable_passes`` (Tensorflux's own): graph passes to switch off, a list of names or ``"all"``.
    - ``device_options`` (Tensorflux's own): settings for device plugins, ``{device type: {name: value}}``,
      which a device that compiles runs of ops (``Device.compile_segment``) reads; each plugin documents
      its names (the tpu_sim plugin's ``precision`` and ``chip``, in docs/tpu-sim.md).

    Accepted with no effect, so that TF scripts run unchanged:

    - ``device_count``: the devices are those of the installed plugins (``TENSORFLUX_PLUGINS`` picks them,
      ``tf.device`` pins ops to one).
    - ``inter_op_parallelism_threads``, ``intra_op_parallelism_threads``, ``use_per_session_threads``: a
      plan runs its ops one after another on the thread that calls ``run``; kernels thread as their
      plugin does (the cpu plugin sizes its BLAS threads itself).
    - ``gpu_options`` (:class:`GPUOptions`), ``graph_options`` (:class:`GraphOptions`),
      ``operation_timeout_in_ms``, ``device_filters``: no GPU memory pool, no TF graph optimizer, no
      timeouts and no cluster to filter here.

    Each field is checked when set, in the constructor or later (``config.gpu_options.allow_growth =
    True`` works, as in TF); an unknown name raises, listing the known ones. A session checks its config
    when it starts and reads it when it compiles a plan. A dict of these fields, or any object with some of
    them as attributes, works as a session config too.

    Example:
        >>> import tensorflux as tf
        >>> config = tf.ConfigProto(log_device_placement=False, allow_soft_placement=True)
        >>> config.gpu_options.allow_growth = True
        >>> config
        ConfigProto(gpu_options=GPUOptions(allow_growth=True))
        >>> tf.ConfigProto(log_device_placment=True)
        Traceback (most recent call last):
        ...
        TypeError: ConfigProto has no field 'log_device_placment'; known fields: log_device_placement, \
allow_soft_placement, plan_cache_size, disable_passes, device_options, device_count, \
inter_op_parallelism_threads, intra_op_parallelism_threads, use_per_session_threads, gpu_options, graph_options, \
operation_timeout_in_ms, device_filters
    """

    _FIELDS: ClassVar[dict[str, _Field]] = {
        "log_device_placement": _Field(lambda: False, _boolean),
        "allow_soft_placement": _Field(lambda: True, _boolean),
        "plan_cache_size": _Field(lambda: None, _plan_cache_size),
        "disable_passes": _Field(tuple, _pass_names),
        "device_options": _Field(dict, _device_options),
        "device_count": _Field(dict, _device_counts),
        "inter_op_parallelism_threads": _Field(lambda: 0, _integer),
        "intra_op_parallelism_threads": _Field(lambda: 0, _integer),
        "use_per_session_threads": _Field(lambda: False, _boolean),
        "gpu_options": _Field(GPUOptions, _message(GPUOptions)),
        "graph_options": _Field(GraphOptions, _message(GraphOptions)),
        "operation_timeout_in_ms": _Field(lambda: 0, _integer),
        "device_filters": _Field(list, _texts),
    }


def session_config(config: Any = None) -> ConfigProto:
    """A session's ``config`` argument as a ConfigProto of its own: None, a ConfigProto (copied), a dict of
    ConfigProto fields, or any object with some of them as attributes (such as TensorFlow's own ConfigProto).

    Example:
        >>> session_config({"log_device_placement": True, "plan_cache_size": 8})
        ConfigProto(log_device_placement=True, plan_cache_size=8)
        >>> session_config(None) == ConfigProto()
        True
    """
    if isinstance(config, ConfigProto):
        return config._copy()
    if config is None:
        return ConfigProto()
    return _coerce(ConfigProto, config, "Session config")


__all__ = ["ConfigProto", "GPUOptions", "GraphOptions", "OptimizerOptions", "session_config"]
