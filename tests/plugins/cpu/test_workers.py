"""The cpu plugin's helper threads: they take chunks beside the caller, also after sleeping, and after a fork."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tensorflux_cpu import workers

needs_two_cores = pytest.mark.skipif(workers.THREADS < 2, reason="helper threads need a second core (THREADS == 1)")


def _two_chunks_that_meet(timeout: float = 5.0) -> list:
    """Chunk 0 waits for chunk 1 to start: it finishes in time only if another thread takes chunk 1."""
    started = threading.Event()

    def chunk(i):
        if i == 1:
            started.set()
            return threading.current_thread().name
        return started.wait(timeout), threading.current_thread().name

    return workers.parallel_chunks(chunk, 2)


@needs_two_cores
def test_a_helper_takes_a_chunk_while_the_caller_works_on_another():
    (met, first), second = _two_chunks_that_meet()
    assert met
    assert first != second


@needs_two_cores
def test_a_helper_that_went_to_sleep_is_woken_for_the_next_job():
    _two_chunks_that_meet()
    time.sleep(0.05)  # well past the default watch of 1 ms: the helpers sleep on their lock now
    (met, _), _ = _two_chunks_that_meet()
    assert met


@needs_two_cores
def test_the_finished_job_is_not_kept_by_the_helpers():
    payload = np.ones(1 << 10)
    workers.parallel_chunks(lambda i: payload, 4)
    assert workers._helpers is not None and workers._helpers.job is None


def _meet_in_child(queue) -> None:
    (met, _), _ = _two_chunks_that_meet()
    queue.put(met)


@needs_two_cores
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_gets_helpers_of_its_own():
    _two_chunks_that_meet()  # the parent's helpers exist before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_meet_in_child, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) is True


_CHILD = """
import threading
from tensorflux_cpu import workers
started = threading.Event()
out = workers.parallel_chunks(lambda i: started.set() if i else started.wait(5), 2)
print(workers._WATCH._loop is None, out[0])
"""


@needs_two_cores
def test_no_watch_with_a_spin_time_of_zero():
    env = dict(os.environ, TENSORFLUX_CPU_SPIN_US="0")
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


@pytest.mark.parametrize("raw", ["fast", "-5"])
def test_a_bad_spin_time_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TENSORFLUX_CPU_SPIN_US", raw)
    with pytest.raises(ValueError, match="TENSORFLUX_CPU_SPIN_US"):
        workers._spin_seconds()


def test_the_watch_parks_then_sees_a_change_or_times_out():
    watch = workers._Watch()
    flag, parked = np.zeros(1, np.int64), np.zeros(1, np.int64)
    assert watch.wait(flag.ctypes.data, 0, parked.ctypes.data, 5) is False
    flag[0] = 7
    assert watch.wait(flag.ctypes.data, 0, parked.ctypes.data, 6) is watch.available
    if watch.available:
        assert parked[0] == 6


@needs_two_cores
def test_a_job_returns_once_its_helper_has_parked_again():
    # The caller would otherwise take the GIL back while the helper still runs Python, and sleep on it.
    if not workers._WATCH.available:
        pytest.skip("no compiled watch here (llvmlite or libc's sched_yield missing): helpers sleep instead")
    helpers = workers._pool()
    for _ in range(20):
        started = threading.Event()
        job = workers._Job(lambda i, started=started: started.set() if i else started.wait(5), 2)
        helpers.post(job)
        assert job.join()
        with workers._SECTION:
            job.work()
        job.leave()
        job.wait()
        helpers.retire(job)
        assert job.results[0] is True  # a helper took chunk 1 while this thread waited in chunk 0
        assert job.helpers, "no helper joined"
        for address, ticket in job.helpers:
            slot = (address - helpers.parked.ctypes.data) // 8
            assert int(helpers.parked[slot]) != ticket, f"helper {slot} had not parked when the job returned"
