"""The cpu plugin's helper threads: they take chunks of a job beside the calling thread.

A graph run hands its helpers a job per large op, often hundreds of jobs a second with gaps of tens
of microseconds between them. A thread that sleeps on a lock between jobs takes 20-100 us to wake
(measured here, more after a long idle), and the calling thread does those chunks alone meanwhile.
So a helper that finishes a job first watches for the next one for ``TENSORFLUX_CPU_SPIN_US``
microseconds (default 1000), in a compiled loop that holds no GIL and yields the core to any other
runnable thread on every turn, and only then sleeps, as TensorFlow's (Eigen's) pool threads do.
Picking a job up from the watch takes about 3 us.

The GIL is the other cost: a thread that asks for it while another holds it sleeps on it, and takes
20-40 us to wake here. So the two sides avoid asking at the same moment. A helper that sees a job
watches ``LINGER_SECONDS`` longer, while the caller finishes setting up its first chunk and lets go
of the GIL; and the caller, once every chunk is done, waits (GIL released) until each helper that took
part has parked in its watch again, rather than take the GIL back while the helper still runs Python.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from typing import Any, Callable

import numpy as np

from tensorflux.extend import blas_thread_cap


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


THREADS = max(1, _cpu_count())
_SECTION = blas_thread_cap(1)


def _spin_seconds() -> float:
    raw = os.environ.get("TENSORFLUX_CPU_SPIN_US", "1000")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"TENSORFLUX_CPU_SPIN_US must be a number of microseconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"TENSORFLUX_CPU_SPIN_US must be >= 0, got {raw!r}")
    return value * 1e-6


# watch(flag, seen, turns, yield_core, parked, ticket): first store `ticket` at `parked` (the GIL is
# released by then: see _Helpers), then up to `turns` times read flag[0] (atomically, so the compiler reads
# it anew each turn) and return 1 if it differs from `seen`; else call yield_core() and go on.
_WATCH_IR = r"""
define i64 @watch(i64* %flag, i64 %seen, i64 %turns, i64 %yield_addr, i64* %parked, i64 %ticket, i64 %linger) {
entry:
  store atomic i64 %ticket, i64* %parked release, align 8
  %yield_core = inttoptr i64 %yield_addr to i32 ()*
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %pass]
  %spent = icmp sge i64 %i, %turns
  br i1 %spent, label %timeout, label %look
look:
  %now = load atomic i64, i64* %flag acquire, align 8
  %changed = icmp ne i64 %now, %seen
  br i1 %changed, label %stay, label %pass
pass:
  %ignored = call i32 %yield_core()
  %next = add i64 %i, 1
  br label %loop
stay:
  %j = phi i64 [0, %look], [%next_j, %stay_more]
  %stayed = icmp sge i64 %j, %linger
  br i1 %stayed, label %seen_it, label %stay_more
stay_more:
  %ignored2 = call i32 %yield_core()
  %next_j = add i64 %j, 1
  br label %stay
seen_it:
  ret i64 1
timeout:
  ret i64 0
}
"""


# A helper that sees a job watches this much longer before it takes the GIL. The caller holds the GIL for
# several microseconds after posting (until its first chunk enters compiled code), and a thread that asks
# for the GIL meanwhile sleeps on it and takes 20-40 us to wake here; a little later it is usually free.
LINGER_SECONDS = 12e-6


class _Watch:
    """``wait(flag, seen)``: spin until ``flag[0] != seen`` for about the spin time; True if it changed.

    The loop is a few lines of LLVM IR compiled with llvmlite (numba's own backend; about 10 ms, where
    a numba function calling libc could not be cached and takes 0.3 s to compile). It is called through
    ctypes, which releases the GIL, and it calls libc's ``sched_yield`` every turn, so it gives the core
    away whenever another thread wants it. Where there is no libc or LLVM (or the spin time is 0),
    ``wait`` returns False at once and callers sleep on their lock instead.
    """

    def __init__(self) -> None:
        self._loop: Any = None
        self._engine: Any = None  # owns the compiled code (and the target machine it was built for)
        self._yield_addr = 0
        self._turns = 0
        self.linger = 0  # turns a helper goes on watching once it sees a job (see LINGER_SECONDS)
        self._lock = threading.Lock()
        self._ready = False

    def _build(self) -> None:
        seconds = _spin_seconds()
        if seconds <= 0:
            return
        try:
            import llvmlite.binding as llvm

            yield_addr = ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            module = llvm.parse_assembly(_WATCH_IR)
            module.verify()
            machine = llvm.Target.from_default_triple().create_target_machine()
            engine = llvm.create_mcjit_compiler(module, machine)
            engine.finalize_object()
            signature = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
            loop = signature(engine.get_function_address("watch"))
        except (ImportError, OSError, AttributeError, RuntimeError):
            return
        if not yield_addr:
            return
        probe = np.zeros(2, np.int64)
        start = time.perf_counter()
        loop(probe.ctypes.data, 0, 1000, yield_addr, probe.ctypes.data + 8, 0, 0)
        per_turn = max((time.perf_counter() - start) / 1000, 1e-8)
        self._engine, self._loop, self._yield_addr = (engine, machine), loop, yield_addr
        self._turns = max(1, int(seconds / per_turn))
        self.linger = int(LINGER_SECONDS / per_turn)

    @property
    def available(self) -> bool:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._build()
                    self._ready = True
        return self._loop is not None

    def wait(self, flag: int, seen: int, parked: int = 0, ticket: int = 0, linger: int = 0) -> bool:
        """Spin while the int64 at address ``flag`` equals ``seen``; first store ``ticket`` at address ``parked``
        (a scratch slot when 0)."""
        if not self.available:
            return False
        return bool(self._loop(flag, seen, self._turns, self._yield_addr, parked or _SCRATCH_ADDRESS, ticket, linger))


_SCRATCH = np.zeros(1, np.int64)
_SCRATCH_ADDRESS = _SCRATCH.ctypes.data


_WATCH = _Watch()


class _Job:
    """Chunks ``0..n-1`` of ``fn``, taken one at a time by the calling thread and any helper that joins.

    ``finished`` (a lock held from the start) is released once every chunk is taken and every thread that
    took part has left its single-threaded section; ``fn`` is dropped then, so no helper still reaches
    the arrays it closes over (reference counts decide updates in place and donation).
    """

    __slots__ = ("fn", "n", "next", "results", "busy", "lock", "finished", "error", "helpers")

    def __init__(self, fn: Callable[[int], Any], n: int) -> None:
        self.fn: Callable[[int], Any] | None = fn
        self.n = n
        self.next = 0
        self.results: list = [None] * n
        self.busy = 0
        self.lock = threading.Lock()
        # A plain lock: an Event (a condition and two locks) cost more to make than the rest of the job's setup.
        self.finished = threading.Lock()
        self.finished.acquire()
        self.error: BaseException | None = None
        self.helpers: list = []  # (address of a helper's parked slot, the ticket it held when it joined)

    def join(self, parked: int = 0, ticket: int = 0) -> bool:
        """Count the calling thread in, unless every chunk is already taken (a helper names its parked slot)."""
        with self.lock:
            if self.next >= self.n:
                return False
            self.busy += 1
            if parked:
                self.helpers.append((parked, ticket))
            return True

    def leave(self) -> None:
        with self.lock:
            self.busy -= 1
            if self.busy == 0 and self.next >= self.n:
                self.fn = None
                self.finished.release()

    def work(self) -> None:
        while True:
            with self.lock:
                i = self.next
                if i >= self.n:
                    return
                self.next = i + 1
                fn = self.fn
            try:
                if self.error is None:
                    self.results[i] = fn(i)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                self.error = exc
            del fn

    def help(self, parked: int, ticket: int) -> None:
        if not self.join(parked, ticket):
            return
        try:
            with _SECTION:
                self.work()
        finally:
            self.leave()

    def wait(self) -> None:
        """Return once every chunk is done and, as far as the watch can tell, every helper that took part has
        let go of the GIL again.

        A helper finishing the last chunk still runs a little Python before it watches again; a caller that
        took the GIL back meanwhile would sleep on it, and a thread asleep on the GIL takes 20-30 us to wake
        here. Waiting, GIL released, for the helper to park (it stores a new ticket once it has let go of
        the GIL) costs about 1 us instead.
        """
        # Every chunk is taken by now, so no helper joins any more. A helper parks only after it has left, so once
        # all have parked the lock is free; one that has not parked within the watch is waited for on the lock.
        for parked, ticket in self.helpers:
            _WATCH.wait(parked, ticket)
        self.finished.acquire()
        self.finished.release()


class _Helpers:
    """``THREADS - 1`` daemon threads that help with the newest posted job.

    ``post`` publishes a job by bumping ``generation``; a helper watching sees it within microseconds,
    and one asleep is woken. Only the newest job is offered: the thread that posts a job always works
    on it until every chunk is taken, so a job no helper saw still finishes. Each helper stores a new
    ticket in its ``parked`` slot whenever it starts watching, after it has let go of the GIL.
    """

    def __init__(self, count: int) -> None:
        self.generation = np.zeros(1, np.int64)
        self.parked = np.zeros(max(count, 1), np.int64)
        self.job: _Job | None = None
        self.sleeping = 0
        self.wake = threading.Condition()
        self.threads = [threading.Thread(target=self._serve, args=(i,), name=f"tensorflux-cpu-{i}", daemon=True)
                        for i in range(count)]
        for thread in self.threads:
            thread.start()

    def post(self, job: _Job) -> None:
        with self.wake:
            self.job = job
            self.generation[0] += 1
            if self.sleeping:
                self.wake.notify_all()

    def retire(self, job: _Job) -> None:
        """Stop offering ``job``, so its results are not kept alive until the next post."""
        with self.wake:
            if self.job is job:
                self.job = None

    def _serve(self, index: int) -> None:
        generation = self.generation.ctypes.data
        parked = self.parked.ctypes.data + 8 * index
        seen = ticket = 0
        while True:
            ticket += 1
            if not _WATCH.wait(generation, seen, parked, ticket, _WATCH.linger):
                with self.wake:
                    self.parked[index] = ticket
                    self.sleeping += 1
                    while int(self.generation[0]) == seen:
                        self.wake.wait()
                    self.sleeping -= 1
            with self.wake:
                seen = int(self.generation[0])
                job = self.job
            if job is not None:
                job.help(parked, ticket)
            del job


_helpers: _Helpers | None = None
_helpers_lock = threading.Lock()


def _pool() -> _Helpers:
    global _helpers
    if _helpers is None:
        with _helpers_lock:
            if _helpers is None:
                _helpers = _Helpers(THREADS - 1)
    return _helpers


def _forget_helpers() -> None:
    # A forked child has none of the parent's threads, and their lock may have been held at the fork.
    global _helpers, _helpers_lock
    _helpers = None
    _helpers_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def parallel_chunks(fn: Callable[[int], Any], n: int) -> list:
    """``[fn(0), ..., fn(n-1)]``, computed by this thread and the helper threads, each on one BLAS thread.

    Chunks are handed out one at a time, so a helper that is not scheduled delays nothing. ``fn`` must
    release the GIL for the work to overlap (numpy's matmul, copies and ufuncs on large arrays do).
    It returns once every helper that took part has finished and let go of ``fn``.

    Example:
        >>> parallel_chunks(lambda i: i * i, 4)
        [0, 1, 4, 9]
    """
    if n <= 0:
        return []
    if n == 1 or THREADS == 1:
        with _SECTION:
            return [fn(i) for i in range(n)]
    job = _Job(fn, n)
    del fn
    helpers = _pool()
    helpers.post(job)
    if job.join():  # else the helpers took every chunk already
        try:
            with _SECTION:
                job.work()
        finally:
            job.leave()
    job.wait()
    helpers.retire(job)
    if job.error is not None:
        raise job.error
    return job.results
