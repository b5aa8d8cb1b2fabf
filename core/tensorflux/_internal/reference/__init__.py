"""Reference kernels written once over the array namespace (the Python array API standard).

Any device whose arrays follow the standard (numpy through ``array_api_compat``, cupy, ``array_api_strict``...)
registers these and runs every core op on day one; it then overrides only the kernels it wants fast.

Each family module exposes ``kernels(xp) -> {op_name: fn}``; ``fn`` follows the kernel calling convention of
``Registrar.kernel`` (inputs positionally, attributes as keyword-only parameters, optional ``ctx``).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

from ..dtypes import ALL_DTYPES, as_dtype
from ..registry import OPS, OpDef
from . import array, host, image, linalg, math, matrix, random, scan, scatter_nd, sparse, special, state, training
from .common import quiet
from .host import host_kernel as host_kernel

_FAMILIES = (math, array, state, training, random, host, sparse, linalg, special, scan, scatter_nd, matrix, image)

# Ops whose main type attribute is not "T": random ops type their output by ``dtype``/``Tout`` (their T is the
# shape's), as the cpu and opencl plugins register them.
_DATA_TYPE_ATTR = {"RandomUniform": "dtype", "RandomStandardNormal": "dtype", "TruncatedNormal": "dtype",
                   "RandomUniformInt": "Tout"}


def _families() -> tuple:
    try:  # the nn family (convolutions, pooling, softmax...) lives in its own module
        nn = importlib.import_module(f"{__name__}.nn")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.nn":
            raise
        return _FAMILIES
    return _FAMILIES + (nn,)


def kernels(xp: Any) -> dict[str, Callable]:
    """Every reference kernel, ``{op_name: kernel}``, computing with the array namespace ``xp``.

    ``tensorflux.extend`` exports it as ``reference_kernels``; numpy 2 is itself such a namespace.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import reference_kernels
        >>> table = reference_kernels(np)
        >>> table["MatMul"](np.ones((2, 3)), np.ones((3, 1)), transpose_a=False, transpose_b=False).tolist()
        [[3.0], [3.0]]
    """
    table: dict[str, Callable] = {}
    for family in _families():
        for op, fn in family.kernels(xp).items():
            table[op] = quiet(fn)
    return table


reference_kernels = kernels  # the name ``tensorflux.extend`` exports it by


def type_attr(op_def: OpDef) -> str | None:
    """The attribute whose dtype a reference kernel is registered for: T, else the one typing the op's data.

    Example:
        >>> from tensorflux.extend import get_op_def
        >>> type_attr(get_op_def("AddV2")), type_attr(get_op_def("GatherV2")), type_attr(get_op_def("RandomUniform"))
        ('T', 'Tparams', 'dtype')
    """
    if op_def.name in _DATA_TYPE_ATTR:
        return _DATA_TYPE_ATTR[op_def.name]
    types = {name for name, attr in op_def.attr_defs.items() if attr.kind == "type"}
    if "T" in types:
        return "T"
    typed = [s.type_spec for s in op_def.output_specs + op_def.input_specs if s.type_spec in types]
    return typed[0] if typed else None


def _uses_strings(op_def: OpDef) -> bool:
    return any(s.type_spec == "string" for s in op_def.input_specs + op_def.output_specs)


def namespace_dtypes(xp: Any) -> list:
    """The tensorflux dtypes the array namespace ``xp`` has (by name: float32, int64, bool...).

    Example:
        >>> import numpy as np
        >>> [d.name for d in namespace_dtypes(np)][:4]
        ['float16', 'float32', 'float64', 'int8']
    """
    return [d for d in ALL_DTYPES if d.name != "string" and hasattr(xp, d.name)]


def register_reference_kernels(registrar: Any, device_type: str, xp: Any, dtypes: Iterable | None = None,
                               priority: int = -1, skip: Iterable[str] = ()) -> list[str]:
    """Register every reference kernel over ``xp`` for ``device_type``; returns the ops registered.

    ``dtypes`` (default: those ``xp`` has) limits each kernel to the dtypes the device holds; ops with
    string inputs or outputs (summaries) are left out unless ``dtypes`` names string. ``priority`` -1
    lets a kernel the plugin registers at the default 0 win, so a device overrides only what it wants
    fast; ``skip`` names ops to leave to other devices.

    Example (inside a plugin)::

        @hookimpl
        def tensorflux_register_kernels(registrar):
            register_reference_kernels(registrar, "mydev", cupy)
            registrar.kernel("MatMul", "mydev", my_fast_matmul)  # priority 0 beats the reference -1
    """
    table = kernels(xp)
    skip = set(skip)
    unknown = sorted(skip - set(table))
    if unknown:
        raise ValueError(f"register_reference_kernels: skip names {unknown}, which have no reference kernel; "
                         f"known: {sorted(table)}")
    claimed = namespace_dtypes(xp) if dtypes is None else [as_dtype(d) for d in dtypes]
    strings = any(d.name == "string" for d in claimed)
    registered = []
    for op, fn in table.items():
        if op in skip or not OPS.has(op):
            continue
        op_def = OPS.get(op)
        if _uses_strings(op_def) and not strings:
            continue
        attr = type_attr(op_def)
        others = {name: claimed for name, a in op_def.attr_defs.items()
                  if a.kind in ("type", "list(type)") and name != attr}
        registrar.kernel(op, device_type, fn, dtypes=claimed if attr else None, type_attr=attr or "T",
                         priority=priority, also=others)
        registered.append(op)
    return registered
