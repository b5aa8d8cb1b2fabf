"""The test isolation plugin (tests/isolation.py) on small generated suites, each run by a subprocess pytest.

runpytest_subprocess, because the plugin starts children with this environment and some of these tests
abort them; the generated suites log each test's process id to ``pids.log`` to show where it ran.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """
import os

import pytest


def pytest_itemcollected(item):
    if "iso" in item.path.name:
        item.add_marker(pytest.mark.isolated)


@pytest.fixture(scope="session")
def session_pid():
    return os.getpid()


@pytest.fixture(autouse=True)
def log_pid(request, session_pid):
    with open("pids.log", "a") as f:
        f.write(f"{request.node.name} {os.getpid()} {session_pid}\\n")
"""

MIXED = """
import os
import signal
import warnings

import pytest


def test_passes():
    signal.signal(signal.SIGABRT, signal.SIG_DFL)  # as a driver's LLVM does, over faulthandler's handler


def test_fails():
    assert 6 * 7 == 43


def test_skips():
    pytest.skip("no device here")


@pytest.mark.xfail(reason="a known bug")
def test_xfails():
    assert False


def test_warns():
    warnings.warn("mind the gap")


def test_aborts():
    os.write(2, b"LLVM ERROR: out of registers\\n")  # as the driver does: straight to fd 2, past any capture
    os.abort()


def test_after_the_abort():
    pass
"""

PLAIN = """
def test_in_parent():
    pass
"""


def _pids(pytester: pytest.Pytester) -> dict[str, tuple[int, int]]:
    rows = [line.split() for line in (pytester.path / "pids.log").read_text().splitlines()]
    names = [row[0] for row in rows]
    assert len(names) == len(set(names)), f"a test ran twice: {names}"
    return {name: (int(pid), int(session_pid)) for name, pid, session_pid in rows}


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose subprocess pytest can import tests.isolation, with isolation on."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("TENSORFLUX_TEST_ISOLATION", raising=False)
    monkeypatch.delenv("TENSORFLUX_TEST_ISOLATION_TIMEOUT", raising=False)
    pytester.makeconftest(CONFTEST)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Without the tensorflux plugin: it imports tensorflux, most of a process start, in the parent and each child.
    return pytester.runpytest_subprocess("-p", "tests.isolation", "-p", "no:tensorflux", "-p", "no:cacheprovider",
                                         "-rfEsxX", *args, timeout=60)


def test_an_abort_fails_its_test_and_the_rest_still_run_and_report(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_a_iso=MIXED, test_b_plain=PLAIN)
    result = _run(suite)
    result.assert_outcomes(passed=4, failed=2, skipped=1, xfailed=1, warnings=1)
    result.stdout.fnmatch_lines([
        "*_ test_aborts _*",
        "*the isolated test process was killed by SIGABRT (Aborted)",
        "It was running this test; the rest of its tests run in a new process. Its stderr since this test started:",
        "*LLVM ERROR: out of registers",
        "*Fatal Python error: Aborted*",
        "*in test_aborts*",
        "*mind the gap*",
        "FAILED test_a_iso.py::test_fails - assert (6 * 7) == 43",
        "FAILED test_a_iso.py::test_aborts - the isolated test process was killed by*",
        "SKIPPED [[]1[]] test_a_iso.py:*: no device here",
        "XFAIL test_a_iso.py::test_xfails - a known bug",
        "=* 2 failed, 4 passed, 1 skipped, 1 xfailed, 1 warning in *",
    ])
    pids = _pids(suite)
    parent = pids["test_in_parent"][0]
    first_child = pids["test_passes"][0]
    assert parent != first_child and pids["test_aborts"][0] == first_child
    assert all(pid == first_child for name, (pid, _) in pids.items() if name not in ("test_in_parent", "test_after_the_abort"))
    assert pids["test_after_the_abort"][0] not in (parent, first_child)
    # Session fixtures run where their tests do, not in the parent as well.
    assert all(pid == session_pid for pid, session_pid in pids.values())


def test_a_hung_test_is_aborted_with_its_traceback_and_the_rest_run(suite: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORFLUX_TEST_ISOLATION_TIMEOUT", "2")
    suite.makepyfile(test_iso="import time\n\ndef test_hangs():\n    time.sleep(60)\n\ndef test_next():\n    pass\n")
    result = _run(suite)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*the isolated test process hung: no progress in 2 s (TENSORFLUX_TEST_ISOLATION_TIMEOUT), so it was sent SIGABRT*",
        "*in test_hangs*",
    ])
    assert result.duration < 30


def test_children_that_die_before_any_test_are_not_restarted_forever(suite: pytest.Pytester) -> None:
    # The child imports this conftest too, and dies there every time.
    suite.makeconftest(CONFTEST + "\nif os.environ.get('TENSORFLUX_TEST_ISOLATION_IDS'):\n    os.abort()\n")
    suite.makepyfile(test_a_iso="".join(f"def test_{i}():\n    pass\n\n" for i in range(1, 6)),
                     test_b_plain=PLAIN)
    result = _run(suite)
    result.assert_outcomes(passed=1, errors=5)
    result.stdout.fnmatch_lines([
        "*the isolated test process was killed by SIGABRT (Aborted)",
        "That was before it started this test. Its stderr:",
        "*not run: 2 isolated test processes in a row died before starting a test; the last one failed "
        "test_a_iso.py::test_2",
    ])
    assert _pids(suite).keys() == {"test_in_parent"}


def test_exitfirst_and_keyword_selection_reach_the_child(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_a_iso=MIXED, test_b_plain=PLAIN)
    result = _run(suite, "-x", "-k", "test_passes or test_fails or in_parent")
    result.assert_outcomes(passed=1, failed=1)
    assert "stopping after 1 failures" in result.stdout.str()
    assert _pids(suite).keys() == {"test_passes", "test_fails"}


def test_a_single_node_id_runs_just_that_test(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_a_iso=MIXED)
    result = _run(suite, "test_a_iso.py::test_skips")
    result.assert_outcomes(skipped=1)
    assert _pids(suite).keys() == {"test_skips"}


def test_isolation_can_be_turned_off(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORFLUX_TEST_ISOLATION", "0")
    suite.makepyfile(test_a_iso="def test_passes():\n    pass\n", test_b_plain=PLAIN)
    _run(suite).assert_outcomes(passed=2)
    assert len({pid for pid, _ in _pids(suite).values()}) == 1


def test_a_test_the_child_cannot_find_fails_and_the_rest_run(suite: pytest.Pytester) -> None:
    # Parametrized by process id, so the child collects other ids than the parent.
    suite.makepyfile(test_iso="import os\nimport pytest\n\n@pytest.mark.parametrize('pid', [os.getpid()])\n"
                              "def test_by_pid(pid):\n    pass\n\ndef test_next():\n    pass\n")
    result = _run(suite)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the isolated test process did not collect this test; its output:"])


def test_a_crash_at_the_childs_exit_fails_its_last_test(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_iso="import atexit\nimport os\n\ndef test_first():\n    pass\n\n"
                              "def test_last():\n    atexit.register(os.abort)  # as a driver's exit handler might\n")
    result = _run(suite)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_last*", "*the isolated test process was killed by SIGABRT*",
                                 "That was after this test, its last. Its stderr since this test started:"])
