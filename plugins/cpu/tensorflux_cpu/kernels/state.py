"""Variable kernels. Ref inputs arrive as the session's VariableSlot for that variable."""

from __future__ import annotations

import numpy as np


def variable(*, ctx):
    return ctx.variable.read()


def assign(ref, value, *, validate_shape):
    return ref.assign(np.asarray(value), validate_shape)


def assign_add(ref, value):
    return ref.assign(np.asarray(ref.read() + value).astype(ref.dtype.np_dtype, copy=False), True)


def assign_sub(ref, value):
    return ref.assign(np.asarray(ref.read() - value).astype(ref.dtype.np_dtype, copy=False), True)


def is_initialized(ref):
    return np.array(ref.value is not None)


KERNELS = {
    "VariableV2": variable, "Assign": assign, "AssignAdd": assign_add, "AssignSub": assign_sub,
    "IsVariableInitialized": is_initialized,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
