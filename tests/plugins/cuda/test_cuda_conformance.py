"""The cuda plugin's kernels, dispatch and device pass the device conformance suite without a GPU, on
``array_api_strict`` arrays (see sim_device.py)."""

import pytest

from tensorflux.testing.conformance import *  # noqa: F403 - collect the suite's tests here


@pytest.fixture(scope="module")
def device(sim_devices: tuple) -> str:
    """The conformance suite's device type here: the cuda kernels over array_api_strict."""
    return sim_devices[0]
