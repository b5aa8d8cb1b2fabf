"""Variable kernels. A variable's value stays on the device in its ``VariableSlot`` across runs."""

from __future__ import annotations

import numpy as np

from ..device import host_array
from .elementwise import binary


def variable(*, ctx):
    return ctx.variable.read()


def assign(ref, value, *, validate_shape):
    if value.dtype != ref.dtype.np_dtype:
        raise TypeError(f"Assign to variable '{ref.name}': value of dtype {value.dtype.name} does not match the "
                        f"variable's dtype {ref.dtype.name}")
    return ref.assign(value, validate_shape)


def assign_add(ref, value):
    return ref.assign(binary("AddV2", ref.read(), value), True)


def assign_sub(ref, value):
    return ref.assign(binary("Sub", ref.read(), value), True)


def is_initialized(ref, *, ctx):
    return host_array(ctx.device, np.array(ref.value is not None))


KERNELS = {
    "VariableV2": variable, "Assign": assign, "AssignAdd": assign_add, "AssignSub": assign_sub,
    "IsVariableInitialized": is_initialized,
}


def register(registrar, dtypes: dict) -> None:
    """Variables of any movable dtype; AssignAdd/AssignSub only where Add/Sub compute."""
    for op in ("VariableV2", "Assign", "IsVariableInitialized"):
        registrar.kernel(op, "opencl", KERNELS[op], dtypes=dtypes["movable"], type_attr="dtype" if op == "VariableV2"
                         else "T")
    for op in ("AssignAdd", "AssignSub"):
        registrar.kernel(op, "opencl", KERNELS[op], dtypes=dtypes["f"] + dtypes["i"])
