"""Variable kernels. A variable's value stays on the device in its ``VariableSlot`` across runs."""

from __future__ import annotations

from tensorflux.extend import device_array_kernels

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


KERNELS = {
    "VariableV2": variable, "Assign": assign, "AssignAdd": assign_add, "AssignSub": assign_sub,
    "IsVariableInitialized": device_array_kernels()["IsVariableInitialized"],
}


def register(registrar, dtypes: dict) -> None:
    """Variables of any movable dtype; AssignAdd/AssignSub only where Add/Sub compute."""
    for op in ("VariableV2", "Assign", "IsVariableInitialized"):
        # VariableV2 and IsVariableInitialized name their dtype attr "dtype", Assign names it "T".
        registrar.kernel(op, "opencl", KERNELS[op], dtypes=dtypes["movable"], type_attr="T" if op == "Assign"
                         else "dtype")
    for op in ("AssignAdd", "AssignSub"):
        registrar.kernel(op, "opencl", KERNELS[op], dtypes=dtypes["f"] + dtypes["i"])
