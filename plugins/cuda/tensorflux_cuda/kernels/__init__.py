"""Every kernel of the cuda device: core's reference kernels over the backend's namespace, then the fast ones.

Registration, in priority order for each op (a higher priority wins where its dtypes apply):

- priority 0, float dtypes: the kernels of this package (``conv``, ``math``, ``nn``, ``training``), and, for
  every dtype, Const, Shape, Size and Rank (``array``), which keep shapes on the host;
- priority -1: core's reference kernels over the same namespace, for every op and every dtype it holds.

Every kernel but the host-side ones (summaries, MPI, py_func, datasets, control flow, which copy for
themselves) is called through ``dispatch.device_kernel``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tensorflux.extend import (
    ALL_DTYPES,
    host_work_ops,
    reference_kernels,
    register_reference_kernels,
)

from ..backend import ArrayBackend
from ..dispatch import device_kernel
from . import array, conv, math, nn, training
from .common import float_dtypes


# Ops whose reference kernels are host kernels that copy their inputs themselves.
def fast_kernels(backend: ArrayBackend) -> dict[str, Callable]:
    """``{op: kernel}`` of this package's float kernels (before dispatch wrapping).

    Example:
        >>> import numpy as np
        >>> "Conv2D" in fast_kernels(ArrayBackend(np))
        True
    """
    return {**math.kernels(backend), **conv.kernels(backend), **nn.kernels(backend), **training.kernels(backend)}


class _Wrapping:
    """A registrar that hands on every kernel registered through it wrapped by ``wrap(op, fn)``."""

    def __init__(self, registrar: Any, wrap: Callable[[str, Callable], Callable]) -> None:
        self._registrar, self._wrap = registrar, wrap

    def kernel(self, op: str, device_type: str, fn: Callable, **kwargs: Any) -> None:
        self._registrar.kernel(op, device_type, self._wrap(op, fn), **kwargs)


def register(registrar: Any, device_type: str, backend: ArrayBackend) -> None:
    """Register every kernel for ``device_type`` computing with ``backend``.

    Example (the plugin's kernel hook)::

        register(registrar, "cuda", CupyBackend())
    """
    xp = backend.xp
    on_host = reference_kernels(np)
    host_work = host_work_ops()

    def wrap(op: str, fn: Callable) -> Callable:
        return fn if op in host_work else device_kernel(op, fn, backend, on_host.get(op))

    register_reference_kernels(_Wrapping(registrar, wrap), device_type, xp)
    floats = float_dtypes(xp)
    for op, fn in fast_kernels(backend).items():
        registrar.kernel(op, device_type, wrap(op, fn), dtypes=floats)
    held = [d for d in ALL_DTYPES if d.name != "string" and hasattr(xp, d.name)]
    for op, fn in array.kernels().items():
        registrar.kernel(op, device_type, fn, dtypes=held, type_attr="dtype" if op == "Const" else "T")
