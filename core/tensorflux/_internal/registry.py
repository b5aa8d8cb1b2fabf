"""The op registry (one OpDef per op) and the kernel registry (per op, device type and dtype)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import dtypes as _dtypes

REQUIRED = object()
_SPEC_RE = re.compile(r"^(\*?)(\w+)\s*:\s*(ref\s+)?(\w+)$")


@dataclass(frozen=True)
class ArgSpec:
    """One input or output of an op: ``"x: T"``, ``"*values: T"`` (variadic) or ``"ref: ref T"``."""

    name: str
    type_spec: str
    variadic: bool = False
    is_ref: bool = False

    @classmethod
    def parse(cls, text: str) -> "ArgSpec":
        m = _SPEC_RE.match(text.strip())
        if not m:
            raise ValueError(f"Bad argument spec {text!r}; expected 'name: T', '*name: T' or 'name: ref T'")
        return cls(name=m.group(2), type_spec=m.group(4), variadic=bool(m.group(1)), is_ref=bool(m.group(3)))

    def fixed_dtype(self) -> _dtypes.DType | None:
        # Only a dtype's name fixes the type ("int32"); any other spec names a type attr ("T", "dtype", and "U",
        # which numpy alone would read as its unicode dtype).
        if self.type_spec not in _dtypes._BY_NAME:
            return None
        return _dtypes.as_dtype(self.type_spec)


@dataclass
class AttrDef:
    """A typed attribute; ``kind`` is one of type, int, float, bool, string, shape, tensor, list(int), list(type)."""

    name: str
    kind: str
    default: Any = REQUIRED
    allowed: tuple | None = None


@dataclass
class OpDef:
    """Everything core knows about one op: signature, attributes, shape function and gradient.

    Example:
        >>> from tensorflux.extend import OpDef
        >>> d = OpDef("Swish", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"},
        ...           shape_fn=lambda op: [op.inputs[0].shape])
        >>> d.input_specs[0].name
        'x'
    """

    name: str
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    attrs: dict = field(default_factory=dict)
    shape_fn: Callable | None = None
    grad: Callable | None = None
    stateful: bool = False
    differentiable: bool = True
    doc: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        self.input_specs = tuple(ArgSpec.parse(s) for s in self.inputs)
        self.output_specs = tuple(ArgSpec.parse(s) for s in self.outputs)
        self.attr_defs: dict[str, AttrDef] = {}
        for name, spec in self.attrs.items():
            if isinstance(spec, AttrDef):
                self.attr_defs[name] = spec
            elif isinstance(spec, str):
                self.attr_defs[name] = AttrDef(name, spec)
            else:
                kind, default, *rest = spec
                self.attr_defs[name] = AttrDef(name, kind, default, tuple(rest[0]) if rest else None)
        if not self.source:
            self.source = _caller_location()


def _caller_location() -> str:
    for frame in inspect.stack()[2:8]:
        if "registry.py" not in frame.filename and "dataclasses" not in frame.filename and "<string>" not in frame.filename:
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


@dataclass
class KernelDef:
    """A kernel: a callable for one op on one device type, limited to some dtypes of its type attr."""

    op: str
    device_type: str
    fn: Callable
    dtypes: tuple | None = None
    type_attr: str = "T"
    priority: int = 0
    plugin: str = ""
    source: str = ""
    wants_ctx: bool = False
    wants_donated: bool = False
    attr_params: tuple = ()
    # Further type attributes the kernel limits, {attr: dtypes}: Cast's kernel is keyed by DstT but its device
    # may not hold every SrcT either.
    also: tuple = ()
    # Set on a host-memory device's kernel that placement runs on another device through the host adapter:
    # the device type whose kernel it is.
    adapted_from: str = ""

    def supports(self, attrs: dict) -> bool:
        if self.dtypes is not None and attrs.get(self.type_attr) not in self.dtypes:
            return False
        return all(attr not in attrs or _allowed(attrs[attr], allowed) for attr, allowed in self.also)


def _allowed(value: Any, allowed: tuple) -> bool:
    """Whether a type attr's value (a dtype, or a list(type) attr's dtypes) is among ``allowed``."""
    if isinstance(value, (list, tuple)):
        return all(v in allowed for v in value)
    return value in allowed


class DuplicateRegistrationError(ValueError):
    """A second registration of a name that must be unique; names both places."""


def _always_clash(old: Any, new: Any) -> bool:
    return old is not new


class Registry:
    """One table of things plugins register (ops, kernels, devices, optimizers, checkpoint formats).

    Each key holds one entry, or several where ``clash`` lets them coexist (kernels of one op on one device
    type differ by dtypes and priority); ``rank`` orders a key's entries, first wins. A clashing registration
    raises :class:`DuplicateRegistrationError` naming both owners. The layers above fill the table and may
    install ``validate(key, item, owner)``; the plugin manager installs ``on_first_use`` and ``on_miss``, so
    this module depends on nothing but dtypes.

    Example:
        >>> r = Registry("widget")
        >>> r.add("a", 1, owner="p1")
        >>> r.get("a"), r.owner("a"), r.names()
        (1, 'p1', ['a'])
        >>> try:
        ...     r.add("a", 2, owner="p2")
        ... except DuplicateRegistrationError as exc:
        ...     print(exc)
        Widget 'a' is already registered by plugin 'p1'; plugin 'p2' tried to register it again
    """

    def __init__(self, what: str, *, fold_case: bool = False, clash: Callable[[Any, Any], bool] = _always_clash,
                 rank: Callable[[Any], Any] | None = None, describe: Callable[..., str] | None = None) -> None:
        self.what = what
        self._fold_case = fold_case
        self._clash = clash
        self._rank = rank
        self._describe = describe
        self._entries: dict[Any, list] = {}
        self._owners: dict[int, str] = {}
        self.validate: Callable[[Any, Any, str], None] | None = None
        self.on_first_use: Callable[[], None] = lambda: None
        self.on_miss: Callable[[Any], None] = lambda key: None

    def _key(self, key: Any) -> Any:
        return key.lower() if self._fold_case and isinstance(key, str) else key

    def add(self, key: Any, item: Any, owner: str = "") -> None:
        """Register ``item`` under ``key`` for plugin ``owner``; a clash raises naming both owners."""
        if self.validate is not None:
            self.validate(key, item, owner)
        bucket = self._entries.setdefault(self._key(key), [])
        for other in bucket:
            if other is item:
                return
            if self._clash(other, item):
                first_owner = self._owners.get(id(other), "")
                if self._describe is not None:
                    raise DuplicateRegistrationError(self._describe(key, other, item, first_owner, owner))
                raise DuplicateRegistrationError(
                    f"{self.what.capitalize()} '{key}' is already registered by plugin '{first_owner}'; "
                    f"plugin '{owner}' tried to register it again")
        bucket.append(item)
        self._owners[id(item)] = owner
        if self._rank is not None:
            bucket.sort(key=self._rank)

    def remove(self, key: Any, item: Any = None) -> None:
        """Forget ``key`` (or only ``item`` among its entries)."""
        k = self._key(key)
        bucket = self._entries.get(k, [])
        for other in [x for x in bucket if item is None or x is item]:
            bucket.remove(other)
            self._owners.pop(id(other), None)
        if not bucket:
            self._entries.pop(k, None)

    def entries(self, key: Any) -> list:
        """Every entry under ``key``, best first (empty when none)."""
        self.on_first_use()
        return list(self._entries.get(self._key(key), ()))

    def find(self, key: Any, accept: Callable[[Any], bool] | None = None) -> Any:
        """The best entry under ``key`` that ``accept`` takes (any, when None), else None."""
        self.on_first_use()
        for item in self._entries.get(self._key(key), ()):
            if accept is None or accept(item):
                return item
        return None

    def get(self, key: Any) -> Any:
        """The entry under ``key``; asks ``on_miss`` once, then raises KeyError listing what is known."""
        item = self.find(key)
        if item is None:
            self.on_miss(key)
            item = self.find(key)
        if item is None:
            names = sorted((str(k) for k in self._entries), key=str.lower)
            known = ", ".join(names[:40]) + (f" and {len(names) - 40} more" if len(names) > 40 else "") or "none"
            raise KeyError(f"No {self.what} named '{key}' is registered; known: {known}. "
                           "Is the plugin that provides it installed?")
        return item

    def has(self, key: Any) -> bool:
        self.on_first_use()
        return bool(self._entries.get(self._key(key)))

    def names(self) -> list:
        """Every key, sorted."""
        self.on_first_use()
        return sorted(self._entries, key=str)

    def all(self) -> list:
        """Every entry of every key, in registration order of the keys."""
        self.on_first_use()
        return [item for bucket in self._entries.values() for item in bucket]

    def owner(self, key: Any) -> str:
        """The plugin that registered ``key``'s best entry ('' when none)."""
        item = self.find(key)
        return self._owners.get(id(item), "") if item is not None else ""


def _names(dts: Iterable | None) -> str:
    return "any" if dts is None else "[" + ", ".join(d.name for d in dts) + "]"


def _kernel_clash(old: KernelDef, new: KernelDef) -> bool:
    return (old.dtypes == new.dtypes and old.also == new.also and old.priority == new.priority
            and old.fn is not new.fn)


def _describe_kernel(key: Any, first: KernelDef, second: KernelDef, first_owner: str, second_owner: str) -> str:
    return (f"Kernel for op '{first.op}' on device type '{first.device_type}' with dtypes {_names(first.dtypes)} is "
            f"already registered by plugin '{first.plugin}' ({first.source}); second registration by plugin "
            f"'{second.plugin}' ({second.source})")


def _describe_op(key: Any, first: OpDef, second: OpDef, first_owner: str, second_owner: str) -> str:
    return f"Op '{first.name}' is already registered (first at {first.source}); second registration at {second.source}"


class NoGradient:
    """The gradient store's entry for an op type declared not differentiable (its inputs get None)."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source


def where_defined(fn: Any) -> str:
    """``file:line`` of a function, for messages that name two registrations."""
    if isinstance(fn, NoGradient):
        return fn.source
    code = getattr(fn, "__code__", None)
    if code is None:
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    return f"{code.co_filename}:{code.co_firstlineno}"


def _describe_gradient(key: Any, first: Any, second: Any, first_owner: str, second_owner: str) -> str:
    what = "declared not differentiable" if isinstance(first, NoGradient) else "already registered"
    return (f"A gradient for op type '{key}' is {what} (first at {where_defined(first)}); second registration "
            f"at {where_defined(second)}")


OPS = Registry("op", describe=_describe_op)
# The one gradient store: op type -> gradient function, or NoGradient. An OpDef's ``grad`` (or
# ``differentiable=False``) is filed here when the op is registered; tf.RegisterGradient and
# tf.NotDifferentiable file directly.
GRADIENTS = Registry("gradient", describe=_describe_gradient)
KERNELS = Registry("kernel", clash=_kernel_clash, rank=lambda k: -k.priority, describe=_describe_kernel)
DEVICES = Registry("device")
OPTIMIZERS = Registry("optimizer", fold_case=True)
CHECKPOINT_FORMATS = Registry("checkpoint format", fold_case=True)


def add_kernel(kdef: KernelDef) -> None:
    """Register ``kdef`` under (op, device type), noting which keyword parameters its function takes."""
    read_parameters(kdef)
    KERNELS.add((kdef.op, kdef.device_type), kdef, kdef.plugin)


def kernel_parameters(fn: Callable) -> dict[str, inspect.Parameter]:
    """A kernel function's parameters by name (none for numpy ufuncs and builtins, which take inputs only)."""
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def attr_parameters(params: dict[str, inspect.Parameter]) -> list[inspect.Parameter]:
    """The attribute parameters among a kernel's ``params``: keyword-only, other than ``ctx`` and ``donated``."""
    return [p for p in params.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("ctx", "donated")]


def read_parameters(kdef: KernelDef) -> KernelDef:
    """Note on ``kdef`` whether its function takes ``ctx`` and ``donated``, and which attributes it names."""
    params = kernel_parameters(kdef.fn)
    kdef.wants_ctx = "ctx" in params
    # A kernel with a keyword-only ``donated`` parameter may write its result into the inputs at those
    # positions: the executor passes the ones that are dead after this step and referenced by nobody else.
    kdef.wants_donated = "donated" in params
    kdef.attr_params = tuple(p.name for p in attr_parameters(params))
    return kdef


def remove_kernel(kdef: KernelDef) -> None:
    KERNELS.remove((kdef.op, kdef.device_type), kdef)


def lookup_kernel(op: str, device_type: str, attrs: dict) -> KernelDef | None:
    """The best kernel of ``op`` on ``device_type`` that handles ``attrs``' dtypes, else None."""
    return KERNELS.find((op, device_type), lambda k: k.supports(attrs))


def kernels_for_device(device_type: str) -> list[KernelDef]:
    return [k for k in KERNELS.all() if k.device_type == device_type]


def device_types_for(op: str) -> list[str]:
    """Device types that have some kernel of ``op``."""
    return sorted({k.device_type for k in KERNELS.all() if k.op == op})


def devices_of_type(device_type: str) -> list:
    return [d for d in DEVICES.all() if d.device_type == device_type]
