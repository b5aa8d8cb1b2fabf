"""The host kernels of ``If`` and ``While``: they run the traced functions' compiled plans on host arrays.

The cpu plugin registers them as they are; every other device gets them through the host adapter
(``reference/host.py``), so a branch always runs on the host.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError
from .function_graph import runner


def _truth(value: Any, what: str) -> bool:
    value = np.asarray(value)
    if value.size != 1:
        raise InvalidArgumentError(f"{what}: the predicate must be a scalar, got shape {value.shape}")
    return bool(value.reshape(()))


def if_kernel(cond: Any, *inputs: Any, then_branch: str, else_branch: str, ctx: Any) -> tuple:
    """``If``: run only the branch ``cond`` picks, on ``inputs``."""
    chosen = then_branch if _truth(cond, f"op '{ctx.op_name}' (If)") else else_branch
    return tuple(runner(chosen, ctx)(inputs))


def while_kernel(*inputs: Any, cond: str, body: str, num_loop_vars: int, ctx: Any) -> tuple:
    """``While``: apply ``body`` to the loop variables while ``cond`` holds; captured inputs stay as they are."""
    values, captured = list(inputs[:num_loop_vars]), list(inputs[num_loop_vars:])
    test, step = runner(cond, ctx), runner(body, ctx)
    what = f"op '{ctx.op_name}' (While)"
    while _truth(test(values + captured)[0], what):
        values = step(values + captured)
    return tuple(values + captured)


def control_flow_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for If and While.

    Example:
        >>> sorted(control_flow_kernels())
        ['If', 'While']
    """
    return {"If": if_kernel, "While": while_kernel}
