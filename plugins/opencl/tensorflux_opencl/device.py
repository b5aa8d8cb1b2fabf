"""The OpenCL device: context and queue, a pooled buffer allocator, host<->device copies, and program builds.

Values on the device are :class:`DeviceArray` objects: an OpenCL buffer (a pooled :class:`Block`), a shape and
a dtype. Kernels never write into their inputs, so arrays may share a block (``reshape`` is free). A block
returns to its device's pool when the last array using it is garbage collected; the next allocation of the
same size reuses it, so a plan that runs again allocates nothing new.

Small values that start on the host (constants, shapes, fed scalars) keep a read-only host copy, so a
kernel that needs them on the host (axes, shapes, labels to validate) reads them without a device sync.
"""

from __future__ import annotations

import functools
import math
import os
import re
import threading
import warnings
from typing import Any

import numpy as np

from tensorflux.extend import Device, KernelUnavailable

# Values of at most this many elements that start on the host keep a host copy (read without a sync).
HOST_COPY_LIMIT = 4096
# Ops whose kernels need the packed gemm program (see kernels.matmul.gemm_problem).
GEMM_OPS = frozenset({"MatMul", "Conv2D", "_FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"})
# Free blocks the pool keeps for reuse, in bytes, before it hands further frees back to the driver.
POOL_KEEP_BYTES = 1 << 30

_CTYPES = {
    "float32": "float", "float64": "double", "int32": "int", "int64": "long", "bool": "uchar", "uint8": "uchar",
    "int8": "char", "int16": "short", "uint16": "ushort", "uint32": "uint", "uint64": "ulong",
}
_STORAGE = {1: "uchar", 2: "ushort", 4: "uint", 8: "ulong"}


def ctype(dtype: Any) -> str:
    """The OpenCL C type of a numpy dtype that kernels compute in.

    Example:
        >>> import numpy as np
        >>> ctype(np.float32), ctype(np.bool_)
        ('float', 'uchar')
    """
    name = np.dtype(dtype).name
    if name not in _CTYPES:
        raise TypeError(f"opencl kernels do not compute in dtype {name}; supported: {', '.join(_CTYPES)}")
    return _CTYPES[name]


def storage_type(dtype: Any) -> str:
    """An unsigned OpenCL C type of the same size as ``dtype``, for kernels that only move data.

    Example:
        >>> import numpy as np
        >>> storage_type(np.float16), storage_type(np.float64)
        ('ushort', 'ulong')
    """
    return _STORAGE[np.dtype(dtype).itemsize]


def cache_dir() -> str:
    """Where built OpenCL programs are cached on disk: ``$PYOPENCL_CACHE_DIR``, else ~/.cache/tensorflux/opencl.

    Example:
        >>> cache_dir().endswith("opencl") or "PYOPENCL_CACHE_DIR" in os.environ
        True
    """
    return os.environ.get("PYOPENCL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "tensorflux",
                                                                 "opencl")


def find_cl_devices() -> tuple[list, str]:
    """Every OpenCL device on every platform as ``[(platform, device)]``, and why there are none ('' if some).

    Example:
        >>> found, why = find_cl_devices()
        >>> bool(found) != bool(why)
        True
    """
    try:
        import pyopencl as cl
    except Exception as exc:  # noqa: BLE001 - a missing or broken driver stack must not break tensorflux
        return [], (f"pyopencl cannot be imported ({type(exc).__name__}: {exc}); "
                    "install it with `pip install 'tensorflux-opencl[pocl]'`")
    try:
        platforms = cl.get_platforms()
    except Exception as exc:  # noqa: BLE001 - clGetPlatformIDs fails when no ICD is installed
        platforms, error = [], f" ({exc})"
    else:
        error = ""
    found = []
    for platform in platforms:
        try:
            found += [(platform, d) for d in platform.get_devices()]
        except Exception:  # noqa: BLE001 - a platform without devices raises DEVICE_NOT_FOUND
            continue
    if not found:
        return [], (f"no OpenCL platform with a device was found{error}; install a driver, e.g. "
                    "`pip install pocl-binary-distribution` for a CPU device")
    return found, ""


class Block:
    """One pooled OpenCL buffer; returns itself to its pool when garbage collected."""

    __slots__ = ("buf", "nbytes", "pool")

    def __init__(self, buf: Any, nbytes: int, pool: "BufferPool") -> None:
        self.buf, self.nbytes, self.pool = buf, nbytes, pool

    def __del__(self) -> None:
        try:
            self.pool.release(self.buf, self.nbytes)
        except Exception:  # noqa: BLE001,S110 - interpreter shutdown: the driver frees everything anyway
            pass


class BufferPool:
    """A size-keyed free list of OpenCL buffers; allocations round up to 256 bytes.

    Example:
        >>> from tensorflux.extend import list_devices
        >>> dev = next((d for d in list_devices() if d.device_type == "opencl"), None)
        >>> dev is None or dev.pool.alloc(1000).nbytes == 1024
        True
    """

    def __init__(self, device: "OpenCLDevice") -> None:
        self.device = device
        self.free: dict[int, list] = {}
        self.in_use = 0
        self.kept = 0
        self.lock = threading.Lock()

    def alloc(self, nbytes: int) -> Block:
        size = max(256, (int(nbytes) + 255) & ~255)
        with self.lock:
            bucket = self.free.get(size)
            if bucket:
                self.kept -= size
                self.in_use += size
                return Block(bucket.pop(), size, self)
        dev = self.device
        if size > dev.max_alloc or self.in_use + size > dev.global_mem:
            self.trim()
            if size > dev.max_alloc or self.in_use + size > dev.global_mem:
                raise MemoryError(
                    f"OpenCL device {dev.name} cannot allocate {int(nbytes):,} bytes: at most {dev.max_alloc:,} bytes "
                    f"per buffer and {dev.global_mem:,} in all ({self.in_use:,} in use)")
        import pyopencl as cl

        try:
            buf = cl.Buffer(dev.context, cl.mem_flags.READ_WRITE, size)
        except cl.Error as exc:
            raise MemoryError(f"OpenCL device {dev.name} failed to allocate {int(nbytes):,} bytes: {exc}") from None
        with self.lock:
            self.in_use += size
        return Block(buf, size, self)

    def release(self, buf: Any, size: int) -> None:
        with self.lock:
            self.in_use -= size
            if self.kept + size <= POOL_KEEP_BYTES:
                self.free.setdefault(size, []).append(buf)
                self.kept += size

    def trim(self) -> None:
        """Hand every free buffer back to the driver."""
        with self.lock:
            self.free.clear()
            self.kept = 0


class DeviceArray:
    """A tensor value on an OpenCL device: a pooled buffer, a shape and a dtype (C-contiguous).

    ``host`` is a read-only host copy when the value is small and started on the host; ``block`` is None
    until such a value is first needed on the device.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import list_devices
        >>> dev = next((d for d in list_devices() if d.device_type == "opencl"), None)
        >>> dev is None or dev.to_host(dev.from_host(np.arange(3.0))).tolist() == [0.0, 1.0, 2.0]
        True
    """

    __slots__ = ("device", "shape", "dtype", "block", "host")

    def __init__(self, device: "OpenCLDevice", shape: tuple, dtype: Any, block: Block | None = None,
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
        """The OpenCL buffer, uploading a host-only value on first use."""
        block = self.block
        if block is None:
            block = self.block = self.device.upload(self.host)
        return block.buf

    def view(self, shape: tuple) -> "DeviceArray":
        """The same data under another shape of the same size (no copy)."""
        host = None if self.host is None else self.host.reshape(shape)
        return DeviceArray(self.device, shape, self.dtype, self.block, host)

    def __repr__(self) -> str:
        return f"DeviceArray(shape={list(self.shape)}, dtype={self.dtype.name}, device={self.device.name})"


def host_array(device: "OpenCLDevice", value: np.ndarray) -> DeviceArray:
    """A device value that lives on the host until a kernel needs its buffer (constants, shapes).

    Example:
        >>> import numpy as np
        >>> host_array(None, np.array([2, 3])).shape
        (2,)
    """
    value = np.array(value, copy=True) if value.flags.writeable else value
    value.setflags(write=False)
    return DeviceArray(device, value.shape, value.dtype, None, value)


class OpenCLDevice(Device):
    """One OpenCL device. The context and queue are created on first use.

    Example:
        >>> OpenCLDevice.priority < 1
        True
    """

    device_type = "opencl"
    priority = -1  # below cpu: programs run on opencl only when asked (tf.device or TENSORFLUX_DEVICE=opencl)
    host_memory = False

    def __init__(self, index: int, platform: Any, cl_device: Any) -> None:
        super().__init__(index)
        self.platform = platform
        self.cl_device = cl_device
        self.max_alloc = int(cl_device.max_mem_alloc_size)
        self.global_mem = int(cl_device.global_mem_size)
        self.fp64 = "cl_khr_fp64" in cl_device.extensions
        self._context = None
        self._queue = None
        self._programs: dict = {}
        self._broken: dict = {}  # program key -> why it does not build
        self._typed: set = set()  # kernels whose scalar argument types are declared
        self.gemm_widths: dict = {}  # dtype -> (vector width, why wider ones failed), see kernels.matmul.gemm_width
        self._init_lock = threading.Lock()
        self.launch_lock = threading.Lock()
        self.pool = BufferPool(self)

    # -- context, queue, programs ------------------------------------------------------------------
    def _init(self) -> None:
        import pyopencl as cl

        with self._init_lock:
            if self._queue is None:
                self._context = cl.Context([self.cl_device])
                self._queue = cl.CommandQueue(self._context)

    @property
    def context(self) -> Any:
        if self._context is None:
            self._init()
        return self._context

    @property
    def queue(self) -> Any:
        if self._queue is None:
            self._init()
        return self._queue

    def kernels(self, key: Any, source: Any, options: tuple = ()) -> Any:
        """The built program for ``key`` (built from ``source()`` once, cached in memory and on disk).

        Returns an object whose attributes are the program's kernels, each fetched once. A program that comes
        back without every kernel its source declares (a stale entry in the driver's cache, left by a process
        that died while building) is rebuilt past both caches; if that also lacks them, :class:`ProgramError`.
        """
        prog = self._programs.get(key)
        if prog is None:
            if key in self._broken:
                raise ProgramError(self._broken[key])
            text = source()
            if "double" in text:
                text = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" + text
            try:
                program = self._build_checked(key, text, list(options))
            except ProgramError as exc:
                self._broken[key] = str(exc)  # not rebuilt on every call
                raise
            prog = self._programs[key] = _Kernels(program)
        return prog

    def _build_checked(self, key: Any, text: str, options: list) -> Any:
        wanted = set(KERNEL_NAME_RE.findall(text))
        program = _build(self.context, text, options, cache_dir())
        missing = wanted - program_kernel_names(program)
        if not missing:
            return program
        del program  # a program without its kernels must not outlive the rebuild (PoCL aborts at exit otherwise)
        # PoCL keys its cache on source and options, so an extra define that changes nothing reaches a fresh build.
        program = _build(self.context, text, options + [f"-DTFX_REBUILD={os.getpid()}"], False)
        still = wanted - program_kernel_names(program)
        if still:
            raise ProgramError(
                f"OpenCL program {key!r} on {self.name} ({self.cl_device.name.strip()}) lacks kernels "
                f"{sorted(still)} even when rebuilt without the driver's cache; the driver's compiler cannot "
                f"build it (clCreateKernel would fail with INVALID_KERNEL_NAME)")
        return program

    def launch(self, kernel: Any, global_size: tuple, local_size: tuple | None, *args: Any) -> None:
        """Enqueue ``kernel``; arguments are buffers and numpy scalars of the parameters' C types.

        The first launch of a kernel declares its scalar types from the arguments given: pyopencl's untyped
        argument path costs about 60 us a launch, the typed one a few.
        """
        import pyopencl as cl

        with self.launch_lock:
            if kernel not in self._typed:
                kernel.set_scalar_arg_dtypes(
                    [None if isinstance(a, cl.MemoryObjectHolder) else np.dtype(type(a)) for a in args])
                self._typed.add(kernel)
            kernel.set_args(*args)
            cl.enqueue_nd_range_kernel(self.queue, kernel, global_size, local_size)

    # -- memory -----------------------------------------------------------------------------------
    def empty(self, shape: tuple, dtype: Any) -> DeviceArray:
        """An uninitialized array from the pool."""
        dtype = np.dtype(dtype)
        shape = tuple(int(d) for d in shape)
        nbytes = math.prod(shape) * dtype.itemsize
        return DeviceArray(self, shape, dtype, self.pool.alloc(nbytes))

    def upload(self, array: np.ndarray) -> Block:
        import pyopencl as cl

        block = self.pool.alloc(array.nbytes)
        if array.nbytes:
            with self.launch_lock:
                cl.enqueue_copy(self.queue, block.buf, np.ascontiguousarray(array), is_blocking=True)
        return block

    def from_host(self, array: Any) -> DeviceArray:
        arr = np.asarray(array)
        if arr.dtype == object:
            raise TypeError(f"string tensors cannot be placed on {self.name}; keep them on the cpu")
        host = None
        if arr.size <= HOST_COPY_LIMIT:
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
            import pyopencl as cl

            with self.launch_lock:
                cl.enqueue_copy(self.queue, out, value.block.buf, is_blocking=True)
        return out

    def unavailable(self, op_type: str, attrs: dict) -> str:
        """Why ``op_type`` cannot run here: its program does not build (ops on the packed gemm are checked
        when placed, so a broken gemm sends them to the cpu before a step starts), or a kernel found so."""
        why = super().unavailable(op_type, attrs)
        if why or op_type not in GEMM_OPS:
            return why
        dtype = getattr(attrs.get("T"), "np_dtype", None)
        from .kernels.matmul import gemm_problem

        return gemm_problem(self, dtype) if dtype is not None else ""

    def health_check(self) -> str:
        """Build and run a small kernel set on this device in a child process: '' if it works, else why not."""
        from . import probe

        return probe.health(self)

    def describe(self) -> dict:
        d = self.cl_device
        return {"platform": self.platform.name.strip(), "name": d.name.strip(),
                "memory": f"{d.global_mem_size / 2**30:.1f} GiB", "compute units": d.max_compute_units,
                "version": d.version.strip()}


KERNEL_NAME_RE = re.compile(r"__kernel\s+void\s+(\w+)")


class ProgramError(KernelUnavailable):
    """An OpenCL program could not be built with all its kernels on a device; the message says which and why.

    As a ``KernelUnavailable``, it makes the session place the op elsewhere from its next run on.
    """


def _build(context: Any, text: str, options: list, cache: Any) -> Any:
    import pyopencl as cl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyopencl's "non-empty compiler output" notes
        return cl.Program(context, text).build(options=options, cache_dir=cache)


def program_kernel_names(program: Any) -> set[str]:
    """The names of the kernels a built program holds, as the driver reports them.

    Example:
        >>> program_kernel_names.__name__
        'program_kernel_names'
    """
    import pyopencl as cl

    try:
        names = program.get_info(cl.program_info.KERNEL_NAMES)
    except cl.Error:
        return set()
    return {n for n in names.split(";") if n}


class _Kernels:
    """A built program's kernels by attribute, each ``cl.Kernel`` created once."""

    def __init__(self, program: Any) -> None:
        self._program = program

    def __getattr__(self, name: str) -> Any:
        import pyopencl as cl

        kernel = cl.Kernel(self._program, name)
        setattr(self, name, kernel)
        return kernel


@functools.lru_cache(maxsize=1)
def enumerate_devices() -> tuple[list[OpenCLDevice], str]:
    """An :class:`OpenCLDevice` per OpenCL device found, and why there are none ('' if some).

    Example:
        >>> devices, why = enumerate_devices()
        >>> all(d.name.startswith("/opencl:") for d in devices)
        True
    """
    found, why = find_cl_devices()
    return [OpenCLDevice(i, p, d) for i, (p, d) in enumerate(found)], why
