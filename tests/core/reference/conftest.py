"""Devices whose kernels are only the reference kernels: over numpy (its own namespace, and through
``array_api_compat``) and over ``array_api_strict`` (the strict test device of tests/sdk).

Installed through real entry points (tests/installed_plugins.py), so the conformance suite and the
comparisons with the cpu plugin run the reference kernels as any plugin's kernels run.
"""

from __future__ import annotations

from typing import Iterator

import array_api_strict as xp_strict
import pytest

from tests.installed_plugins import installed
from tests.sdk.strict_device import ENTRY_POINT as STRICT_PLUGIN

NUMPY_REFERENCE_PLUGIN = """
    import array_api_compat.numpy as compat_numpy
    import numpy
    from tensorflux.extend import Device, hookimpl, register_reference_kernels

    TENSORFLUX_CONTRACT = "1.0"

    class CompatNumpyDevice(Device):
        device_type = "npcompat"
        priority = -1

    class NumpyDevice(Device):
        device_type = "numpy"
        priority = -1

    @hookimpl
    def tensorflux_register_devices(registrar):
        registrar.device(CompatNumpyDevice(0))
        registrar.device(NumpyDevice(0))

    @hookimpl
    def tensorflux_register_kernels(registrar):
        register_reference_kernels(registrar, "npcompat", compat_numpy)
        register_reference_kernels(registrar, "numpy", numpy)  # numpy 2 is an array-API namespace itself
"""

# Device types: the reference kernels over array_api_compat.numpy, numpy's own namespace, array_api_strict.
NAMESPACE_DEVICES = ("npcompat", "numpy", "strict")


@pytest.fixture(scope="module")
def reference_devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Install the two numpy reference devices and the strict device for this module."""
    module = "tfx_numpy_reference_devices"
    plugins = {"numpy_reference": module, "strict": STRICT_PLUGIN}
    with installed(tmp_path_factory.mktemp("reference"), plugins, {module: NUMPY_REFERENCE_PLUGIN}):
        yield NAMESPACE_DEVICES


@pytest.fixture(scope="module")
def device(reference_devices: tuple) -> str:
    """The conformance suite's device type here: the reference kernels over array_api_compat.numpy."""
    return reference_devices[0]


@pytest.fixture(autouse=True)
def array_api_2023_12() -> Iterator[None]:
    """Hold ``array_api_strict`` to the 2023.12 standard, the version the reference kernels are written against."""
    with xp_strict.ArrayAPIStrictFlags(api_version="2023.12"):
        yield
