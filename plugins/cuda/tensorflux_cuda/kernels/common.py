"""What the cuda kernel families share: reading small values on the host, compute dtypes, in-place writes.

Kernels take the backend's array namespace ``xp`` (``array_api_compat.cupy`` on a GPU; numpy or
``array_api_strict`` in the tests) and use the array API standard, so the same code runs on all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOATS = ("float16", "float32", "float64")


def host_ints(value: Any) -> list[int]:
    """The elements of a small integer array as Python ints: a host (numpy) array directly, a device array read
    element by element (each read waits for the device, which is why shapes are kept on the host).

    Example:
        >>> import numpy as np
        >>> host_ints(np.array([[2, -1]], np.int32))
        [2, -1]
    """
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    if isinstance(value, np.ndarray):
        return [int(v) for v in value.reshape(-1).tolist()]
    size = 1
    for d in value.shape:
        size *= d
    if len(value.shape) == 1:
        flat = value
    else:  # cupy's arrays have no __array_namespace__; array_api_compat knows theirs
        from array_api_compat import array_namespace

        flat = array_namespace(value).reshape(value, (size,))
    return [int(flat[i]) for i in range(size)]


def float_dtypes(xp: Any) -> list[str]:
    """The floating dtypes the namespace ``xp`` has, by name.

    Example:
        >>> import numpy as np
        >>> float_dtypes(np)
        ['float16', 'float32', 'float64']
    """
    return [name for name in FLOATS if hasattr(xp, name)]


def computed(xp: Any, x: Any) -> Any:
    """``x`` in the dtype kernels compute in: float32 for float16 (as TF's kernels), else unchanged.

    Example:
        >>> import numpy as np
        >>> computed(np, np.ones(2, np.float16)).dtype
        dtype('float32')
    """
    half = getattr(xp, "float16", None)
    return xp.astype(x, xp.float32) if half is not None and x.dtype == half else x


def like(xp: Any, out: Any, ref: Any) -> Any:
    """``out`` in ``ref``'s dtype.

    Example:
        >>> import numpy as np
        >>> like(np, np.ones(2), np.ones(1, np.float16)).dtype
        dtype('float16')
    """
    return out if out.dtype == ref.dtype else xp.astype(out, ref.dtype)


def has_views(xp: Any) -> bool:
    """Whether basic slicing of ``xp``'s arrays gives views that write through (numpy, cupy and their
    ``array_api_compat`` namespaces do; the standard does not promise it).

    Example:
        >>> import numpy as np
        >>> has_views(np)
        True
    """
    name = getattr(xp, "__name__", "")
    return name in ("numpy", "cupy") or name.endswith((".numpy", ".cupy"))


def add_into(xp: Any, target: Any, index: tuple, value: Any) -> None:
    """``target[index] += value``, in place through a view where ``xp`` has them (one kernel instead of two).

    Example:
        >>> import numpy as np
        >>> t = np.zeros(4)
        >>> add_into(np, t, (slice(0, 4, 2),), np.ones(2))
        >>> t.tolist()
        [1.0, 0.0, 1.0, 0.0]
    """
    if has_views(xp):
        view = target[index]
        view += value
    else:
        target[index] = target[index] + value


def dtype_name(dtype: Any) -> str:
    """A dtype's plain name (``float32``) whichever library's dtype object it is.

    Example:
        >>> import numpy as np
        >>> dtype_name(np.dtype("float32"))
        'float32'
    """
    return str(getattr(dtype, "name", None) or dtype).rsplit(".", 1)[-1]
