"""Random reference kernels: drawn on the host from the op's seeded generator (``ctx.rng``), then copied over.

Drawing on the host with the same helpers as the cpu plugin gives a seeded program the same values on every
device.
"""

from __future__ import annotations

from typing import Any, Callable

from ..geometry import normal_on_host, truncated_normal_on_host, uniform_on_host
from .common import host_ints, py_scalar


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the random ops; ``xp`` reads the shape and bounds (the values come from the host).

    Example:
        >>> import numpy as np
        >>> sorted(kernels(np))
        ['RandomStandardNormal', 'RandomUniform', 'RandomUniformInt', 'TruncatedNormal']
    """

    def random_uniform(shape, *, dtype, ctx):
        return ctx.device.from_host(uniform_on_host(ctx.rng, host_ints(shape), dtype))

    def random_normal(shape, *, dtype, ctx):
        return ctx.device.from_host(normal_on_host(ctx.rng, host_ints(shape), dtype))

    def truncated_normal(shape, *, dtype, ctx):
        return ctx.device.from_host(truncated_normal_on_host(ctx.rng, host_ints(shape), dtype))

    def random_uniform_int(shape, minval, maxval, *, Tout, ctx):  # noqa: N803 - TF's attr name
        low, high = py_scalar(xp, minval), py_scalar(xp, maxval)
        if low >= high:
            raise ValueError(f"random_uniform needs minval < maxval, got {low} and {high}")
        return ctx.device.from_host(ctx.rng.integers(low, high, size=tuple(host_ints(shape)), dtype=Tout.np_dtype))

    return {
        "RandomUniform": random_uniform, "RandomStandardNormal": random_normal, "TruncatedNormal": truncated_normal,
        "RandomUniformInt": random_uniform_int,
    }
