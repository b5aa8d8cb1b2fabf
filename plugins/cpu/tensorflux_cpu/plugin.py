"""Hook implementations only: registers the CPU device and its kernel families. Cheap to import."""

from __future__ import annotations

from tensorflux.extend import hookimpl

TENSORFLUX_CONTRACT = "1.0"


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    from .device import CpuDevice

    registrar.device(CpuDevice(0))


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    from .kernels import array, collective, conv, data, math, nn, pool, random, script, sparse, state, summary, training
    from .kernels.control_flow import register as register_control_flow
    from .kernels.linalg import register as register_linalg

    for family in (math, array, random, state, nn, conv, pool, training, summary, collective, data, script, sparse):
        family.register(registrar)
    register_control_flow(registrar)
    register_linalg(registrar)
    from .kernels import io  # a Saver's SaveV2 and RestoreV2

    io.register(registrar)
    from .kernels import batch_norm, depthwise  # the ops frozen inference graphs add

    batch_norm.register(registrar)
    depthwise.register(registrar)
    from .kernels import conv3d  # 3-D convolution and pooling

    conv3d.register(registrar)
    from .kernels import extra, special  # special math; scans, scatter-nd, diagonals, resizing, LRN

    special.register(registrar)
    extra.register(registrar)


@hookimpl
def tensorflux_versions() -> dict:
    from importlib import metadata

    import numpy as np

    found = {name: metadata.version(name) for name in ("numba", "llvmlite")}
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    found["BLAS"] = f"{blas.get('name', '?')} {blas.get('version', '?')}"
    return found
