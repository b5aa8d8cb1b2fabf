"""The cuda device: one per GPU, values in device memory, copies only where a value crosses a boundary.

The device itself is thin: its arrays and where kernels run come from a backend (``backend.py``), cupy on a
GPU and an array-API namespace in the tests, so everything here runs in ``make test`` too.

Memory: device arrays come from cupy's memory pool (``cupy.get_default_memory_pool()``), which keeps freed
blocks for reuse instead of returning them to the driver. Variables stay in device memory between runs
(core keeps each in its session's ``VariableSlot``; the update kernels write device arrays back into it).
The executor copies a value only where it crosses between devices, at feeds and at fetches: ``from_host``
(feeds through pinned host buffers) and ``to_host``. Small integer values that only describe shapes (a
reshape's target, a reduction's axes) are kept on the host, see ``dispatch.py``.

Streams: every kernel and copy of one GPU is ordered on that GPU's one stream. Core tells a device nothing
about sessions except through ``KernelContext.state``, and a kernel that asks for ``ctx`` makes its node impure
(no common-subexpression elimination, no fusion); so it is one stream per device, not per session.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from tensorflux.extend import Device

from .backend import ArrayBackend


class CudaDevice(Device):
    """One GPU (``/cuda:N``; TF's ``/gpu:N`` names it too). Placement prefers it over the cpu, as TF does.

    Example:
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> device = CudaDevice(0, ArrayBackend(np))
        >>> device.name, device.host_memory, device.to_host(device.from_host(np.arange(3))).tolist()
        ('/cuda:0', False, [0, 1, 2])
    """

    device_type = "cuda"
    priority = 10
    host_memory = False

    def __init__(self, index: int, backend: ArrayBackend) -> None:
        super().__init__(index)
        self.backend = backend

    def from_host(self, array: np.ndarray) -> Any:
        return self.backend.upload_feed(np.asarray(array), self.index)

    def to_host(self, value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray) or not self.backend.is_device_array(value):
            return np.array(value, copy=True)  # a value kept on the host (shape arithmetic), or a Python scalar
        return self.backend.download(value)

    def describe(self) -> dict:
        return self.backend.describe(self.index)

    def compile_segment(self, segment: Any) -> Callable | None:
        """The run of pure ops ``segment`` with its elementwise chains fused into one program each
        (``fusion.py``), or None when it has none.

        Example:
            >>> import numpy as np
            >>> from tensorflux_cuda.backend import ArrayBackend
            >>> empty = type("Segment", (), {"nodes": [], "outputs": [], "tensors": []})()
            >>> CudaDevice(0, ArrayBackend(np)).compile_segment(empty) is None
            True
        """
        from .fusion import compile_segment

        return compile_segment(self, segment)


@functools.lru_cache(maxsize=1)
def cuda_devices() -> list[CudaDevice]:
    """A :class:`CudaDevice` per GPU cupy sees, sharing one cupy backend; [] without a GPU (cupy not imported).

    Example:
        >>> from tensorflux_cuda.probe import find_gpus
        >>> len(cuda_devices()) == find_gpus()[0]
        True
    """
    from .probe import find_gpus

    count = find_gpus()[0]
    return [CudaDevice(i, cupy_backend()) for i in range(count)] if count > 0 else []


@functools.lru_cache(maxsize=1)
def cupy_backend() -> ArrayBackend:
    """The one cupy backend of this process's GPUs (imports cupy; runs only where there is a GPU).

    Example:
        >>> cupy_backend().name  # doctest: +SKIP
        'cupy'
    """
    from .backend import CupyBackend

    return CupyBackend()
