"""A cap on the threads numpy's BLAS uses while the interpreter runs a model.

A mobile model's products are small (the MNIST CNN's largest, 196x800 by 800x64, takes 0.2 ms on one core),
too small for OpenBLAS's thread pool to pay, and that pool stalls on a busy machine: a product it splits
waits for a worker that is not scheduled (measured here, 2 cores shared with other processes: a 3136x1024
matrix-vector product took 12-24 ms on OpenBLAS's two threads, 0.2 ms on one). So ``invoke`` runs inside
:func:`capped`. OpenBLAS's ``openblas_set_num_threads_local`` sets the count for the whole process in its
pthreads builds (numpy's wheels), so sections are counted: the first to enter sets the cap, the last to
leave restores the count it found. Where numpy's BLAS is not an OpenBLAS found in ``/proc/self/maps``, the
cap does nothing.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.blas_threads import capped
    >>> with capped(1):
    ...     float((np.ones((2, 2)) @ np.ones(2)).sum())
    4.0
"""

from __future__ import annotations

import ctypes
import re
import threading
from typing import Any, Callable

_NAMES = ("openblas_set_num_threads_local", "openblas_set_num_threads_local64_", "scipy_openblas_set_num_threads_local64_")


def _find_setter() -> Callable[[int], int] | None:
    """OpenBLAS's ``openblas_set_num_threads_local`` (returns the previous count), from the loaded libraries."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return None
    for path in sorted(set(re.findall(r"(/\S*openblas\S*\.(?:so|dylib)\S*)", maps))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                return fn
    return None


_set = _find_setter()


class _Cap:
    """A counted, process-wide section during which OpenBLAS uses at most ``threads`` threads."""

    __slots__ = ("threads",)
    lock = threading.Lock()
    depth = 0
    saved = 0

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def __enter__(self) -> None:
        if _set is None:
            return
        cls = _Cap
        with cls.lock:
            if cls.depth == 0:
                cls.saved = _set(self.threads)
            cls.depth += 1

    def __exit__(self, *exc: Any) -> None:
        if _set is None:
            return
        cls = _Cap
        with cls.lock:
            cls.depth -= 1
            if cls.depth == 0:
                _set(cls.saved)


class _NoCap:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def capped(threads: int | None) -> _Cap | _NoCap:
    """A context manager: numpy's BLAS runs on at most ``threads`` threads inside it (None or < 1: no cap).

    Sections overlapping in several Python threads share one cap (the first one's), for the whole process.

    Example:
        >>> from tensorflux_mobile.blas_threads import capped
        >>> with capped(None):
        ...     pass
    """
    return _Cap(int(threads)) if threads is not None and threads >= 1 else _NoCap()
