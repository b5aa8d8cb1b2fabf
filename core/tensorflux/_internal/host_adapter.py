"""The host adapter: a numpy kernel made into a device kernel by copying its inputs to the host and its results back.

For ops a device does not want to write (summaries, MPI collectives, anything rare), for ops that are host work
by nature, and for placement: an op that must run where its variable lives, on a device without a kernel for
it, runs a host-memory device's kernel through this adapter. The copies cost what ``Device.to_host`` and
``Device.from_host`` cost, so a device overrides the adapted kernels it runs often.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from .registry import attr_parameters, kernel_parameters


class HostSlot:
    """A device variable's slot as a host kernel sees it: ``read`` copies the value to the host, ``assign`` back.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import Device
        >>> class Stored:
        ...     value, device = np.zeros(2), Device(0)
        ...     def read(self): return self.value
        ...     def assign(self, value, validate_shape=True): self.value = value; return value
        >>> HostSlot(Stored()).assign(np.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __getattr__(self, name: str) -> Any:  # name, dtype, shape, lock, device: the slot's own
        return getattr(self._slot, name)

    @property
    def value(self) -> Any:
        """A host copy of the value (None before the variable is initialized): host kernels may compare it or
        write into it, never into the device's memory."""
        value = self._slot.value
        return None if value is None else self._slot.device.to_host(value)

    def read(self) -> np.ndarray:
        return self._slot.device.to_host(self._slot.read())

    def assign(self, value: Any, validate_shape: bool = True) -> np.ndarray:
        value = np.asarray(value)
        self._slot.assign(self._slot.device.from_host(value), validate_shape)
        return value


def _is_slot(value: Any) -> bool:
    return hasattr(value, "assign") and hasattr(value, "read")


def _to_device(device: Any, result: Any) -> Any:
    if isinstance(result, (tuple, list)):
        return tuple(_to_device(device, r) for r in result)
    if isinstance(result, (np.ndarray, np.generic)):
        return device.from_host(np.asarray(result))
    return result  # already a device value (a host kernel may return what a slot holds)


def host_kernel(fn: Callable) -> Callable:
    """Make the host (numpy) kernel ``fn`` a kernel for any device: inputs go to the host, results come back.

    ``fn`` follows the kernel convention (inputs positional, attributes keyword-only, optional ``ctx``);
    so does the returned kernel, which always takes ``ctx`` to find its device. Variable (ref) inputs
    reach ``fn`` as a :class:`HostSlot`, whose ``read`` and ``assign`` copy.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import host_kernel
        >>> def cumsum(x, *, axis):
        ...     return np.cumsum(x, axis=axis)
        >>> kernel = host_kernel(cumsum)
        >>> sorted(inspect.signature(kernel).parameters)
        ['axis', 'ctx', 'inputs']

        A plugin registers it as any kernel: ``registrar.kernel("Cumsum", "mydev", host_kernel(cumsum))``.
    """
    params = kernel_parameters(fn)
    attrs = attr_parameters(params)
    wants_ctx = "ctx" in params

    @functools.wraps(fn)
    def kernel(*inputs: Any, ctx: Any, **attr_values: Any) -> Any:
        device = ctx.device
        args = [HostSlot(x) if _is_slot(x) else device.to_host(x) for x in inputs]
        if wants_ctx:
            attr_values["ctx"] = ctx
        return _to_device(device, fn(*args, **attr_values))

    # The registry reads a kernel's attributes and ``ctx`` from its signature: ``fn``'s attributes, plus ctx.
    kernel.__signature__ = inspect.Signature(
        [inspect.Parameter("inputs", inspect.Parameter.VAR_POSITIONAL)] + attrs
        + [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY)])
    del kernel.__wrapped__  # so that inspect reads the signature above, not ``fn``'s
    return kernel
