"""pytest plugin (entry point ``pytest11``): the ``--device`` option and the conformance coverage summary."""

from __future__ import annotations

from typing import Any

import pytest

COVERAGE: dict[str, dict[str, dict[str, str]]] = {}  # device -> op -> dtype -> outcome


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("tensorflux")
    group.addoption("--device", action="store", default="cpu",
                    help="device type the tensorflux conformance suite runs against (default: cpu)")


@pytest.fixture(scope="session")
def device(request: Any) -> str:
    """The device type under test, from ``--device``."""
    return request.config.getoption("--device")


def record(op: str, dtype: str, outcome: str, device: str = "") -> None:
    """Note one (op, dtype) outcome of the conformance suite on ``device`` for the coverage summary."""
    COVERAGE.setdefault(device, {}).setdefault(op, {})[dtype] = outcome


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for device, coverage in sorted(COVERAGE.items()):
        _summarize(terminalreporter, device or terminalreporter.config.getoption("--device"), coverage)


def _summarize(terminalreporter: Any, device: str, coverage: dict) -> None:
    tested = sum(1 for d in coverage.values() for o in d.values() if o == "tested")
    unclaimed = sum(1 for d in coverage.values() for o in d.values() if o == "no kernel")
    terminalreporter.section(f"tensorflux conformance coverage on '{device}'")
    terminalreporter.write_line(f"{len(coverage)} ops, {tested} (op, dtype) pairs tested, {unclaimed} without a kernel")
    for op in sorted(coverage):
        claimed = [d for d, o in sorted(coverage[op].items()) if o == "tested"]
        missing = [d for d, o in sorted(coverage[op].items()) if o == "no kernel"]
        line = f"  {op:<20} tested: {','.join(claimed) or '-'}"
        if missing:
            line += f"   no kernel: {','.join(missing)}"
        terminalreporter.write_line(line)
