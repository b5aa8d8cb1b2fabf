"""Random kernels, drawing from the per-op, per-session generator in ``ctx.rng``."""

from __future__ import annotations

import numpy as np


def _shape(shape):
    return tuple(int(d) for d in np.reshape(shape, -1))


def _native(dtype):
    return np.float64 if dtype.np_dtype == np.float64 else np.float32


def random_uniform(shape, *, dtype, ctx):
    return ctx.rng.random(_shape(shape), dtype=_native(dtype)).astype(dtype.np_dtype, copy=False)


def random_normal(shape, *, dtype, ctx):
    return ctx.rng.standard_normal(_shape(shape), dtype=_native(dtype)).astype(dtype.np_dtype, copy=False)


def truncated_normal(shape, *, dtype, ctx):
    out = ctx.rng.standard_normal(_shape(shape), dtype=_native(dtype))
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = ctx.rng.standard_normal(int(bad.sum()), dtype=_native(dtype))
        bad = np.abs(out) > 2
    return out.astype(dtype.np_dtype, copy=False)


def random_uniform_int(shape, minval, maxval, *, Tout, ctx):  # noqa: N803 - TF's attr name
    if minval >= maxval:
        raise ValueError(f"random_uniform needs minval < maxval, got {minval} and {maxval}")
    return ctx.rng.integers(minval, maxval, size=_shape(shape), dtype=Tout.np_dtype)


KERNELS = {
    "RandomUniform": random_uniform, "RandomStandardNormal": random_normal, "TruncatedNormal": truncated_normal,
    "RandomUniformInt": random_uniform_int,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
