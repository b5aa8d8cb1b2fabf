"""Test devices that run the cuda plugin's own device, dispatch and kernels with no GPU.

They are ``tensorflux_cuda.device.CudaDevice`` and ``tensorflux_cuda.kernels.register`` unchanged, over an
``ArrayBackend`` instead of cupy: ``cuda_strict`` holds ``array_api_strict`` arrays, which refuse anything
outside the array API standard and any mixing with numpy arrays (so a host value reaching a kernel that cannot
take it fails here, as it would on a GPU); ``cuda_numpy`` holds numpy arrays through ``array_api_compat``, as
the GPU's arrays go through ``array_api_compat.cupy``, and has float16. Only the backend's GPU-only methods
(streams, pinned buffers, ElementwiseKernel) are not what runs on a GPU.
"""

from __future__ import annotations

import array_api_compat.numpy as compat_numpy
import array_api_strict

from tensorflux.extend import hookimpl
from tensorflux_cuda.backend import ArrayBackend
from tensorflux_cuda.device import CudaDevice
from tensorflux_cuda.kernels import register

TENSORFLUX_CONTRACT = "1.0"
BACKENDS = {"cuda_strict": ArrayBackend(array_api_strict), "cuda_numpy": ArrayBackend(compat_numpy)}


class StrictCudaDevice(CudaDevice):
    device_type = "cuda_strict"
    priority = -1  # ops placed nowhere in particular stay on the cpu


class NumpyCudaDevice(CudaDevice):
    device_type = "cuda_numpy"
    priority = -1


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    registrar.device(StrictCudaDevice(0, BACKENDS["cuda_strict"]))
    registrar.device(NumpyCudaDevice(0, BACKENDS["cuda_numpy"]))


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    for device_type, backend in BACKENDS.items():
        register(registrar, device_type, backend)
