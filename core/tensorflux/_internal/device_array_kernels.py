"""Kernels every device whose values are :class:`~tensorflux.extend.DeviceArray` objects shares unchanged.

They read only shapes, dtypes and host copies, and never launch device code: constants and metadata ops
(Shape, Size, Rank) give values that stay on the host until a kernel needs them, so shape arithmetic runs in
numpy; Reshape, ExpandDims and Squeeze are views of the same block; Range and Where compute on the host.
A device registers them with its own dtypes (see :func:`device_array_kernels`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .device_memory import DeviceArray, host_array, host_value, on_host
from .strided_layout import resolve_reshape


def const(*, value: Any, ctx: Any) -> DeviceArray:
    return host_array(ctx.device, np.asarray(value))


def identity(x: DeviceArray) -> DeviceArray:
    return x


def shape(x: DeviceArray, *, out_type: Any, ctx: Any) -> DeviceArray:
    return host_array(ctx.device, x.shape, out_type.np_dtype)


def size(x: DeviceArray, *, out_type: Any, ctx: Any) -> DeviceArray:
    return host_array(ctx.device, x.size, out_type.np_dtype)


def rank(x: DeviceArray, *, ctx: Any) -> DeviceArray:
    return host_array(ctx.device, len(x.shape), np.int32)


def reshape(x: DeviceArray, shape: DeviceArray) -> DeviceArray:
    return x.view(resolve_reshape(np.reshape(host_value(shape), -1), x.shape))


def expand_dims(x: DeviceArray, dim: DeviceArray) -> DeviceArray:
    d = int(np.reshape(host_value(dim), -1)[0])
    if not -x.ndim - 1 <= d <= x.ndim:
        raise ValueError(f"ExpandDims: dim {d} is out of range for a tensor of rank {x.ndim}")
    d = d % (x.ndim + 1)
    return x.view(x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x: DeviceArray, *, squeeze_dims: list) -> DeviceArray:
    axes = {a % x.ndim for a in squeeze_dims} if squeeze_dims else {i for i, d in enumerate(x.shape) if d == 1}
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"Squeeze: dimension {a} of shape {list(x.shape)} is {x.shape[a]}, not 1")
    return x.view(tuple(d for i, d in enumerate(x.shape) if i not in axes))


def _result(device: Any, value: np.ndarray, *inputs: DeviceArray) -> DeviceArray:
    """A host-computed result: kept on the host when its inputs were, else copied to the device."""
    return host_array(device, value) if on_host(*inputs) else device.from_host(value)


def range_(start: DeviceArray, limit: DeviceArray, delta: DeviceArray, *, ctx: Any) -> DeviceArray:
    s, lim, d = (host_value(v) for v in (start, limit, delta))
    if d == 0:
        raise ValueError("range: delta must not be zero")
    return _result(ctx.device, np.arange(s, lim, d, dtype=np.asarray(s).dtype), start, limit, delta)


def where(x: DeviceArray, *, ctx: Any) -> DeviceArray:
    """Where needs its output size on the host: one download (none for a host value), numpy, one upload."""
    return _result(ctx.device, np.argwhere(host_value(x)).astype(np.int64), x)


def is_initialized(ref: Any, *, ctx: Any) -> DeviceArray:
    return host_array(ctx.device, np.array(ref.value is not None))


def device_array_kernels() -> dict[str, Callable]:
    """``{op_name: kernel}`` for the ops a DeviceArray device runs without device code.

    Const is typed by its ``dtype`` attribute, Range by ``Tidx`` (register it for the dtypes the device
    computes in); the others move any dtype the device holds.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import device_array_kernels, host_array
        >>> kernels = device_array_kernels()
        >>> x = host_array(None, np.zeros((2, 3)))
        >>> kernels["Reshape"](x, host_array(None, [3, -1])).shape
        (3, 2)

        In a plugin: ``registrar.kernel("Reshape", "mydev", kernels["Reshape"], dtypes=movable)``.
    """
    return {
        "Const": const, "Identity": identity, "StopGradient": identity, "PlaceholderWithDefault": identity,
        "Shape": shape, "Size": size, "Rank": rank, "Reshape": reshape, "ExpandDims": expand_dims,
        "Squeeze": squeeze, "Range": range_, "Where": where, "IsVariableInitialized": is_initialized,
    }
