"""The cpu plugin passes the shared device conformance suite (``--device`` defaults to cpu)."""

from tensorflux.testing.conformance import *  # noqa: F403 - collect the suite's tests here
