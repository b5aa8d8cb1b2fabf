"""pytest plugin: tests marked ``isolated`` run in a child pytest process, so a crashing driver fails one test.

An OpenCL driver can abort the whole process (LLVM's "LLVM ERROR: ..." ends in SIGABRT), which in-process
would end the run with no summary. Here the parent hands each contiguous block of isolated tests to one
child ``python -m pytest`` (one process start per block, not per test) and reports the child's results
as its own, live, in order. A test during which the child dies or hangs is reported failed with the
signal and the child's stderr since the test started (the driver's "LLVM ERROR", faulthandler's
traceback naming the op), and a new child runs the rest of the block.

tests/plugins/opencl/conftest.py marks the OpenCL tests. ``TENSORFLUX_TEST_ISOLATION=0`` runs them
in-process instead (for -s or profiling; --pdb and --trace do too), and ``TENSORFLUX_TEST_ISOLATION_TIMEOUT``
sets how many seconds a child may go without progress before it counts as hung.

The parent side is tests/isolation_parent.py, the child side tests/isolation_child.py.
"""

from __future__ import annotations

import os

import pytest

from tests.isolation_child import child_reporter
from tests.isolation_parent import IsolationRunner

ENABLE_ENV = "TENSORFLUX_TEST_ISOLATION"


class IsolationHookSpecs:
    """Hooks that carry plugin state recorded in the child (conformance coverage, say) to the parent."""

    @pytest.hookspec
    def pytest_isolation_drain_state(self, config: pytest.Config) -> dict | None:
        """In the child, after each isolated test: JSON-able state for the parent, forgotten here once returned."""

    @pytest.hookspec
    def pytest_isolation_merge_state(self, config: pytest.Config, state: dict) -> None:
        """In the parent: merge ``state``, the union of what the child's drain hooks returned after one test."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(IsolationHookSpecs)


def isolation_enabled(config: pytest.Config) -> bool:
    """Whether this process should run isolated tests in a child (not when debugging them in-process)."""
    return os.environ.get(ENABLE_ENV, "1") != "0" and not (config.option.usepdb or getattr(config.option, "trace", False))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "isolated: run in a child pytest process, so a crash fails this test, not the run "
                            "(tests/isolation.py)")
    reporter = child_reporter(config)
    if reporter:
        config.pluginmanager.register(reporter, "tensorflux-isolation-child")
    elif isolation_enabled(config):
        config.pluginmanager.register(IsolationRunner(config), "tensorflux-isolation-parent")
