"""The parent side of test isolation (see tests/isolation.py): a child pytest per block of isolated tests.

The parent starts a child with every test of the block still to run. As pytest reaches each of them, the
parent waits for the child's events for that test and logs them as its own reports. A child that dies
or stalls fails the test it had started, and a new child takes the rest of the block.
"""

from __future__ import annotations

import builtins
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.isolation_child import EVENTS_FD_ENV, IDS_ENV

TIMEOUT_ENV = "TENSORFLUX_TEST_ISOLATION_TIMEOUT"
# Of no progress at all: a first OpenCL program build can take a minute on a small host, a hang forever.
DEFAULT_TIMEOUT_S = 600.0
# Of a dead child's stderr: the start of what the test wrote (the driver's "LLVM ERROR", faulthandler's
# innermost frames) and its end, up to this many lines in all.
SHOWN_LINES = 100
# Children in a row that die before starting a test: the rest of the block is failed, not retried.
MAX_SILENT_DEATHS = 2
# Options of the project's plugins that the child needs as the parent got them: option dest -> flag.
FORWARDED_OPTIONS = {"device": "--device"}


def child_command(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """``python -m pytest`` for the files of ``items``, with the parent's rootdir, config and report options."""
    opt = config.option
    paths = list(dict.fromkeys(str(item.path) for item in items))
    # --capture=sys: fd 2 stays the child's stderr file, where the parent finds an abort's "LLVM ERROR" line.
    cmd = [sys.executable, "-m", "pytest", *paths, f"--rootdir={config.rootpath}", "-p", "no:cacheprovider",
           "--continue-on-collection-errors", f"--capture={'no' if opt.capture == 'no' else 'sys'}",
           f"--tb={opt.tbstyle}", f"--import-mode={opt.importmode}"]
    if config.inipath:
        cmd += ["-c", str(config.inipath)]
    # Verbosity and --showlocals shape the failure texts the parent shows.
    cmd += ["-v"] * opt.verbose if opt.verbose > 0 else ["-q"] * -opt.verbose
    cmd += ["-l"] if opt.showlocals else []
    for flag, values in (("-p", opt.plugins), ("-o", opt.override_ini), ("-W", opt.pythonwarnings)):
        for value in values or ():
            cmd += [flag, value]
    for dest, flag in FORWARDED_OPTIONS.items():
        if getattr(opt, dest, None) is not None:
            cmd.append(f"{flag}={getattr(opt, dest)}")
    return cmd


def describe_exit(returncode: int) -> str:
    """How a process ended, from its return code: 'was killed by SIGABRT (Aborted)', 'exited with code 3'."""
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
            return f"was killed by {sig.name} ({signal.strsignal(sig)})"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _lines(path: Path, offset: int = 0) -> str:
    """The text of ``path`` from byte ``offset``, its middle left out beyond SHOWN_LINES lines."""
    with open(path, "rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    if len(lines) > SHOWN_LINES:
        head = SHOWN_LINES // 4
        lines = [*lines[:head], f"... ({len(lines) - SHOWN_LINES} lines left out) ...", *lines[head - SHOWN_LINES:]]
    return "\n".join(lines) or "(nothing)"


class _Child:
    """One child pytest running ``items`` in order, and the events it has sent so far."""

    def __init__(self, config: pytest.Config, items: list[pytest.Item], folder: Path) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        self.nodeids = {item.nodeid for item in items}
        (folder / "ids").write_text("".join(f"{item.nodeid}\n" for item in items))
        self.events: dict[str, list[dict]] = {}
        self.finished: set[str] = set()
        self.missing: set[str] = set()
        self.started: str | None = None
        self.stderr_offset = 0  # where the stderr of the test last started begins
        self.last_progress = time.monotonic()
        self._partial, self._eof = b"", False
        # A pipe, not a file the parent polls: the parent sleeps in select() until the child says something.
        self._fd, write_fd = os.pipe()
        env = {**os.environ, IDS_ENV: str(folder / "ids"), EVENTS_FD_ENV: str(write_fd)}
        env.pop("PYTEST_ADDOPTS", None)  # its options are in config.option, which child_command forwards
        with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
            self.proc = subprocess.Popen(child_command(config, items), cwd=config.invocation_params.dir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(write_fd,))
        os.close(write_fd)  # so that the pipe ends when the child does

    def pump(self, wait: float = 0) -> None:
        """Take in the events the child has sent, waiting up to ``wait`` seconds for the first."""
        while not self._eof and select.select([self._fd], [], [], wait)[0]:
            chunk = os.read(self._fd, 1 << 16)
            self._eof, wait = not chunk, 0
            self.last_progress = time.monotonic()
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for line in lines:
                self._take(json.loads(line))

    def _take(self, event: dict) -> None:
        kind = event["event"]
        if kind == "collected":
            self.missing = set(event["missing"])
        elif kind == "start":
            self.started, self.stderr_offset = event["nodeid"], event["stderr_offset"] or 0
        elif kind == "finish":
            self.finished.add(event["nodeid"])
            self.started = None
        else:
            self.events.setdefault(event["nodeid"], []).append(event)

    def _wait(self, done: Callable[[], bool], timeout: float) -> str | None:
        """Take in events until ``done()``: None then, else why that will not happen (it exited, or hung)."""
        while True:
            # At most a second asleep, to see an exit that leaves the pipe open (a test's forked process holds it).
            self.pump(wait=min(1.0, max(0.0, self.last_progress + timeout - time.monotonic())) if not self._eof else 0.05)
            if done():
                return None
            if self.proc.poll() is not None:
                self.pump()  # what it wrote just before it exited
                return None if done() else describe_exit(self.proc.returncode)
            if time.monotonic() - self.last_progress > timeout:
                self.abort()
                return f"hung: no progress in {timeout:g} s ({TIMEOUT_ENV}), so it was sent SIGABRT"
            if self._eof:
                time.sleep(0.05)  # it closed the pipe and is on its way out

    def wait_for(self, nodeid: str, timeout: float) -> str | None:
        """Wait until the child has finished ``nodeid``: None then, else why it never will."""
        why = self._wait(lambda: nodeid in self.finished or nodeid in self.missing, timeout)
        if why is None and nodeid in self.missing:
            return "the isolated test process did not collect this test; its output:\n" + _lines(self.folder / "stdout")
        return why

    def wait_exit(self, timeout: float) -> str | None:
        """After the child's last test: None if it exits as pytest does, else how it went wrong."""
        why = self._wait(lambda: self.proc.poll() is not None, timeout)
        return describe_exit(self.proc.returncode) if why is None and self.proc.returncode not in (0, 1) else why

    def abort(self) -> None:
        """SIGABRT first, for faulthandler's traceback of where it hung, then SIGKILL if that is not enough."""
        self.proc.send_signal(signal.SIGABRT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """End the child if it still runs (the parent stopped early: -x, Ctrl-C), and let go of its files."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self._fd)

    def stderr(self) -> str:
        """The child's stderr since its last test started: the driver's "LLVM ERROR", faulthandler's traceback."""
        return _lines(self.folder / "stderr", self.stderr_offset)


def _failed(item: pytest.Item, when: str, text: str, duration: float) -> pytest.TestReport:
    return pytest.TestReport(item.nodeid, item.location, {k: 1 for k in item.keywords}, "failed", text, when,
                             duration=duration)


def _passed_teardown(item: pytest.Item) -> pytest.TestReport:
    return pytest.TestReport(item.nodeid, item.location, {k: 1 for k in item.keywords}, "passed", None, "teardown")


def with_failure(item: pytest.Item, reports: list[pytest.TestReport], text: str,
                 duration: float) -> list[pytest.TestReport]:
    """``reports`` completed by a failure of the phase the child did not get through."""
    whens = [r.when for r in reports]
    if "teardown" in whens:
        # The test was over when the child went wrong (at exit): its teardown is as close as it gets.
        reports[whens.index("teardown")] = _failed(item, "teardown", text, duration)
        return reports
    when = "setup" if not reports else "call" if whens == ["setup"] and reports[0].passed else "teardown"
    reports = [*reports, _failed(item, when, text, duration)]
    return reports if when == "teardown" else [*reports, _passed_teardown(item)]


def _warning(event: dict) -> warnings.WarningMessage:
    category = getattr(builtins, event["category"], None)
    if not (isinstance(category, type) and issubclass(category, Warning)):
        category = type(event["category"], (UserWarning,), {})  # the summary only shows its name
    return warnings.WarningMessage(category(event["message"]), category, event["filename"], event["lineno"])


class IsolationRunner:
    """Runs the session's isolated tests in child processes and reports them as if they had run here."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
        self.folder = Path(tempfile.mkdtemp(prefix="tensorflux-isolation-"))
        self.blocks: dict[str, list[pytest.Item]] = {}  # nodeid -> its block of consecutive isolated tests
        self.child: _Child | None = None
        self.children = 0
        self.silent_deaths = 0
        self.given_up: dict[int, str] = {}  # id(block) -> why its remaining tests are not run

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        block: list[pytest.Item] | None = None
        for item in session.items:
            if item.get_closest_marker("isolated") is None:
                block = None
                continue
            if block is None:
                block = []
            block.append(item)
            self.blocks[item.nodeid] = block

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        block = self.blocks.get(item.nodeid)
        if block is None:
            return None
        started = time.monotonic()
        events, failure = self._run(item, block)
        reports = [self._report(e["report"]) for e in events if e["event"] == "report"]
        if failure:
            reports = with_failure(item, reports, failure, time.monotonic() - started)
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for report in [*reports, *self._teardown_here(item, nextitem)]:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        for event in events:
            if event["event"] == "warning":
                item.ihook.pytest_warning_recorded.call_historic(kwargs={
                    "warning_message": _warning(event), "when": "runtest", "nodeid": item.nodeid, "location": None})
            elif event["event"] == "state":
                self.config.hook.pytest_isolation_merge_state(config=self.config, state=event["state"])
        return True

    def _run(self, item: pytest.Item, block: list[pytest.Item]) -> tuple[list[dict], str | None]:
        """The child's events for ``item``, and why it failed to finish it (None if it did)."""
        if id(block) in self.given_up:
            return [], self.given_up[id(block)]
        if self.child is None or item.nodeid not in self.child.nodeids:
            self._stop_child()
            self.children += 1
            self.child = _Child(self.config, block[block.index(item):], self.folder / f"child-{self.children}")
        child = self.child
        why = child.wait_for(item.nodeid, self.timeout)
        if why is None and item is block[-1]:
            why = child.wait_exit(self.timeout)
            self._stop_child()
        events = child.events.pop(item.nodeid, [])
        if why is None:
            self.silent_deaths = 0
            return events, None
        if item.nodeid in child.missing:
            return events, why
        self._stop_child()
        if item.nodeid in child.finished:  # it went wrong at exit, after the test
            return events, (f"the isolated test process {why}\nThat was after this test, its last. "
                            f"Its stderr since this test started:\n{child.stderr()}")
        if child.started == item.nodeid:
            self.silent_deaths = 0
            return events, (f"the isolated test process {why}\nIt was running this test; the rest of its tests run in a "
                            f"new process. Its stderr since this test started:\n{child.stderr()}")
        self.silent_deaths += 1
        if self.silent_deaths >= MAX_SILENT_DEATHS:
            self.given_up[id(block)] = (f"not run: {self.silent_deaths} isolated test processes in a row died before "
                                        f"starting a test; the last one failed {item.nodeid}")
        return events, f"the isolated test process {why}\nThat was before it started this test. Its stderr:\n{child.stderr()}"

    def _report(self, data: dict) -> pytest.TestReport:
        report = self.config.hook.pytest_report_from_serializable(config=self.config, data=data)
        # JSON made lists of the tuples that pytest checks for: a skip's (path, line, reason), the location.
        if isinstance(report.longrepr, list):
            report.longrepr = tuple(report.longrepr)
        report.location = tuple(report.location)
        report.sections = [tuple(section) for section in report.sections]
        return report

    def _teardown_here(self, item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.TestReport]:
        # The parent set up none of the item's own nodes, but it still holds those it shares with the test
        # before (session, package, module): tear down the ones nextitem does not need, as pytest's runner would.
        call = pytest.CallInfo.from_call(lambda: item.session._setupstate.teardown_exact(nextitem), when="teardown")
        return [] if call.excinfo is None else [item.ihook.pytest_runtest_makereport(item=item, call=call)]

    def _stop_child(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None

    def pytest_sessionfinish(self) -> None:
        self._stop_child()

    def pytest_unconfigure(self) -> None:
        self._stop_child()
        shutil.rmtree(self.folder, ignore_errors=True)
