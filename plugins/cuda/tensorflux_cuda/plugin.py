"""Hook implementations only: the cuda devices and their kernels. Cheap to import, and cheap without a GPU.

Without a CUDA driver the plugin registers nothing, says why, and never imports cupy (see ``probe.py``).
"""

from __future__ import annotations

from tensorflux.extend import hookimpl

TENSORFLUX_CONTRACT = "1.0"


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    from .probe import find_gpus

    count, why = find_gpus()
    if not count:
        registrar.no_devices(why)
        return
    from .device import cuda_devices

    for device in cuda_devices():
        registrar.device(device)


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    from .probe import find_gpus

    if not find_gpus()[0]:
        return  # no device to run them on; registering them would import cupy for nothing
    from .device import cuda_devices
    from .kernels import register

    register(registrar, "cuda", cuda_devices()[0].backend)


@hookimpl
def tensorflux_versions() -> dict:
    from .probe import find_gpus, package_versions, runtime_versions

    found = package_versions()
    count, why = find_gpus()
    found.update(runtime_versions(count) if count else {"GPUs": f"none: {why}"})
    return found
