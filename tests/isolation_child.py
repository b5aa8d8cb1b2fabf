"""The child side of test isolation (see tests/isolation.py): run the parent's tests, streaming events to it.

The parent sets IDS_ENV to a file of the node ids to run, in order, and EVENTS_FD_ENV to the write end
of a pipe. This plugin runs just those tests and writes one JSON line per event to the pipe:
``collected`` (ids it could not find), ``start`` (with where its stderr stands) and ``finish`` around
each test, and between them its ``report``s, ``warning``s and ``state``. Each line is one os.write, so
it is with the parent's kernel before the test goes on, and outlives the driver aborting the process.
"""

from __future__ import annotations

import faulthandler
import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

IDS_ENV = "TENSORFLUX_TEST_ISOLATION_IDS"
EVENTS_FD_ENV = "TENSORFLUX_TEST_ISOLATION_EVENTS_FD"


def child_reporter(config: pytest.Config) -> ChildReporter | None:
    """This pytest's reporter if the isolation parent started it, else None.

    The variables are popped, so that a pytest which an isolated test starts itself is not taken for a child.
    """
    ids, fd = os.environ.pop(IDS_ENV, None), os.environ.pop(EVENTS_FD_ENV, None)
    return ChildReporter(config, Path(ids).read_text().splitlines(), int(fd)) if ids and fd else None


def _stderr_offset() -> int | None:
    """Where fd 2 (the parent's stderr file for this child) stands: the start of a test's driver output."""
    try:
        return os.lseek(2, 0, os.SEEK_CUR)
    except OSError:
        return None


def _rearm_faulthandler() -> None:
    """Put faulthandler's fatal-signal handlers back, if pytest enabled it.

    A driver's LLVM installs handlers of its own when it starts, and then an abort dumps no Python traceback
    to say which test and op it came from. fd 2 is the child's stderr file (the child never captures fds).
    """
    if faulthandler.is_enabled():
        faulthandler.disable()
        faulthandler.enable(file=2, all_threads=True)


class ChildReporter:
    """Selects the parent's tests and writes what happens to each of them to the parent's pipe."""

    def __init__(self, config: pytest.Config, nodeids: list[str], fd: int) -> None:
        self.config, self.nodeids, self.fd = config, nodeids, fd

    def emit(self, event: str, **fields: Any) -> None:
        """Append one event line; ``default=repr`` because plugins may hang anything on a report."""
        os.write(self.fd, (json.dumps({"event": event, **fields}, default=repr) + "\n").encode())

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        by_id = {item.nodeid: item for item in items}
        wanted = set(self.nodeids)
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in wanted])
        # The parent's order, which its fixtures' scopes were planned for.
        items[:] = [by_id[nodeid] for nodeid in self.nodeids if nodeid in by_id]
        self.emit("collected", missing=[nodeid for nodeid in self.nodeids if nodeid not in by_id])

    # Outermost wrapper, so that "finish" follows the warnings that pytest records after the test's protocol.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        _rearm_faulthandler()
        self.emit("start", nodeid=item.nodeid, stderr_offset=_stderr_offset())
        try:
            return (yield)
        finally:
            state: dict = {}
            for part in self.config.hook.pytest_isolation_drain_state(config=self.config):
                state.update(part)
            if state:
                self.emit("state", nodeid=item.nodeid, state=state)
            self.emit("finish", nodeid=item.nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        self.emit("report", nodeid=report.nodeid, report=data)

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str, location: Any) -> None:
        if when == "runtest" and nodeid:  # the parent has its own collection and configuration warnings
            self.emit("warning", nodeid=nodeid, message=str(warning_message.message),
                      category=warning_message.category.__name__, filename=warning_message.filename,
                      lineno=warning_message.lineno)

    def pytest_unconfigure(self) -> None:
        os.close(self.fd)
