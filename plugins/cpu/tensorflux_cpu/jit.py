"""Compiled loops, for kernels that numpy would run as several passes over memory.

Kernels here are numba functions compiled on first use and cached on disk (``cache=True``), so a
later process loads them instead of compiling. They release the GIL (``nogil=True``), so the plugin
spreads them over its own threads with ``blas.parallel_chunks``; numba's ``parallel=True`` is not
used, because its thread pool would compete with those threads and with OpenBLAS's.
"""

from __future__ import annotations

from typing import Any, Callable

import numba


def compiled(fn: Callable | None = None, *, fastmath: Any = False) -> Any:
    """Compile ``fn`` with numba: cached on disk, GIL released, numpy's error model.

    ``fastmath`` is off unless a kernel shows its results stay within tolerance with it.

    Example:
        >>> import numpy as np
        >>> @compiled
        ... def total(x):
        ...     s = 0.0
        ...     for v in x:
        ...         s += v
        ...     return s
        >>> total(np.arange(4.0))
        6.0
    """
    def wrap(f: Callable) -> Any:
        return numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=fastmath)(f)

    return wrap(fn) if fn is not None else wrap
