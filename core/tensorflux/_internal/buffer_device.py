"""A device whose memory is not the host's, written once: pooled buffers, host copies and a program cache.

A driver-backed device (OpenCL, CUDA, Metal...) subclasses :class:`BufferDevice` and writes four primitives:
``allocate_buffer``, ``copy_in``, ``copy_out`` (and ``free_buffer`` where buffers do not free themselves).
The base turns them into the ``Device`` interface core calls (``from_host``, ``to_host``) and the one
kernels use (``empty``, ``upload``), over a :class:`~tensorflux.extend.RecyclingAllocator` and
:class:`~tensorflux.extend.DeviceArray` values. A :class:`ProgramCache` builds each compiled program once.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Hashable

import numpy as np

from .device_memory import Block, DeviceArray, RecyclingAllocator
from .devices import Device
from .errors import KernelUnavailable


class BufferDevice(Device):
    """A device whose values are :class:`DeviceArray` objects in pooled driver buffers.

    Subclasses set ``device_type`` and implement :meth:`allocate_buffer`, :meth:`copy_in` and
    :meth:`copy_out`. Values of at most ``host_copy_limit`` elements that start on the host keep a read-only
    host copy, so kernels that need them on the host (axes, shapes, labels to validate) read them without a
    device sync.

    Example:
        >>> import numpy as np
        >>> class BytesDevice(BufferDevice):
        ...     device_type = "bytes"
        ...     def allocate_buffer(self, nbytes): return bytearray(nbytes)
        ...     def copy_in(self, buffer, host): buffer[:host.nbytes] = host.tobytes()
        ...     def copy_out(self, host, buffer): host.reshape(-1).view(np.uint8)[:] = buffer[:host.nbytes]
        >>> dev = BytesDevice(0)
        >>> x = dev.from_host(np.arange(5000.0))     # past host_copy_limit: no host copy
        >>> x.host is None, float(dev.to_host(x)[-1]), dev.pool.in_use
        (True, 4999.0, 40192)
    """

    host_memory = False
    host_copy_limit = 4096

    def __init__(self, index: int = 0, *, max_alloc: int | None = None, capacity: int | None = None,
                 keep_bytes: int = 1 << 30) -> None:
        super().__init__(index)
        self.pool = RecyclingAllocator(self.allocate_buffer, self.free_buffer,
                                       owner=f"{type(self).__name__} {self.name}", max_alloc=max_alloc,
                                       capacity=capacity, keep_bytes=keep_bytes)

    # -- the driver's primitives -----------------------------------------------------------------------------
    def allocate_buffer(self, nbytes: int) -> Any:
        """A new driver buffer of ``nbytes``; raise MemoryError when the driver has none."""
        raise NotImplementedError(f"{type(self).__name__} must implement allocate_buffer(nbytes)")

    def free_buffer(self, buffer: Any) -> None:
        """Give ``buffer`` back to the driver (the pool calls this for buffers it does not keep).

        The default drops the reference, for drivers whose buffer objects free themselves when collected.
        """

    def copy_in(self, buffer: Any, host: np.ndarray) -> None:
        """Copy the C-contiguous ``host`` array into ``buffer`` and wait until it is there."""
        raise NotImplementedError(f"{type(self).__name__} must implement copy_in(buffer, host)")

    def copy_out(self, host: np.ndarray, buffer: Any) -> None:
        """Copy ``buffer`` into the C-contiguous ``host`` array (of the value's shape and dtype) and wait."""
        raise NotImplementedError(f"{type(self).__name__} must implement copy_out(host, buffer)")

    # -- memory ---------------------------------------------------------------------------------------------
    def empty(self, shape: tuple, dtype: Any) -> DeviceArray:
        """An uninitialized array from the pool."""
        dtype = np.dtype(dtype)
        shape = tuple(int(d) for d in shape)
        return DeviceArray(self, shape, dtype, self.pool.alloc(math.prod(shape) * dtype.itemsize))

    def upload(self, array: np.ndarray) -> Block:
        """A pooled block holding a copy of the host ``array``."""
        block = self.pool.alloc(array.nbytes)
        if array.nbytes:
            self.copy_in(block.buf, np.ascontiguousarray(array))
        return block

    def from_host(self, array: Any) -> DeviceArray:
        arr = np.asarray(array)
        if arr.dtype == object:
            raise TypeError(f"string tensors cannot be placed on {self.name}; keep them on the cpu")
        host = None
        if arr.size <= self.host_copy_limit:
            host = np.array(arr, copy=True)
            host.setflags(write=False)
        return DeviceArray(self, arr.shape, arr.dtype, self.upload(arr), host)

    def to_host(self, value: Any) -> np.ndarray:
        if not isinstance(value, DeviceArray):
            return np.asarray(value)
        if value.host is not None:
            return value.host
        out = np.empty(value.shape, value.dtype)
        if out.nbytes:
            self.copy_out(out, value.block.buf)
        return out


class ProgramCache:
    """Compiled programs by key, each built once; a build that fails with ``error`` is remembered, not retried.

    ``build(key, text, options)`` compiles source text; ``lookup(program, name)`` fetches one kernel of a built
    program. :meth:`get` returns a :class:`Kernels` table over the program. A failed build is recorded in
    ``broken`` (key -> message) and raises ``error(message)`` on every later request, so a program the driver
    cannot build costs one compile, not one per run. ``error`` should be a KernelUnavailable, which makes the
    session place the op elsewhere.

    Example:
        >>> builds = []
        >>> def build(key, text, options):
        ...     builds.append(key)
        ...     return {"twice": lambda v: 2 * v}
        >>> cache = ProgramCache(build, lambda program, name: program[name])
        >>> cache.get("double", lambda: "source").twice(4), cache.get("double", lambda: "source").twice(5)
        (8, 10)
        >>> builds
        ['double']
    """

    def __init__(self, build: Callable[[Hashable, str, tuple], Any], lookup: Callable[[Any, str], Any],
                 error: type[Exception] = KernelUnavailable) -> None:
        self.build, self.lookup, self.error = build, lookup, error
        self.built: dict[Hashable, Kernels] = {}
        self.broken: dict[Hashable, str] = {}  # key -> why it does not build

    def get(self, key: Hashable, source: Callable[[], str], options: tuple = ()) -> "Kernels":
        """The kernels of the program ``key``, built from ``source()`` with ``options`` on first use.

        Example:
            >>> cache = ProgramCache(lambda key, text, options: text.split(), lambda program, name: name in program)
            >>> cache.get(("demo", 1), lambda: "scale shift").scale
            True
        """
        kernels = self.built.get(key)
        if kernels is None:
            if key in self.broken:
                raise self.error(self.broken[key])
            try:
                program = self.build(key, source(), tuple(options))
            except self.error as exc:
                self.broken[key] = str(exc)
                raise
            kernels = self.built[key] = Kernels(program, self.lookup)
        return kernels


class Kernels:
    """A built program's kernels by attribute, each fetched once with ``lookup(program, name)``.

    Example:
        >>> table = Kernels({"add": "kernel object"}, lambda program, name: program[name])
        >>> table.add, "add" in vars(table)
        ('kernel object', True)
    """

    def __init__(self, program: Any, lookup: Callable[[Any, str], Any]) -> None:
        self._program = program
        self._lookup = lookup

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not a kernel: copy probes dunders, and ours are read before __init__ sets them
            raise AttributeError(name)
        kernel = self._lookup(self._program, name)
        setattr(self, name, kernel)
        return kernel
