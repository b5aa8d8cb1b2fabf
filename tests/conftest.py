"""Shared fixtures: every test gets a fresh default graph, and `sess` a Session on it.
Plugins: pytester, and test isolation (tests/isolation.py)."""

from __future__ import annotations

import os

import pytest

import tensorflux as tf
from tensorflux.testing.pytest_plugin import COVERAGE, record

pytest_plugins = ["pytester", "tests.isolation"]


@pytest.fixture(scope="module")
def tfr():
    """TensorFlow's v1 API (``tf.compat.v1``), the reference of the interop tests, imported once per module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    real = pytest.importorskip("tensorflow", reason="tensorflow is not installed; `make test` installs "
                                                    "tensorflow-cpu==2.21.0 for the interop tests")
    return real.compat.v1


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


@pytest.fixture
def sess():
    """A Session on the test's (fresh) default graph, closed afterwards."""
    s = tf.Session()
    yield s
    s.close()


def pytest_isolation_drain_state() -> dict:
    """In an isolated child: the conformance coverage recorded since the last call, for the parent's summary."""
    drained = dict(COVERAGE)
    COVERAGE.clear()
    return {"coverage": drained} if drained else {}


def pytest_isolation_merge_state(state: dict) -> None:
    """In the parent: add a child's conformance coverage to the summary printed at the end."""
    for device, ops in state.get("coverage", {}).items():
        for op, dtypes in ops.items():
            for dtype, outcome in dtypes.items():
                record(op, dtype, outcome, device)
