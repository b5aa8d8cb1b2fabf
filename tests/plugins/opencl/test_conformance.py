"""The opencl plugin passes the shared device conformance suite (conftest.py points ``device`` at opencl)."""

from tensorflux.testing.conformance import *  # noqa: F403 - collect the suite's tests here
