"""Helpers every kernel family shares: launching, and the OpenCL C of strided kernels over broadcasting plans.

The plans themselves (``broadcast_plan``, ``collapse``), host reads of small values (``host_value``,
``on_host``, ``host_array``) and the array handle come from tensorflux.extend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import OpenCLDevice

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
