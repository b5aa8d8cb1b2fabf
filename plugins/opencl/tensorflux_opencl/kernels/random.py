"""Random kernels: values are drawn on the host from the per-op generator in ``ctx.rng`` and uploaded.

They draw with tensorflux.extend's shared host streams, as the cpu plugin does, so a seeded program gives the
same values on either device; the SDK's host adapter (``host_kernel``) reads the shape and uploads the draw.
"""

from __future__ import annotations

from tensorflux.extend import host_kernel, normal_on_host, truncated_normal_on_host, uniform_on_host

DRAWS = {"RandomUniform": uniform_on_host, "RandomStandardNormal": normal_on_host,
         "TruncatedNormal": truncated_normal_on_host}


def _drawn(draw):
    def kernel(shape, *, dtype, ctx):
        return draw(ctx.rng, shape, dtype)

    kernel.__name__ = kernel.__qualname__ = draw.__name__
    return host_kernel(kernel)


def register(registrar, dtypes: dict) -> None:
    """Random floats, drawn on the host."""
    for op, draw in DRAWS.items():
        registrar.kernel(op, "opencl", _drawn(draw), dtypes=dtypes["f"], type_attr="dtype")
