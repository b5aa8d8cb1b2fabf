"""The strict test device: arrays from ``array_api_strict``, every kernel from core's reference kernels.

Its arrays cannot pass for numpy arrays (they refuse numpy dtypes, mixed-kind arithmetic, out-of-range
slices and anything outside the array API standard), so whatever core or a reference kernel assumes
about host arrays fails here first. It registers no kernel of its own.
"""

from __future__ import annotations

from typing import Any

import array_api_strict as xp
import numpy as np

from tensorflux.extend import Device, hookimpl, register_reference_kernels

TENSORFLUX_CONTRACT = "1.0"


class StrictDevice(Device):
    """Values are ``array_api_strict`` arrays; copies go through DLPack on the way back."""

    device_type = "strict"
    host_memory = False
    priority = -1  # ops placed nowhere in particular stay on the cpu

    def from_host(self, array: np.ndarray) -> Any:
        return xp.asarray(array, copy=True)

    def to_host(self, value: Any) -> np.ndarray:
        return np.from_dlpack(value).copy()  # a copy: the device's memory is not the caller's to write

    def describe(self) -> dict:
        return {"platform": "array_api_strict", "name": "strict array API test device"}


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    registrar.device(StrictDevice(0))


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    register_reference_kernels(registrar, "strict", xp)
