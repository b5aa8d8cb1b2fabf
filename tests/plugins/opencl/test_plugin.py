"""The opencl plugin's registration: devices when a driver is present, a reason when not, a cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("tensorflux_opencl", reason="the tensorflux-opencl plugin is not installed")

from tensorflux.extend import list_devices  # noqa: E402
from tensorflux_opencl import device as ocl_device, plugin  # noqa: E402 - after the importorskip

from .conftest import opencl_missing_reason  # noqa: E402


class _Recorder:
    def __init__(self) -> None:
        self.devices, self.reason = [], ""

    def device(self, dev) -> None:
        self.devices.append(dev)

    def no_devices(self, reason: str) -> None:
        self.reason = reason


@pytest.fixture
def fresh_enumeration():
    ocl_device.enumerate_devices.cache_clear()
    yield
    ocl_device.enumerate_devices.cache_clear()


def test_no_platform_registers_no_device_and_says_why(monkeypatch, fresh_enumeration):
    monkeypatch.setattr(ocl_device, "find_cl_devices", lambda: ([], "no OpenCL platform with a device was found"))
    rec = _Recorder()
    plugin.tensorflux_register_devices(rec)
    assert rec.devices == [] and "no OpenCL platform" in rec.reason


def test_pyopencl_import_failure_is_reported_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyopencl", None)
    found, why = ocl_device.find_cl_devices()
    assert found == [] and "pyopencl cannot be imported" in why and "tensorflux-opencl[pocl]" in why


def test_plugin_module_imports_no_driver():
    code = "import sys, tensorflux_opencl.plugin as p; print(p.TENSORFLUX_CONTRACT, 'pyopencl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1.0", "False"]


@pytest.mark.skipif(bool(opencl_missing_reason()), reason=opencl_missing_reason() or "-")
def test_devices_describe_platform_name_memory_and_units():
    devices = [d for d in list_devices() if d.device_type == "opencl"]
    assert devices[0].name == "/opencl:0" and not devices[0].host_memory
    assert {"platform", "name", "memory", "compute units"} <= set(devices[0].describe())
    cpu = next(d for d in list_devices() if d.device_type == "cpu")
    assert devices[0].priority < cpu.priority  # programs stay on cpu unless they ask for opencl
