"""BLAS threading policy: small matrix products run on one BLAS thread.

Waking OpenBLAS's worker threads costs more than it saves for small products, and on a busy
machine a worker that is not scheduled stalls the whole product for milliseconds (measured here:
an MLP training step went from 1.2 ms to 19 ms with a second process running). Large products
still use every thread. OpenBLAS's thread-local setter makes this safe with concurrent runs.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any, Callable

# Products below this many floating-point operations run single-threaded (about 0.3 ms on one core).
SINGLE_THREAD_FLOPS = 2**25


def _thread_local_setter() -> Callable[[int], int] | None:
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return None
    for path in sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps))):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


_set_local = _thread_local_setter()


def small_product(fn: Callable[..., Any], flops: int, *args: Any) -> Any:
    """Run ``fn(*args)`` with one BLAS thread when ``flops`` is small, else unchanged.

    Example:
        >>> import numpy as np
        >>> small_product(np.matmul, 8, np.ones((2, 2)), np.ones((2, 2)))
        array([[2., 2.],
               [2., 2.]])
    """
    if _set_local is None or flops >= SINGLE_THREAD_FLOPS:
        return fn(*args)
    previous = _set_local(1)
    try:
        return fn(*args)
    finally:
        _set_local(previous)
