"""Random kernels, drawing from the per-op, per-session generator in ``ctx.rng``."""

from __future__ import annotations

import numpy as np

from tensorflux.extend import normal_on_host, truncated_normal_on_host, uniform_on_host


def random_uniform(shape, *, dtype, ctx):
    return uniform_on_host(ctx.rng, shape, dtype)


def random_normal(shape, *, dtype, ctx):
    return normal_on_host(ctx.rng, shape, dtype)


def truncated_normal(shape, *, dtype, ctx):
    return truncated_normal_on_host(ctx.rng, shape, dtype)


def random_uniform_int(shape, minval, maxval, *, Tout, ctx):  # noqa: N803 - TF's attr name
    if minval >= maxval:
        raise ValueError(f"random_uniform needs minval < maxval, got {minval} and {maxval}")
    return ctx.rng.integers(minval, maxval, size=tuple(int(d) for d in np.reshape(shape, -1)), dtype=Tout.np_dtype)


KERNELS = {
    "RandomUniform": random_uniform, "RandomStandardNormal": random_normal, "TruncatedNormal": truncated_normal,
    "RandomUniformInt": random_uniform_int,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
