"""Helpers every kernel family shares: launching, broadcasting plans, host reads of small values."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..device import DeviceArray, OpenCLDevice, host_array

LOCAL = 256  # work-group size of 1-D kernels: fixed, so PoCL compiles each kernel once
MAXD = 6  # dimensions a strided kernel indexes after collapsing
i32 = np.int32


def launch_1d(device: OpenCLDevice, kernel: Any, n: int, *args: Any) -> None:
    """Launch ``kernel`` over ``n`` work-items (rounded up to the work-group size; kernels check ``n``).

    Example:
        >>> launch_1d.__name__
        'launch_1d'
    """
    if n <= 0:
        return
    device.launch(kernel, (-(-n // LOCAL) * LOCAL,), (LOCAL,), *args)


def host_value(x: Any) -> np.ndarray:
    """``x`` as a host numpy array: its host copy when it has one, else a (synchronizing) download.

    Example:
        >>> import numpy as np
        >>> host_value(np.array([1, 2])).tolist()
        [1, 2]
    """
    if isinstance(x, DeviceArray):
        return x.host if x.host is not None else x.device.to_host(x)
    return np.asarray(x)


def on_host(*values: Any) -> bool:
    """True when every value is a device value that was never uploaded (constants, shapes and their results).

    Kernels compute such small values with numpy instead of launching, keeping shape arithmetic off the device.

    Example:
        >>> import numpy as np
        >>> on_host(host_array(None, np.array([1])))
        True
    """
    return all(isinstance(v, DeviceArray) and v.block is None and v.host is not None for v in values)


def result_on_host(device: OpenCLDevice, value: Any, dtype: Any) -> DeviceArray:
    """Wrap a numpy result computed on the host as a (not yet uploaded) device value."""
    return host_array(device, np.asarray(value, dtype=dtype))


def contiguous_strides(shape: tuple) -> list[int]:
    """Element strides of a C-contiguous array of ``shape``.

    Example:
        >>> contiguous_strides((2, 3, 4))
        [12, 4, 1]
    """
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def collapse(dims: list, strides: list[list]) -> tuple[list, list[list]]:
    """Drop size-1 dims and merge neighbours that every operand walks contiguously (or not at all).

    ``strides`` holds one element-stride list per operand, aligned with ``dims``.

    Example:
        >>> collapse([2, 3, 4], [[12, 4, 1], [0, 0, 1]])
        ([6, 4], [[4, 1], [0, 1]])
    """
    keep = [i for i, d in enumerate(dims) if d != 1]
    dims = [dims[i] for i in keep]
    strides = [[s[i] for i in keep] for s in strides]
    out_d: list = []
    out_s: list[list] = [[] for _ in strides]
    for i, d in enumerate(dims):
        if out_d and all(os[-1] == s[i] * d for os, s in zip(out_s, strides)):
            out_d[-1] *= d
            for os, s in zip(out_s, strides):
                os[-1] = s[i]
            continue
        out_d.append(d)
        for os, s in zip(out_s, strides):
            os.append(s[i])
    return out_d, out_s


@functools.lru_cache(maxsize=4096)
def broadcast_plan(out_shape: tuple, in_shapes: tuple) -> tuple:
    """How a strided kernel walks inputs broadcast to ``out_shape``.

    Returns ``("flat", steps)``, each input read at ``i * step`` (step 1: same size, 0: one element), or
    ``("strided", dims, strides)`` with at most ``MAXD`` padded dims and per-input strides.

    Example:
        >>> broadcast_plan((2, 3), ((2, 3), ()))
        ('flat', (1, 0))
        >>> broadcast_plan((2, 3), ((2, 3), (3,)))
        ('strided', (1, 1, 1, 1, 2, 3), ((0, 0, 0, 0, 3, 1), (0, 0, 0, 0, 0, 1)))
    """
    size = int(np.prod(out_shape, dtype=np.int64))
    sizes = [int(np.prod(s, dtype=np.int64)) for s in in_shapes]
    if all(s == size or s == 1 for s in sizes):
        return ("flat", tuple(1 if s == size and size != 1 else 0 for s in sizes))
    nd = len(out_shape)
    aligned = []
    for shape in in_shapes:
        full = (1,) * (nd - len(shape)) + tuple(shape)
        cs = contiguous_strides(full)
        aligned.append([0 if full[i] == 1 else cs[i] for i in range(nd)])
    dims, strides = collapse(list(out_shape), aligned)
    if len(dims) > MAXD:
        raise ValueError(f"broadcasting {list(in_shapes)} to {list(out_shape)} needs {len(dims)} dimensions after "
                         f"merging; opencl kernels index at most {MAXD}")
    pad = MAXD - len(dims)
    return ("strided", tuple([1] * pad + dims), tuple(tuple([0] * pad + s) for s in strides))


VARIANTS = (2, 3, MAXD)  # strided kernels are generated for this many dims (the last ones of the MAXD passed)


def variant(plan_dims: tuple) -> int:
    """The smallest strided-kernel variant that covers a plan's padded ``dims`` (leading 1s are padding).

    Example:
        >>> variant((1, 1, 1, 1, 6, 4))
        2
    """
    used = len(plan_dims) - next((i for i, d in enumerate(plan_dims) if d != 1), len(plan_dims))
    return next(v for v in VARIANTS if v >= used)


def index_code(n_inputs: int, nd: int = MAXD) -> str:
    """OpenCL C that turns the work-item id ``i`` into per-input offsets ``o0..`` over the last ``nd`` dims."""
    lines = ["int r = i;"] + [f"int o{k} = 0;" for k in range(n_inputs)]
    for d in reversed(range(MAXD - nd + 1, MAXD)):
        lines.append(f"{{ int c = r % d{d}; r /= d{d};" + "".join(f" o{k} += c * s{k}_{d};" for k in range(n_inputs))
                     + " }")
    lines.append("".join(f" o{k} += r * s{k}_{MAXD - nd};" for k in range(n_inputs)))
    return " ".join(lines)


def strided_params(n_inputs: int) -> str:
    """The dims and strides parameters of a strided kernel (``index_code``'s inputs)."""
    dims = ", ".join(f"int d{d}" for d in range(MAXD))
    strides = ", ".join(f"int s{k}_{d}" for k in range(n_inputs) for d in range(MAXD))
    return f"{dims}, {strides}"


def strided_args(dims: tuple, strides: tuple) -> list:
    """Kernel arguments matching ``strided_params`` for a plan from ``broadcast_plan``."""
    return [i32(d) for d in dims] + [i32(s) for ss in strides for s in ss]


def supported_dtypes() -> dict:
    """The dtype names kernels claim, by kind: 'f' float, 'i' int, 'b' bool, 'all', and 'movable' (any size).

    float64 is claimed only when every OpenCL device found supports it (``cl_khr_fp64``).

    Example:
        >>> "float32" in supported_dtypes()["f"]
        True
    """
    from tensorflux.extend import ALL_DTYPES

    from ..device import enumerate_devices

    devices, _ = enumerate_devices()
    floats = ["float32"] + (["float64"] if devices and all(d.fp64 for d in devices) else [])
    ints, bools = ["int32", "int64"], ["bool"]
    movable = [d.name for d in ALL_DTYPES if d.name != "string"]
    return {"f": floats, "i": ints, "b": bools, "all": floats + ints + bools, "movable": movable}
