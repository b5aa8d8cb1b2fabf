"""What the cuda device and its kernels need from an array library, in one small interface.

:class:`ArrayBackend` is the whole of it over any array-API namespace: the kernels compute with ``xp``, device
arrays are that namespace's arrays, elementwise programs are evaluated node by node. It has no GPU in it, so
``make test`` runs the plugin's device, dispatch and kernels on it with numpy or ``array_api_strict``.
:class:`CupyBackend` is the same interface on cupy; its methods are the plugin's GPU-only lines (listed in
docs/cuda.md): streams, pinned host buffers, the memory pool, ``ElementwiseKernel`` compilation.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable

import numpy as np

from . import codegen


class ArrayBackend:
    """An array library as the cuda plugin uses it; this base runs on any array-API namespace ``xp``.

    Host values (numpy arrays) and device arrays differ when ``xp``'s arrays are not numpy arrays; over numpy
    itself every array counts as a device array, and nothing is kept on the host.

    Example:
        >>> import numpy as np
        >>> backend = ArrayBackend(np)
        >>> backend.is_device_array(np.ones(2)), backend.name
        (True, 'numpy')
    """

    def __init__(self, xp: Any, name: str | None = None) -> None:
        self.xp = xp
        self.name = name or getattr(xp, "__name__", "array namespace")
        self._numpy_arrays = isinstance(xp.asarray(0), np.ndarray)
        self._programs: dict = {}
        self._lock = threading.Lock()

    # -- values ----------------------------------------------------------------------------------------------
    def is_device_array(self, value: Any) -> bool:
        """Whether ``value`` lives on the device (as opposed to a numpy array kept on the host)."""
        return self._numpy_arrays or not isinstance(value, (np.ndarray, np.generic))

    def device_index(self, value: Any) -> int:
        """The index of the GPU holding the device array ``value``."""
        return 0

    def upload(self, host: np.ndarray, index: int) -> Any:
        """A device copy of the host array ``host`` on GPU ``index``."""
        return self.xp.asarray(np.array(host, copy=True))

    def upload_feed(self, host: np.ndarray, index: int) -> Any:
        """A device copy of a fed array (a large one goes through a pinned host buffer on a GPU)."""
        return self.upload(host, index)

    def download(self, value: Any) -> np.ndarray:
        """A fresh host copy of the device array ``value``."""
        if isinstance(value, (np.ndarray, np.generic)):  # numpy's namespace gives scalars for 0-d results
            return np.array(value, copy=True)
        return np.array(np.from_dlpack(value), copy=True)

    # -- running kernels ---------------------------------------------------------------------------------------
    def running_on(self, index: int) -> Any:
        """A context in which kernels run on GPU ``index`` (its CUDA device and stream). Here: numpy's
        floating-point warnings off, since inf and nan are results (namespaces built on numpy would warn)."""
        return np.errstate(all="ignore")

    def elementwise(self, program: codegen.Program, dtype: str) -> Callable:
        """``program`` compiled for ``dtype``: ``run(arrays, out=None) -> [outputs]``, arrays in ``program.inputs``
        order; ``out`` (arrays to write the outputs into) is a hint that a backend may ignore."""
        key = (id(program), dtype)
        found = self._programs.get(key)
        if found is None:
            with self._lock:
                # the entry holds the program, so its id is not reused while the entry lives; equal programs
                # compile once all the same (cupy caches kernels by their source)
                found = self._programs.setdefault(key, (program, self._compile(program, dtype)))
        return found[1]

    def _compile(self, program: codegen.Program, dtype: str) -> Callable:
        xp, names, outs = self.xp, program.inputs, list(program.outputs)

        def run(arrays: list, out: list | None = None) -> list:
            results = codegen.evaluate(program, xp, dict(zip(names, arrays)))
            return [results[n] for n in outs]

        return run

    def describe(self, index: int) -> dict:
        """Facts about GPU ``index`` for ``python -m tensorflux devices``."""
        return {"platform": self.name, "name": f"{self.name} arrays standing in for a GPU"}


class CupyBackend(ArrayBackend):
    """The backend on cupy: kernels compute with ``array_api_compat.cupy``, one CUDA stream per GPU, feeds through
    pinned host buffers, elementwise programs as ``cupy.ElementwiseKernel``. Runs only where cupy finds a GPU.

    Example:
        >>> CupyBackend().elementwise(program, "float32")([x])  # doctest: +SKIP
    """

    # Feeds at least this large are staged in pinned host memory, whose copies the GPU's DMA engine runs directly.
    PINNED_MIN_BYTES = 1 << 16
    # Staging buffers kept, one per feed size (a training batch, an evaluation batch...); the oldest goes first.
    STAGING_BUFFERS = 16

    def __init__(self) -> None:
        import array_api_compat.cupy as compat_cupy
        import cupy

        super().__init__(compat_cupy, "cupy")
        self.cupy = cupy
        self._streams: dict = {}
        self._staging: dict = {}  # (index, nbytes) -> (pinned buffer, the event its last copy recorded)
        self._staging_lock = threading.Lock()  # two sessions feeding at once must not share a buffer mid-copy

    def is_device_array(self, value: Any) -> bool:
        return isinstance(value, self.cupy.ndarray)

    def device_index(self, value: Any) -> int:
        return value.device.id

    def stream(self, index: int) -> Any:
        """GPU ``index``'s stream, made on first use: every kernel and copy of that device is ordered on it."""
        stream = self._streams.get(index)
        if stream is None:
            with self._lock, self.cupy.cuda.Device(index):
                stream = self._streams.setdefault(index, self.cupy.cuda.Stream(non_blocking=False))
        return stream

    @contextlib.contextmanager
    def running_on(self, index: int) -> Any:
        with self.cupy.cuda.Device(index), self.stream(index):
            yield

    def upload(self, host: np.ndarray, index: int) -> Any:
        with self.running_on(index):
            return self.cupy.asarray(host)

    def upload_feed(self, host: np.ndarray, index: int) -> Any:
        host = np.ascontiguousarray(host)
        if host.nbytes < self.PINNED_MIN_BYTES:
            return self.upload(host, index)
        cupy = self.cupy
        with self._staging_lock, self.running_on(index):
            key = (index, host.nbytes)
            buffer, event = self._staging.get(key, (None, None))
            if buffer is None:
                buffer = cupy.cuda.alloc_pinned_memory(host.nbytes)
            elif event is not None:
                event.synchronize()  # the previous copy out of this buffer has finished: it may be overwritten
            staged = np.frombuffer(buffer, host.dtype, host.size).reshape(host.shape)
            staged[...] = host
            out = cupy.empty(host.shape, host.dtype)
            out.set(staged, stream=self.stream(index))
            event = cupy.cuda.Event(block=False, disable_timing=True)
            event.record(self.stream(index))
            self._staging.pop(key, None)
            self._staging[key] = (buffer, event)  # now the newest
            if len(self._staging) > self.STAGING_BUFFERS:
                oldest = next(iter(self._staging))
                self._staging.pop(oldest)[1].synchronize()  # its copy must land before its memory is reused
            return out

    def download(self, value: Any) -> np.ndarray:
        index = value.device.id
        with self.running_on(index):
            return value.get(stream=self.stream(index))  # synchronous: returns when the copy has landed

    def _compile(self, program: codegen.Program, dtype: str) -> Callable:
        source = codegen.render(program, dtype)
        kernel = self.cupy.ElementwiseKernel(source.in_params, source.out_params, source.operation,
                                             f"tfx_{source.name}", return_tuple=True)

        def run(arrays: list, out: list | None = None) -> list:
            return list(kernel(*arrays, *(out or ())))

        return run

    def describe(self, index: int) -> dict:
        cupy = self.cupy
        props = cupy.cuda.runtime.getDeviceProperties(index)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        pool = cupy.get_default_memory_pool()
        return {"platform": f"CUDA (cupy {cupy.__version__})", "name": name,
                "memory": f"{props['totalGlobalMem'] / 2**30:.1f} GiB",
                "compute capability": f"{props['major']}.{props['minor']}",
                "memory pool": f"{pool.used_bytes() / 2**20:.1f} MiB used, {pool.total_bytes() / 2**20:.1f} MiB held"}
