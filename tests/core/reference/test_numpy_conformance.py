"""The reference kernels over numpy (array_api_compat.numpy) pass the device conformance suite, float16 included."""

from tensorflux.testing.conformance import *  # noqa: F403 - collect the suite's tests here
