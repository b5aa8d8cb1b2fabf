"""The host adapter: a numpy kernel made into a device kernel by copying its inputs to the host and its results back.

For ops a device does not want to write (summaries, MPI collectives, anything rare), and for ops that are
host work by nature. The copies cost what ``Device.to_host`` and ``Device.from_host`` cost, so a device
overrides the adapted kernels it runs often.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from ..distribute import comm
from ..summary.encode import histogram_summary, image_summary, merge_summary, scalar_summary, tensor_summary


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

    def __getattr__(self, name: str) -> Any:  # name, dtype, shape, lock, value: the slot's own
        return getattr(self._slot, name)

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


def _attr_parameters(fn: Callable) -> list[inspect.Parameter]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a numpy ufunc or builtin: inputs only
        return []
    return [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("ctx", "donated")]


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
    attrs = _attr_parameters(fn)
    try:
        wants_ctx = "ctx" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        wants_ctx = False

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


def _image(tag: Any, tensor: Any, *, max_images: int, bad_color: Any) -> np.ndarray:
    return image_summary(tag, tensor, max_images, bad_color)


def _tensor(tag: Any, value: Any, serialized_summary_metadata: Any, *, T: Any) -> np.ndarray:  # noqa: N803 - TF's attr name
    return tensor_summary(tag, value, serialized_summary_metadata, T)


def _allreduce(*tensors: Any, average: bool) -> tuple:
    return tuple(comm.allreduce_arrays(list(tensors), average=average))


def _broadcast(*tensors: Any, root_rank: int) -> tuple:
    return tuple(comm.broadcast_arrays(list(tensors), root=root_rank))


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the ops that are host work by nature (summaries, MPI), through the host adapter.

    Example:
        >>> import numpy as np
        >>> sorted(kernels(np))[:2]
        ['HistogramSummary', 'ImageSummary']
    """
    host = {
        "ScalarSummary": scalar_summary, "HistogramSummary": histogram_summary, "ImageSummary": _image,
        "TensorSummaryV2": _tensor, "MergeSummary": merge_summary, "MpiAllreduce": _allreduce,
        "MpiBroadcast": _broadcast,
    }
    return {op: host_kernel(fn) for op, fn in host.items()}
