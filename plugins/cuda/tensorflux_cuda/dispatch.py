"""How each cuda kernel is called: shape arithmetic stays on the host, everything else runs on the GPU's stream.

Reading a device value on the host (a reshape's target shape, a reduction's axes) waits for the GPU to finish
all the work queued before it, so a step that reads a few shapes keeps stopping the GPU. TF marks such inputs
``HostMemory`` in its GPU kernels; this module does the same:

- Small integer and bool constants, and the results of Shape, Size and Rank, are numpy arrays kept on the host.
- An input position listed in :data:`HOST_INPUTS` (an axis, a shape, a paddings table) takes a host value as
  it is; at any other position a host value is copied to the device first.
- An op in :data:`HOST_OPS` whose every array input is on the host (``shape[0] * shape[1]``, ``concat`` of two
  shapes) runs on the host with numpy's reference kernel; results larger than :data:`HOST_MAX_ELEMENTS` are
  copied to the device.
- Everything else runs inside ``backend.running_on(index)``: the CUDA device of its inputs, and its stream.

Example:
    >>> import numpy as np
    >>> from tensorflux_cuda.backend import ArrayBackend
    >>> kernel = device_kernel("AddV2", np.add, ArrayBackend(np))
    >>> kernel(np.ones(2), np.ones(2)).tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from .backend import ArrayBackend

# Results of host-side shape arithmetic larger than this go to the device.
HOST_MAX_ELEMENTS = 4096

# Inputs each op reads only on the host (TF's HostMemory inputs of its GPU kernels); negative: from the end.
HOST_INPUTS: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(("All", "Any", "Max", "Min", "Mean", "Sum", "Prod", "ArgMax", "ArgMin", "ExpandDims", "Reshape",
                     "Tile", "Transpose", "TopKV2", "MirrorPad", "Pad", "PadV2", "OneHot", "Conv2DBackpropFilter"), (1,)),
    **dict.fromkeys(("AvgPoolGrad", "Conv2DBackpropInput", "Fill", "Split", "RandomStandardNormal", "RandomUniform",
                     "TruncatedNormal"), (0,)),
    "ConcatV2": (-1,), "GatherV2": (2,), "Slice": (1, 2), "SplitV": (1, 2), "StridedSlice": (1, 2, 3),
    "UnsortedSegmentSum": (2,), "InTopKV2": (2,), "RandomUniformInt": (0,),
}

# Ops that run on the host when all their array inputs are host values: shape arithmetic.
HOST_OPS = frozenset({
    "Identity", "StopGradient", "Reshape", "ExpandDims", "Squeeze", "Pack", "Unpack", "ConcatV2", "Slice",
    "StridedSlice", "GatherV2", "Cast", "Fill", "Range", "Tile", "Transpose", "AddV2", "Sub", "Mul", "FloorDiv",
    "FloorMod", "Maximum", "Minimum", "Neg", "Abs", "Sign", "Prod", "Sum", "Max", "Min", "Equal", "NotEqual", "Less",
    "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot", "SelectV2", "ZerosLike",
    "OnesLike", "AddN", "Size", "Rank", "Shape", "Where", "Any", "All",
})


def is_host(value: Any, backend: ArrayBackend) -> bool:
    """Whether ``value`` is a numpy array kept on the host (not one of ``backend``'s device arrays).

    Example:
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> is_host(np.ones(1), ArrayBackend(np))  # over numpy, every array is a device array
        False
    """
    return isinstance(value, (np.ndarray, np.generic)) and not backend.is_device_array(value)


def _parameters(fn: Callable) -> set[str] | None:
    """The keyword parameters ``fn`` takes, or None when it takes any (``**kwargs``) or cannot say."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def _small(result: Any) -> bool:
    values = result if isinstance(result, (tuple, list)) else (result,)
    return all(isinstance(v, np.ndarray) and v.size <= HOST_MAX_ELEMENTS for v in values)


def device_kernel(op: str, fn: Callable, backend: ArrayBackend, host_fn: Callable | None = None) -> Callable:
    """``fn`` as the cuda kernel of ``op``: host values copied in where ``op`` cannot take them, run on the GPU of its
    inputs; ``host_fn`` (numpy's kernel) runs instead when ``op`` is shape arithmetic on host values only.

    The kernel has ``fn``'s signature, so the registry reads the same attributes and ``ctx`` from it.

    Example:
        >>> import array_api_strict as xp
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> mul = device_kernel("Mul", xp.multiply, ArrayBackend(xp), np.multiply)
        >>> type(mul(np.array([2, 3]), np.array(4))).__name__  # shape arithmetic: stays on the host
        'ndarray'
    """
    keep = HOST_INPUTS.get(op, ())
    on_host = host_fn if op in HOST_OPS else None
    host_params = _parameters(on_host) if on_host is not None else None

    def kernel(*args: Any, **kwargs: Any) -> Any:
        count = len(args)
        hosts = [i for i, a in enumerate(args) if is_host(a, backend)]
        if on_host is not None and count and len(hosts) == count:
            given = kwargs if host_params is None else {k: v for k, v in kwargs.items() if k in host_params}
            result = on_host(*args, **given)
            # numpy gives scalars for 0-d results; a value on the host is an array all the same
            result = type(result)(np.asarray(r) for r in result) if isinstance(result, (tuple, list)) else np.asarray(result)
            if _small(result):
                return result
            index = _index(args, kwargs, backend)
            if isinstance(result, (tuple, list)):
                return type(result)(backend.upload(r, index) for r in result)
            return backend.upload(result, index)
        index = _index(args, kwargs, backend)
        if hosts:
            kept = {p % count for p in keep} if count else set()
            args = tuple(backend.upload(a, index) if i in hosts and i not in kept else a for i, a in enumerate(args))
        with backend.running_on(index):
            return fn(*args, **kwargs)

    try:
        kernel.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    kernel.__name__ = getattr(fn, "__name__", op)
    kernel.__qualname__ = getattr(fn, "__qualname__", op)
    kernel.__module__ = getattr(fn, "__module__", __name__)
    kernel.__doc__ = getattr(fn, "__doc__", None)
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    kernel.cuda_dispatch = True  # type: ignore[attr-defined] - what tests and tools look for
    return kernel


def _index(args: tuple, kwargs: dict, backend: ArrayBackend) -> int:
    """The GPU an op runs on: its context's device, else that of its first device input, else 0."""
    ctx = kwargs.get("ctx")
    if ctx is not None:
        return ctx.device.index
    for a in args:
        if not isinstance(a, np.ndarray) and hasattr(a, "shape") and backend.is_device_array(a):
            return backend.device_index(a)
        device = getattr(a, "device", None)
        if getattr(device, "device_type", None) is not None:  # a variable's slot
            return device.index
    return 0
