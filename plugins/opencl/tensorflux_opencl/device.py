"""The OpenCL device: finding devices, the context and queue, buffers and copies, typed launches, program builds.

Values on the device are tensorflux.extend ``DeviceArray`` objects over pooled OpenCL buffers: the SDK's
``BufferDevice`` keeps the pool, the host copies of small values and the copies both ways, built on this
device's ``allocate_buffer``, ``copy_in`` and ``copy_out``; its ``ProgramCache`` builds each program once.
What stays here is OpenCL's own: PoCL's stale program caches, fp64, and pyopencl's typed launches.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import warnings
from typing import Any

import numpy as np

from tensorflux.extend import BufferDevice, KernelUnavailable, ProgramCache

# Ops whose kernels need the packed gemm program (see kernels.matmul.gemm_problem).
GEMM_OPS = frozenset({"MatMul", "Conv2D", "_FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"})

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


class OpenCLDevice(BufferDevice):
    """One OpenCL device. The context and queue are created on first use.

    Example:
        >>> OpenCLDevice.priority < 1
        True
    """

    device_type = "opencl"
    priority = -1  # below cpu: programs run on opencl only when asked (tf.device or TENSORFLUX_DEVICE=opencl)

    def __init__(self, index: int, platform: Any, cl_device: Any) -> None:
        super().__init__(index, max_alloc=int(cl_device.max_mem_alloc_size), capacity=int(cl_device.global_mem_size))
        self.platform = platform
        self.cl_device = cl_device
        self.fp64 = "cl_khr_fp64" in cl_device.extensions
        self._context = None
        self._queue = None
        self.programs = ProgramCache(self._build_program, _kernel, ProgramError)
        self._typed: set = set()  # kernels whose scalar argument types are declared
        self.gemm_widths: dict = {}  # dtype -> (vector width, why wider ones failed), see kernels.matmul.gemm_width
        self._init_lock = threading.Lock()
        self.launch_lock = threading.Lock()

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
        that died while building) is rebuilt past both caches; if that also lacks them, :class:`ProgramError`,
        raised again on every later request without a rebuild.
        """
        return self.programs.get(key, source, options)

    def _build_program(self, key: Any, text: str, options: tuple) -> Any:
        if "double" in text:
            text = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" + text
        wanted = set(KERNEL_NAME_RE.findall(text))
        program = _build(self.context, text, list(options), cache_dir())
        missing = wanted - program_kernel_names(program)
        if not missing:
            return program
        del program  # a program without its kernels must not outlive the rebuild (PoCL aborts at exit otherwise)
        # PoCL keys its cache on source and options, so an extra define that changes nothing reaches a fresh build.
        program = _build(self.context, text, list(options) + [f"-DTFX_REBUILD={os.getpid()}"], False)
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

    # -- memory: the primitives BufferDevice builds on ---------------------------------------------------
    def allocate_buffer(self, nbytes: int) -> Any:
        import pyopencl as cl

        try:
            return cl.Buffer(self.context, cl.mem_flags.READ_WRITE, nbytes)
        except cl.Error as exc:
            raise MemoryError(f"OpenCL device {self.name} failed to allocate {nbytes:,} bytes: {exc}") from None

    def copy_in(self, buffer: Any, host: np.ndarray) -> None:
        import pyopencl as cl

        with self.launch_lock:
            cl.enqueue_copy(self.queue, buffer, host, is_blocking=True)

    def copy_out(self, host: np.ndarray, buffer: Any) -> None:
        import pyopencl as cl

        with self.launch_lock:
            cl.enqueue_copy(self.queue, host, buffer, is_blocking=True)

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


def _kernel(program: Any, name: str) -> Any:
    import pyopencl as cl

    return cl.Kernel(program, name)


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
