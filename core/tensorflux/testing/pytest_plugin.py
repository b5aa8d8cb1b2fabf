"""pytest plugin (entry point ``pytest11``): the ``--device`` option and the conformance coverage summary."""

from __future__ import annotations

from typing import Any

import pytest

COVERAGE: dict[str, dict[str, str]] = {}


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("tensorflux")
    group.addoption("--device", action="store", default="cpu",
                    help="device type the tensorflux conformance suite runs against (default: cpu)")


@pytest.fixture(scope="session")
def device(request: Any) -> str:
    """The device type under test, from ``--device``."""
    return request.config.getoption("--device")


def record(op: str, dtype: str, outcome: str) -> None:
    COVERAGE.setdefault(op, {})[dtype] = outcome


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COVERAGE:
        return
    device = terminalreporter.config.getoption("--device")
    tested = sum(1 for d in COVERAGE.values() for o in d.values() if o == "tested")
    unclaimed = sum(1 for d in COVERAGE.values() for o in d.values() if o == "no kernel")
    terminalreporter.section(f"tensorflux conformance coverage on '{device}'")
    terminalreporter.write_line(f"{len(COVERAGE)} ops, {tested} (op, dtype) pairs tested, {unclaimed} without a kernel")
    for op in sorted(COVERAGE):
        claimed = [d for d, o in sorted(COVERAGE[op].items()) if o == "tested"]
        missing = [d for d, o in sorted(COVERAGE[op].items()) if o == "no kernel"]
        line = f"  {op:<20} tested: {','.join(claimed) or '-'}"
        if missing:
            line += f"   no kernel: {','.join(missing)}"
        terminalreporter.write_line(line)
