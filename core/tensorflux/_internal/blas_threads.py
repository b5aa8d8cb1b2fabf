"""One process-wide cap on the threads of numpy's OpenBLAS, for every plugin that runs products on the host.

OpenBLAS's own threads split a product statically and spin while they wait, so on a busy machine a product
stalls on a worker that is not scheduled (measured on a 2-core VM shared with other processes: a 3136x1024
matrix-vector product took 12-24 ms on two OpenBLAS threads, 0.2 ms on one). Plugins that split work
themselves, or whose products are small, run them inside :func:`blas_thread_cap`.

``openblas_set_num_threads_local`` sets the count for the whole process in OpenBLAS's pthreads builds (numpy's
wheels), despite its name. So sections are counted, process-wide and across plugins: the first to enter sets
the cap, the last to leave restores the count it found, and overlapping sections in several threads (the cpu
plugin's helpers, an interpreter invoked meanwhile) never undo each other. Where numpy's BLAS is not an
OpenBLAS found in ``/proc/self/maps``, the cap does nothing.
"""

from __future__ import annotations

import ctypes
import re
import threading
from typing import Any, Callable

_NAMES = ("openblas_set_num_threads_local", "openblas_set_num_threads_local64_", "scipy_openblas_set_num_threads_local64_")
_found: list = []  # [setter or None] once looked up: reading /proc/self/maps waits for the first section


def openblas_thread_setter() -> Callable[[int], int] | None:
    """OpenBLAS's ``openblas_set_num_threads_local`` (it returns the previous count), or None where there is none.

    Example:
        >>> from tensorflux.extend import openblas_thread_setter
        >>> setter = openblas_thread_setter()
        >>> setter is None or callable(setter)
        True
    """
    if not _found:
        _found.append(_find_setter())
    return _found[0]


def _find_setter() -> Callable[[int], int] | None:
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return None
    for path in sorted(set(re.findall(r"(/\S*openblas\S*\.(?:so|dylib)\S*)", maps))):
        try:
            # PyDLL: the call keeps the GIL. It only stores a count, and giving the GIL away there lets a helper
            # thread take it just as the caller needs it again for the next line.
            lib = ctypes.PyDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                return fn
    return None


class _Cap:
    """A counted, process-wide section during which OpenBLAS uses at most ``threads`` threads."""

    __slots__ = ("threads",)
    lock = threading.Lock()
    depth = 0
    saved = 0

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def __enter__(self) -> None:
        setter = _found[0] if _found else openblas_thread_setter()
        if setter is None:
            return
        with _Cap.lock:
            if _Cap.depth == 0:
                _Cap.saved = setter(self.threads)
            _Cap.depth += 1

    def __exit__(self, *exc: Any) -> None:
        setter = _found[0]
        if setter is None:
            return
        with _Cap.lock:
            _Cap.depth -= 1
            if _Cap.depth == 0:
                setter(_Cap.saved)


class _NoCap:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_ONE, _NONE = _Cap(1), _NoCap()


def blas_thread_cap(threads: int | None = 1) -> _Cap | _NoCap:
    """A context manager: numpy's BLAS runs on at most ``threads`` threads inside it (None or < 1: no cap).

    Sections overlapping in several Python threads share one cap (the first one's), for the whole process.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import blas_thread_cap
        >>> with blas_thread_cap(1):
        ...     float((np.ones((2, 2)) @ np.ones(2)).sum())
        4.0
    """
    if threads is None or threads < 1:
        return _NONE
    return _ONE if threads == 1 else _Cap(int(threads))
