"""The array kernels that decide where a value lives: small integer constants and shapes stay on the host.

Their results feed shape arithmetic (see ``dispatch.py``), which then never waits for the GPU. They are
registered as they are, not through the dispatcher: they touch no device data.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..dispatch import HOST_MAX_ELEMENTS


def _host(value: np.ndarray) -> np.ndarray:
    value = value.view()
    value.setflags(write=False)  # the graph's own array: kernels read it, nobody writes it
    return value


def const(*, value, ctx):
    """Const: integer and bool constants up to HOST_MAX_ELEMENTS stay on the host, others go to the device.

    Example:
        >>> import numpy as np
        >>> const(value=np.array([2, 3], np.int32), ctx=None).tolist()
        [2, 3]
    """
    value = np.asarray(value)
    if value.dtype.kind in "iub" and value.size <= HOST_MAX_ELEMENTS:
        return _host(value)
    return ctx.device.from_host(value)


def shape(x, *, out_type):
    """Shape, as a host array (it reads only the array's metadata).

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import ALL_DTYPES
        >>> int32 = next(d for d in ALL_DTYPES if d.name == "int32")
        >>> shape(np.zeros((2, 5)), out_type=int32).tolist()
        [2, 5]
    """
    return np.array(tuple(x.shape), dtype=out_type.np_dtype)


def size(x, *, out_type):
    """Size, as a host scalar.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import ALL_DTYPES
        >>> size(np.zeros((2, 5)), out_type=next(d for d in ALL_DTYPES if d.name == "int64")).tolist()
        10
    """
    count = 1
    for d in x.shape:
        count *= d
    return np.array(count, dtype=out_type.np_dtype)


def rank(x):
    """Rank, as a host int32 scalar.

    Example:
        >>> import numpy as np
        >>> rank(np.zeros((2, 5))).tolist()
        2
    """
    return np.array(len(x.shape), dtype=np.int32)


def kernels() -> dict[str, Callable]:
    """``{op: kernel}`` for Const, Shape, Size and Rank.

    Example:
        >>> sorted(kernels())
        ['Const', 'Rank', 'Shape', 'Size']
    """
    return {"Const": const, "Shape": shape, "Size": size, "Rank": rank}
