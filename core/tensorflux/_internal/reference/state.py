"""Variable reference kernels. A ref input arrives as the session's VariableSlot, whose value stays on the device."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the variable ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> sorted(kernels(np))[:2]
        ['Assign', 'AssignAdd']
    """

    def variable(*, ctx):
        return ctx.variable.read()

    def assign(ref, value, *, validate_shape):
        return ref.assign(value, validate_shape)

    def assign_add(ref, value):
        return ref.assign(xp.add(ref.read(), value), True)

    def assign_sub(ref, value):
        return ref.assign(xp.subtract(ref.read(), value), True)

    def is_initialized(ref, *, ctx):
        return ctx.device.from_host(np.array(ref.value is not None))

    return {
        "VariableV2": variable, "Assign": assign, "AssignAdd": assign_add, "AssignSub": assign_sub,
        "IsVariableInitialized": is_initialized,
    }
