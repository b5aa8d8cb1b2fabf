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
        try:
            return _dtypes.as_dtype(self.type_spec)
        except TypeError:
            return None


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

    def supports(self, attrs: dict) -> bool:
        if self.dtypes is None:
            return True
        return attrs.get(self.type_attr) in self.dtypes


class DuplicateRegistrationError(ValueError):
    """A second registration of a name that must be unique; names both places."""


class OpRegistry:
    """The set of OpDefs, by op name. A duplicate name raises, naming the first registration."""

    def __init__(self) -> None:
        self._ops: dict[str, OpDef] = {}
        self.ensure_loaded: Callable[[], None] = lambda: None
        self.on_miss: Callable[[str], None] = lambda name: None

    def add(self, op_def: OpDef) -> None:
        prior = self._ops.get(op_def.name)
        if prior is not None and prior is not op_def:
            raise DuplicateRegistrationError(
                f"Op '{op_def.name}' is already registered (first at {prior.source}); "
                f"second registration at {op_def.source}"
            )
        self._ops[op_def.name] = op_def

    def remove(self, name: str) -> None:
        self._ops.pop(name, None)

    def get(self, name: str) -> OpDef:
        self.ensure_loaded()
        op_def = self._ops.get(name)
        if op_def is None:
            self.on_miss(name)
            op_def = self._ops.get(name)
        if op_def is None:
            raise KeyError(f"Op '{name}' is not registered; is the plugin that defines it installed?")
        return op_def

    def has(self, name: str) -> bool:
        self.ensure_loaded()
        return name in self._ops

    def names(self) -> list[str]:
        self.ensure_loaded()
        return sorted(self._ops)


class KernelRegistry:
    """Kernels keyed by (op name, device type); each entry may restrict the dtypes it handles."""

    def __init__(self) -> None:
        self._kernels: dict[tuple[str, str], list[KernelDef]] = {}

    def add(self, kdef: KernelDef) -> None:
        try:
            params = inspect.signature(kdef.fn).parameters
        except (TypeError, ValueError):  # numpy ufuncs and builtins take inputs only
            params = {}
        kdef.wants_ctx = "ctx" in params
        # A kernel with a keyword-only ``donated`` parameter may write its result into the inputs at those
        # positions: the executor passes the ones that are dead after this step and referenced by nobody else.
        kdef.wants_donated = "donated" in params
        kdef.attr_params = tuple(
            p.name for p in params.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("ctx", "donated")
        )
        bucket = self._kernels.setdefault((kdef.op, kdef.device_type), [])
        for other in bucket:
            if other.dtypes == kdef.dtypes and other.priority == kdef.priority and other.fn is not kdef.fn:
                raise DuplicateRegistrationError(
                    f"Kernel for op '{kdef.op}' on device type '{kdef.device_type}' with dtypes "
                    f"{_names(kdef.dtypes)} is already registered by plugin '{other.plugin}' ({other.source}); "
                    f"second registration by plugin '{kdef.plugin}' ({kdef.source})"
                )
        bucket.append(kdef)
        bucket.sort(key=lambda k: -k.priority)

    def remove(self, kdef: KernelDef) -> None:
        bucket = self._kernels.get((kdef.op, kdef.device_type), [])
        if kdef in bucket:
            bucket.remove(kdef)

    def lookup(self, op: str, device_type: str, attrs: dict) -> KernelDef | None:
        for kdef in self._kernels.get((op, device_type), ()):
            if kdef.supports(attrs):
                return kdef
        return None

    def for_device(self, device_type: str) -> list[KernelDef]:
        return [k for (_, dev), ks in self._kernels.items() if dev == device_type for k in ks]

    def by_plugin(self, plugin: str) -> list[KernelDef]:
        return [k for ks in self._kernels.values() for k in ks if k.plugin == plugin]

    def device_types_for(self, op: str) -> list[str]:
        return sorted({dev for (name, dev), ks in self._kernels.items() if name == op and ks})


def _names(dts: Iterable | None) -> str:
    return "any" if dts is None else "[" + ", ".join(d.name for d in dts) + "]"


OPS = OpRegistry()
KERNELS = KernelRegistry()
