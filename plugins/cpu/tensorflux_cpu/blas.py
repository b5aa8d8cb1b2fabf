"""BLAS threading policy: OpenBLAS runs single-threaded, and the plugin splits large work itself.

OpenBLAS's own threads split a product statically and spin while they wait. On a machine that is
busy with other processes, a worker that is not scheduled stalls the whole product, and the
spinning steals the core it waits for (measured here: an MLP training step went from 1.2 ms to
19 ms, a CNN training step from 0.1 s to 1 s, with one other process running). So every product
runs on one BLAS thread, and large products, convolutions and other chunkable work are cut into
chunks that the calling thread and a small pool of helper threads take from a shared counter: a
helper that is not scheduled simply takes fewer chunks (see ``workers``). Products large enough for
OpenBLAS's own threads to pay are timed both ways (see ``_Tuner``). OpenBLAS's
single-threaded sections are core's counted, process-wide cap (``tensorflux.extend.blas_thread_cap``); outside
them, numpy keeps its threads.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from tensorflux.extend import blas_thread_cap, openblas_thread_setter

from .workers import THREADS, parallel_chunks

# Products below this many floating-point operations (about 0.3 ms on one core) run on the calling thread alone.
PARALLEL_MIN_FLOPS = 2**25
# Products with fewer multiply-adds (m*k*n) than this go straight to numpy: OpenBLAS runs them on one thread
# by itself (its gemm threads only from m*k*n of 2 * 65536 * 4), and a single-threaded section would cost
# more (about 4 us) than the product. Measured here with another process spinning on both cores: no slowdown.
DIRECT_MAX_MACS = 2**19

BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_SECTION = blas_thread_cap(1)  # the dtypes sgemm/dgemm serve


def single_threaded() -> Any:
    """Run the block's BLAS calls on one OpenBLAS thread (for the whole process while any such block runs).

    The section is core's counted, process-wide cap (``tensorflux.extend.blas_thread_cap``), shared with
    every other plugin that caps OpenBLAS, so overlapping sections never undo each other.

    Example:
        >>> import numpy as np
        >>> with single_threaded():
        ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
        4.0
    """
    return _SECTION


def chunk_bounds(total: int, chunks: int) -> list[tuple[int, int]]:
    """Split ``range(total)`` into at most ``chunks`` contiguous, near-equal, non-empty pieces.

    Example:
        >>> chunk_bounds(10, 3)
        [(0, 4), (4, 7), (7, 10)]
    """
    chunks = max(1, min(chunks, total))
    base, extra = divmod(total, chunks)
    bounds, start = [], 0
    for i in range(chunks):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


# A convolution from this many floating-point operations is split across the threads even below PARALLEL_MIN_FLOPS:
# at batch 1 a layer of 0.1-0.4 ms on one core (Inception v3's 35x35 1x1s, MobileNet v2's stem) otherwise leaves the
# other core idle, and a job costs the helpers only 20-40 us.
CONV_PARALLEL_MIN_FLOPS = 2**23


def conv_worth_splitting(flops: float) -> bool:
    """Whether a convolution of ``flops`` that ``n_chunks`` keeps whole should still use every thread.

    Example:
        >>> conv_worth_splitting(1e3)
        False
    """
    return THREADS > 1 and flops >= min(CONV_PARALLEL_MIN_FLOPS, PARALLEL_MIN_FLOPS)


def n_chunks(flops: float, min_chunk_flops: float | None = None, per_thread: int = 2) -> int:
    """How many chunks to cut ``flops`` of work into: 1 when small, up to ``per_thread`` per thread.

    Example:
        >>> n_chunks(10)
        1
    """
    if THREADS == 1 or flops < PARALLEL_MIN_FLOPS:
        return 1
    least = PARALLEL_MIN_FLOPS / 2 if min_chunk_flops is None else min_chunk_flops
    return int(max(1, min(THREADS * per_thread, flops // max(least, 1))))


class _Tuner:
    """Picks, per product shape, between our own way and OpenBLAS's own threads, by measuring both.

    Our way is one BLAS thread for mid-size products and chunks across our threads for large ones.
    OpenBLAS's threads often win on an idle machine (they share packed panels and spin for the next
    call), and lose badly on a busy one (a worker that is not scheduled stalls the product while the
    others spin). So both are timed: the faster (by a moving average) runs, and the slower is retried
    now and then, less often each time it loses again, so a machine whose load changes is followed
    without paying for it often.
    """

    def __init__(self) -> None:
        self.stats: dict = {}  # shape -> [average seconds of ours, of OpenBLAS's, calls, next retry, gap]

    def run(self, key: tuple, ours: Callable[[], Any], theirs: Callable[[], Any]) -> Any:
        st = self.stats.get(key)
        if st is None:
            st = self.stats[key] = [0.0, 0.0, 0, 2, 16]
        calls = st[2]
        st[2] = calls + 1
        if calls < 2:
            threaded = calls == 1
        else:
            threaded = st[1] < st[0]
            if calls >= st[3]:  # time to retry the slower way
                threaded = not threaded
                st[4] = min(st[4] * 2, 4096)
                st[3] = calls + st[4]
        start = time.perf_counter()
        out = theirs() if threaded else ours()
        took = time.perf_counter() - start
        i = 1 if threaded else 0
        st[i] = took if calls < 2 else 0.7 * st[i] + 0.3 * took
        if calls >= 2 and (st[1] < st[0]) != (i == 1) and took < min(st[0], st[1]) * 1.2:
            st[4] = 16  # the retried way won: retry the other one soon too
        return out


_TUNER = _Tuner()
# Products from this many floating-point operations (half a 1024^3 product; about 7 ms on one core) up are
# tuned by _Tuner. Below it, OpenBLAS's own threads never run: after each threaded call its workers spin
# for many milliseconds, on the cores the next kernels need, and the tuner, which times the product
# alone, cannot see that. Measured here: a CNN training step (whose 50x3136x1024 products OpenBLAS's
# threads do win by 1.3-1.6x, timed alone) took 52.7 ms tuned from 2**22 up, and 37.1 ms with our chunks only.
TUNED_MIN_FLOPS = 2**30


def _single(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with single_threaded():
        return np.matmul(a, b)


_PANEL_MIN_COLUMNS = 128  # per task, for products split into column panels


def _chunked(a: np.ndarray, b: np.ndarray, chunks: int) -> np.ndarray:
    m, k = a.shape
    n = b.shape[1]
    out = np.empty((m, n), dtype=np.result_type(a, b))
    # Column panels first: each task then packs only its part of b and streams all of a past it, which
    # is how OpenBLAS blocks (1024^3: 190 GFLOP/s in column panels, 114 in row panels, on 2 cores).
    if n >= _PANEL_MIN_COLUMNS * chunks or m < 2 * chunks <= n:
        bounds = chunk_bounds(n, chunks)
        parallel_chunks(lambda i: np.matmul(a, b[:, bounds[i][0]:bounds[i][1]], out=out[:, bounds[i][0]:bounds[i][1]]),
                        len(bounds))
    elif m >= 2 * chunks:
        bounds = chunk_bounds(m, chunks)
        parallel_chunks(lambda i: np.matmul(a[bounds[i][0]:bounds[i][1]], b, out=out[bounds[i][0]:bounds[i][1]]),
                        len(bounds))
    else:  # a long inner dimension: partial products over slices of k, summed
        bounds = chunk_bounds(k, chunks)
        parts = parallel_chunks(lambda i: np.matmul(a[:, bounds[i][0]:bounds[i][1]], b[bounds[i][0]:bounds[i][1]]),
                                len(bounds))
        np.copyto(out, parts[0])
        for p in parts[1:]:
            out += p
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays: one BLAS thread when small, else row (or column) chunks across threads.

    From ``TUNED_MIN_FLOPS`` up, that is timed against OpenBLAS's own threads, and whichever is faster
    for that shape on this machine now runs (see ``_Tuner``).

    Example:
        >>> import numpy as np
        >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
        array([[3., 3.],
               [3., 3.]], dtype=float32)
    """
    m, k = a.shape
    n = b.shape[1]
    if m * k * n < DIRECT_MAX_MACS:
        return np.matmul(a, b)
    flops = 2.0 * m * k * n
    blas_ok = a.dtype == b.dtype and a.dtype in BLAS_DTYPES and m * n > 0
    if not blas_ok:
        return _single(a, b)
    chunks = n_chunks(flops)
    tuned = TUNED_MIN_FLOPS <= flops and THREADS > 1 and openblas_thread_setter() is not None
    if chunks == 1:
        if tuned:
            return _TUNER.run((m, k, n, a.dtype.char, a.strides, b.strides), lambda: _single(a, b),
                              lambda: np.matmul(a, b))
        return _single(a, b)
    if tuned:
        return _TUNER.run((m, k, n, a.dtype.char, a.strides, b.strides), lambda: _chunked(a, b, chunks),
                          lambda: np.matmul(a, b))
    return _chunked(a, b, chunks)


def small_product(fn: Callable[..., Any], flops: int, *args: Any) -> Any:
    """Run ``fn(*args)`` on one BLAS thread (kept for kernels that call BLAS through other numpy functions).

    Example:
        >>> import numpy as np
        >>> small_product(np.matmul, 8, np.ones((2, 2)), np.ones((2, 2)))
        array([[2., 2.],
               [2., 2.]])
    """
    with single_threaded():
        return fn(*args)
