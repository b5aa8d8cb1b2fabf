"""Random kernels: values are drawn on the host from the per-op generator in ``ctx.rng`` and uploaded.

They draw with tensorflux.extend's shared host streams, as the cpu plugin does, so a seeded program gives the
same values on either device.
"""

from __future__ import annotations

from tensorflux.extend import normal_on_host, truncated_normal_on_host, uniform_on_host

from ._common import host_value


def random_uniform(shape, *, dtype, ctx):
    return ctx.device.from_host(uniform_on_host(ctx.rng, host_value(shape), dtype))


def random_normal(shape, *, dtype, ctx):
    return ctx.device.from_host(normal_on_host(ctx.rng, host_value(shape), dtype))


def truncated_normal(shape, *, dtype, ctx):
    return ctx.device.from_host(truncated_normal_on_host(ctx.rng, host_value(shape), dtype))


KERNELS = {"RandomUniform": random_uniform, "RandomStandardNormal": random_normal, "TruncatedNormal": truncated_normal}


def register(registrar, dtypes: dict) -> None:
    """Random floats, drawn on the host."""
    for op, fn in KERNELS.items():
        registrar.kernel(op, "opencl", fn, dtypes=dtypes["f"], type_attr="dtype")
