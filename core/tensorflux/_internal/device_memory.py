"""Device memory every accelerator needs, written once: a recycling allocator and the array handle kernels pass.

- :class:`RecyclingAllocator` hands out buffers from an ``alloc(nbytes)`` callable, rounded up to a size bucket,
  and keeps the ones that come back for the next request of that bucket, so a plan that runs again asks the
  driver for nothing. Each buffer travels in a :class:`Block` that returns it when garbage collected.
- :class:`DeviceArray` is a value on such a device: a block, a shape and a dtype, C-contiguous. Kernels never
  write into their inputs, so arrays may share a block (a reshape is free). A small value that starts on the
  host keeps a read-only host copy, and one made on the host (a constant, a shape) may stay there until a kernel
  asks for its ``buffer``: shape arithmetic then runs in numpy and never waits for the device.

Nothing here knows a driver: the buffers are whatever ``alloc`` returns (an OpenCL buffer, a CUDA pointer, a
bytearray in the tests).
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable

import numpy as np


class Block:
    """One buffer from a :class:`RecyclingAllocator`, ``nbytes`` long (its bucket's size); returns itself to
    ``pool`` when the last reference to it goes.

    Example:
        >>> pool = RecyclingAllocator(bytearray)
        >>> block = pool.alloc(10)
        >>> block.nbytes, pool.in_use
        (256, 256)
        >>> del block
        >>> pool.in_use, pool.kept
        (0, 256)
    """

    __slots__ = ("buf", "nbytes", "pool")

    def __init__(self, buf: Any, nbytes: int, pool: "RecyclingAllocator") -> None:
        self.buf, self.nbytes, self.pool = buf, nbytes, pool

    def __del__(self) -> None:
        try:
            self.pool.release(self.buf, self.nbytes)
        except Exception:  # noqa: BLE001,S110 - interpreter shutdown: the driver frees everything anyway
            pass


class RecyclingAllocator:
    """A size-bucketed free list over a driver's ``alloc(nbytes) -> buffer`` (and optional ``free(buffer)``).

    Requests round up to a multiple of ``granularity`` bytes; a freed buffer waits in its bucket for the next
    request of that size, up to ``keep_bytes`` kept in all, past which buffers go to ``free`` (or are just
    dropped, for drivers whose buffer objects free themselves). ``max_alloc`` and ``capacity`` (bytes per
    buffer and in use in all, None for no limit) turn an oversized request into a MemoryError naming ``owner``
    instead of a driver failure. ``alloc`` may raise MemoryError itself. Thread-safe.

    Example:
        >>> freed = []
        >>> pool = RecyclingAllocator(bytearray, freed.append, owner="test device", capacity=1024, keep_bytes=256)
        >>> a, b = pool.alloc(100), pool.alloc(200)
        >>> del a, b                             # the first 256 bytes are kept, the next ones freed
        >>> len(freed), pool.kept
        (1, 256)
        >>> pool.alloc(256).buf is not None      # from the bucket: alloc is not called
        True
        >>> pool.alloc(2048)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        MemoryError: test device cannot allocate 2,048 bytes: at most unlimited bytes per buffer and 1,024 in all ...
    """

    def __init__(self, alloc: Callable[[int], Any], free: Callable[[Any], None] | None = None, *,
                 owner: str = "the device", max_alloc: int | None = None, capacity: int | None = None,
                 granularity: int = 256, keep_bytes: int = 1 << 30) -> None:
        if granularity <= 0 or granularity & (granularity - 1):
            raise ValueError(f"granularity must be a power of two, got {granularity}")
        self._alloc, self._free = alloc, free
        self.owner = owner
        self.max_alloc, self.capacity = max_alloc, capacity
        self.granularity, self.keep_bytes = granularity, keep_bytes
        self._round, self._mask = granularity - 1, ~(granularity - 1)
        self.free: dict[int, list] = {}  # bucket size -> buffers waiting for reuse
        self.in_use = 0  # bytes in blocks handed out and not yet returned
        self.kept = 0  # bytes waiting in ``free``
        self.lock = threading.Lock()

    def bucket(self, nbytes: int) -> int:
        """The size a request of ``nbytes`` is served with: a multiple of the granularity, at least one.

        Example:
            >>> RecyclingAllocator(bytearray).bucket(1000), RecyclingAllocator(bytearray).bucket(0)
            (1024, 256)
        """
        return (int(nbytes) + self._round) & self._mask or self.granularity

    def alloc(self, nbytes: int) -> Block:
        """A block of at least ``nbytes``: a kept one of its bucket, else a new one from the driver.

        Example:
            >>> RecyclingAllocator(bytearray).alloc(300).nbytes
            512
        """
        size = (int(nbytes) + self._round) & self._mask or self.granularity  # bucket(), inlined: a hot path
        with self.lock:
            waiting = self.free.get(size)
            if waiting:
                self.kept -= size
                self.in_use += size
                return Block(waiting.pop(), size, self)
        if self._too_big(size):
            self.trim()  # kept buffers hold driver memory the request may need next time
            raise MemoryError(
                f"{self.owner} cannot allocate {int(nbytes):,} bytes: at most {_limit(self.max_alloc)} bytes per "
                f"buffer and {_limit(self.capacity)} in all ({self.in_use:,} in use)")
        buf = self._alloc(size)
        with self.lock:
            self.in_use += size
        return Block(buf, size, self)

    def _too_big(self, size: int) -> bool:
        return (self.max_alloc is not None and size > self.max_alloc) or (
            self.capacity is not None and self.in_use + size > self.capacity)

    def release(self, buf: Any, size: int) -> None:
        """Take back a buffer of bucket ``size`` (a :class:`Block` calls this when it is collected)."""
        with self.lock:
            self.in_use -= size
            if self.kept + size <= self.keep_bytes:
                self.free.setdefault(size, []).append(buf)
                self.kept += size
                return
        if self._free is not None:
            self._free(buf)

    def trim(self) -> None:
        """Hand every kept buffer back to the driver.

        Example:
            >>> pool = RecyclingAllocator(bytearray)
            >>> pool.release(bytearray(256), 256); pool.trim(); pool.kept
            0
        """
        with self.lock:
            waiting = [buf for bufs in self.free.values() for buf in bufs]
            self.free.clear()
            self.kept = 0
        if self._free is not None:
            for buf in waiting:
                self._free(buf)


def _limit(value: int | None) -> str:
    return "unlimited" if value is None else f"{value:,}"


class DeviceArray:
    """A tensor value on a device: a :class:`Block`, a shape and a dtype (C-contiguous).

    ``host`` is a read-only host copy when the value is small and started on the host; ``block`` is None until
    such a value is first needed on the device, when ``buffer`` uploads it with ``device.upload(host)``
    (which returns a Block). ``device`` is the device that owns the block.

    Example:
        >>> import numpy as np
        >>> x = host_array(None, np.arange(6.0))
        >>> x.view((2, 3)).shape, x.size, x.nbytes, x.dtype.name
        ((2, 3), 6, 48, 'float64')
    """

    __slots__ = ("device", "shape", "dtype", "block", "host")

    def __init__(self, device: Any, shape: tuple, dtype: Any, block: Block | None = None,
                 host: np.ndarray | None = None) -> None:
        self.device = device
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.block = block
        self.host = host

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def buffer(self) -> Any:
        """The device buffer, uploading a host-only value on first use."""
        block = self.block
        if block is None:
            block = self.block = self.device.upload(self.host)
        return block.buf

    def view(self, shape: tuple) -> "DeviceArray":
        """The same data under another shape of the same size (no copy)."""
        host = None if self.host is None else self.host.reshape(shape)
        return DeviceArray(self.device, shape, self.dtype, self.block, host)

    def __repr__(self) -> str:
        return (f"DeviceArray(shape={list(self.shape)}, dtype={self.dtype.name}, "
                f"device={getattr(self.device, 'name', None)})")


def host_array(device: Any, value: Any, dtype: Any = None) -> DeviceArray:
    """A value of ``device`` that lives on the host until a kernel needs its buffer (constants, shapes).

    The value is copied unless it is already read-only, so nothing can change it behind the array.

    Example:
        >>> import numpy as np
        >>> x = host_array(None, [2, 3], np.int32)
        >>> x.shape, x.dtype.name, on_host(x)
        ((2,), 'int32', True)
    """
    value = np.asarray(value, dtype=dtype)
    value = np.array(value, copy=True) if value.flags.writeable else value
    value.setflags(write=False)
    return DeviceArray(device, value.shape, value.dtype, None, value)


def host_value(x: Any) -> np.ndarray:
    """``x`` as a host numpy array: its host copy when it has one, else a (synchronizing) download.

    Example:
        >>> import numpy as np
        >>> host_value(np.array([1, 2])).tolist(), host_value(host_array(None, [3])).tolist()
        ([1, 2], [3])
    """
    if isinstance(x, DeviceArray):
        return x.host if x.host is not None else x.device.to_host(x)
    return np.asarray(x)


def on_host(*values: Any) -> bool:
    """True when every value is a :class:`DeviceArray` that was never uploaded (constants, shapes, their results).

    Kernels compute such small values with numpy instead of launching, keeping shape arithmetic off the device.

    Example:
        >>> import numpy as np
        >>> on_host(host_array(None, np.array([1]))), on_host(np.array([1]))
        (True, False)
    """
    return all(isinstance(v, DeviceArray) and v.block is None and v.host is not None for v in values)
