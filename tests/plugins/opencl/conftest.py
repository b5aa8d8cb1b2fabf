"""Run the shared device tests against the OpenCL device, or skip them saying why there is none."""

import pytest

from tensorflux.extend import list_devices, plugin_infos


def pytest_itemcollected(item: pytest.Item) -> None:
    """Every OpenCL test runs in a child process (tests/isolation.py): a driver abort fails that test, not the run."""
    item.add_marker(pytest.mark.isolated)


def opencl_missing_reason() -> str:
    """'' when an OpenCL device is registered, else why not (plugin missing, or its no-devices reason)."""
    if any(d.device_type == "opencl" for d in list_devices()):
        return ""
    info = next((i for i in plugin_infos() if i.name == "opencl"), None)
    if info is None:
        return "the tensorflux-opencl plugin is not installed (make install installs it with its [pocl] extra)"
    return f"the opencl plugin found no device: {info.no_devices_reason or info.error or info.status}"


@pytest.fixture(scope="session")
def device():
    """The conformance suite's device type: opencl here, whatever ``--device`` says."""
    reason = opencl_missing_reason()
    if reason:
        pytest.skip(reason)
    return "opencl"
