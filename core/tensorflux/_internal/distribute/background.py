"""Allreduce on a background thread, so that a gradient bucket's reduction overlaps the backward pass.

``start`` packs a bucket on the caller's thread (after that the caller may change or drop its arrays) and
queues the in-place collective for one communication thread, as Horovod's background thread does;
``finish`` waits for it and returns the results. mpi4py lets go of the GIL inside MPI calls, so the graph's
kernels go on running meanwhile.

The thread's collectives run on communicators of their own (comm.init): the order in which they interleave
with the caller's own collectives differs from rank to rank, and on one communicator that would mismatch
them. Among themselves they keep the order in which ``start`` was called, which the graph fixes.
"""

from __future__ import annotations

import itertools
import queue
import threading

from . import comm

_queue: queue.SimpleQueue = queue.SimpleQueue()
_jobs: dict = {}
_ids = itertools.count(1)
_lock = threading.Lock()
_thread: list = []
# Jobs never finished (their run failed between start and finish) are dropped beyond this many.
_MAX_UNFINISHED = 64


class _Job:
    __slots__ = ("done", "error", "packed")

    def __init__(self, packed: comm.Packed) -> None:
        self.packed = packed
        self.error: BaseException | None = None
        # A plain lock, held until the job is done: cheaper to make than an Event.
        self.done = threading.Lock()
        self.done.acquire()


def start(arrays: list, average: bool, in_place: bool = False) -> int:
    """Pack ``arrays`` and queue their allreduce; returns the handle ``finish`` takes.

    Example (a world of one, where the reduction leaves the values as they are):
        >>> import numpy as np
        >>> from tensorflux._internal.distribute import comm
        >>> comm.init()
        >>> [o.tolist() for o in finish(start([np.arange(3.0)], average=True))]
        [[0.0, 1.0, 2.0]]
    """
    job = _Job(comm.pack(arrays, average, in_place))
    if comm.size() == 1 or not comm.threads_supported():
        # Nothing to overlap (a world of one), or an MPI without thread support: reduce here and now.
        _run(job, background=False)
    else:
        _ensure_thread()
        _queue.put(job)
    with _lock:
        handle = next(_ids)
        _jobs[handle] = job
        if len(_jobs) > _MAX_UNFINISHED:
            for stale in [h for h, j in _jobs.items() if not j.done.locked()][: len(_jobs) - _MAX_UNFINISHED]:
                del _jobs[stale]
    return handle


def finish(handle: int) -> list:
    """Wait for the allreduce ``start`` queued under ``handle`` and return its outputs (raising its error).

    Example: ``outs = finish(start([grad], average=True))``.
    """
    with _lock:
        job = _jobs.pop(int(handle), None)
    if job is None:
        raise RuntimeError(f"MpiAllreduceFinish: no allreduce was started under handle {int(handle)}, or it was "
                           "finished already")
    job.done.acquire()  # the GIL is let go while waiting
    job.done.release()
    if job.error is not None:
        raise job.error
    return job.packed.outs


def _run(job: _Job, background: bool) -> None:
    try:
        comm.reduce_packed(job.packed, background=background)
    except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller, who raises it
        job.error = exc
    finally:
        job.done.release()


def _serve() -> None:
    while True:
        _run(_queue.get(), background=True)


def _ensure_thread() -> None:
    if not _thread:
        with _lock:
            if not _thread:
                worker = threading.Thread(target=_serve, name="tensorflux-allreduce", daemon=True)
                worker.start()
                _thread.append(worker)
