"""The strict test device, which has no kernel of its own, passes the shared device conformance suite."""

from tensorflux.testing.conformance import *  # noqa: F403 - collect the suite's tests here
