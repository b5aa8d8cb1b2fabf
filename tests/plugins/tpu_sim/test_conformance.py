"""The tpu_sim device passes the shared device conformance suite, its matrix ops within bfloat16's tolerance.

The device's ``conformance_tolerance`` asks for rtol 1e-2 plus atol 1e-2 x max|reference| on graphs whose
products run on its MXU; float64 and float16, which a TPU lacks, are not claimed, so their cases skip.
"""

import pytest

from tensorflux.testing.conformance import *  # noqa: F403 - collect the suite's tests here


@pytest.fixture(scope="module")
def device() -> str:
    """The conformance suite's device type for this module."""
    return "tpu_sim"
