"""Hook implementations only: registers the OpenCL devices and kernel families. Cheap to import."""

from __future__ import annotations

from tensorflux.extend import hookimpl

TENSORFLUX_CONTRACT = "1.0"


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    from .device import enumerate_devices

    devices, why = enumerate_devices()
    if not devices:
        registrar.no_devices(why)
    for device in devices:
        registrar.device(device)


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    from .kernels import array, conv, elementwise, matmul, nn, random, reduce, state, training
    from .kernels._common import supported_dtypes

    dtypes = supported_dtypes()
    for family in (elementwise, array, reduce, matmul, conv, nn, state, training, random):
        family.register(registrar, dtypes)


@hookimpl
def tensorflux_versions() -> dict:
    from importlib import metadata

    from .device import enumerate_devices

    found = {}
    for name in ("pyopencl", "pocl-binary-distribution"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    for device in enumerate_devices()[0]:
        found[f"{device.name} driver"] = f"{device.platform.version.strip()}; {device.cl_device.version.strip()}"
    return found
