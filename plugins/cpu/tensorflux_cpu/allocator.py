"""Keep freed large buffers in the process heap, so a model's next run reuses its memory instead of faulting it in.

glibc serves allocations above its mmap threshold (at most 32 MiB, raised dynamically) with fresh ``mmap`` pages
and unmaps them on free. A batch-32 image model allocates activations of 50-150 MiB every run, so every run
pays a page fault per 4 KiB page and the kernel zeroes each one: about 10% of MobileNet v2's run at batch 32. A
framework with its own pooling allocator (TensorFlow's BFC, numpy's small-block cache) does not pay that.
Raising the mmap and trim thresholds makes glibc keep freed blocks in its heap for reuse. The cost is that the
process keeps its high-water mark of freed memory instead of returning it to the system (up to ``TRIM_BYTES``).

It is applied once per process when the cpu device is created (a Session's first use of plugins), unless the
environment variable ``TENSORFLUX_CPU_RETAIN_MEMORY`` is ``0``, and only where glibc's ``mallopt`` exists.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_BYTES = 1 << 30
TRIM_BYTES = 1 << 30
ENV = "TENSORFLUX_CPU_RETAIN_MEMORY"

_state: dict = {}


def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True when they are set (now or before).

    False where the process has no glibc ``mallopt`` (musl, macOS, Windows) or the user turned it off with
    ``TENSORFLUX_CPU_RETAIN_MEMORY=0``.

    Example:
        >>> isinstance(retain_freed_memory(), bool)
        True
    """
    if "applied" not in _state:
        mallopt = _glibc_mallopt() if os.environ.get(ENV, "1") != "0" else None
        _state["applied"] = mallopt is not None and mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES) == 1 \
            and mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES) == 1
    return bool(_state["applied"])


def _glibc_mallopt():
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt
