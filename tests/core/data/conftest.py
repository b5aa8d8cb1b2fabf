"""The tf.data tests' fixture: one pipeline run here and in TF's compat.v1, compared."""

from __future__ import annotations

from typing import Callable

import pytest

from tests.core.data.pipelines import assert_same_elements, drain


@pytest.fixture
def both(tfr):
    """``both(build, feed_of=None)``: the pipeline run here and in TF; asserts equal elements and specs."""
    import tensorflux as tf

    def run(build: Callable, feed_of: Callable | None = None) -> list:
        ours, our_spec = drain(tf, build, feed_of)
        theirs, their_spec = drain(tfr, build, feed_of)
        assert our_spec == their_spec
        assert_same_elements(ours, theirs)
        return ours

    return run
