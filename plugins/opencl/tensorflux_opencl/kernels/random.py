"""Random kernels: values are drawn on the host from the per-op generator in ``ctx.rng`` and uploaded.

They draw exactly as the cpu plugin does, so a seeded program gives the same values on either device.
"""

from __future__ import annotations

import numpy as np

from ._common import host_value


def _shape(shape):
    return tuple(int(d) for d in np.reshape(host_value(shape), -1))


def _native(dtype):
    return np.float64 if dtype.np_dtype == np.float64 else np.float32


def random_uniform(shape, *, dtype, ctx):
    values = ctx.rng.random(_shape(shape), dtype=_native(dtype))
    return ctx.device.from_host(values.astype(dtype.np_dtype, copy=False))


def random_normal(shape, *, dtype, ctx):
    values = ctx.rng.standard_normal(_shape(shape), dtype=_native(dtype))
    return ctx.device.from_host(values.astype(dtype.np_dtype, copy=False))


def truncated_normal(shape, *, dtype, ctx):
    out = ctx.rng.standard_normal(_shape(shape), dtype=_native(dtype))
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = ctx.rng.standard_normal(int(bad.sum()), dtype=_native(dtype))
        bad = np.abs(out) > 2
    return ctx.device.from_host(out.astype(dtype.np_dtype, copy=False))


KERNELS = {"RandomUniform": random_uniform, "RandomStandardNormal": random_normal, "TruncatedNormal": truncated_normal}


def register(registrar, dtypes: dict) -> None:
    """Random floats, drawn on the host."""
    for op, fn in KERNELS.items():
        registrar.kernel(op, "opencl", fn, dtypes=dtypes["f"], type_attr="dtype")
