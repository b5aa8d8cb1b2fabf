"""What the nn and convolution reference kernels share: kernel binding, compute dtypes and the NHWC layout.

Everything takes the array namespace ``xp`` as its first argument and uses only the array API standard (2023.12).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np


def bind(xp: Any, fn: Callable) -> Callable:
    """``fn(xp, *inputs, **attrs)`` as a kernel of the inputs and attrs alone, the convention of ``Registrar.kernel``.

    The kernel's signature is ``fn``'s without ``xp`` (the registry reads attrs from its keyword-only
    parameters). Numpy-based namespaces run it with floating-point warnings off: inf and nan are
    results here, as in TF.

    Example:
        >>> import numpy as np
        >>> def scale(xp, x, *, by): return x * by
        >>> kernel = bind(np, scale)
        >>> str(inspect.signature(kernel)), kernel(np.ones(2), by=3).tolist()
        ('(x, *, by)', [3.0, 3.0])
    """

    def kernel(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(xp, *args, **kwargs)

    params = list(inspect.signature(fn).parameters.values())[1:]
    kernel.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    kernel.__name__, kernel.__qualname__, kernel.__module__ = fn.__name__, fn.__qualname__, fn.__module__
    kernel.__doc__ = fn.__doc__
    return kernel


def is_integral(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is an integer dtype; False for dtypes the namespace does not know (numpy's bfloat16).

    Example:
        >>> import numpy as np
        >>> is_integral(np, np.dtype("int8")), is_integral(np, np.dtype("float16"))
        (True, False)
    """
    try:
        return bool(xp.isdtype(dtype, "integral"))
    except (TypeError, ValueError):
        return False


def computed(xp: Any, x: Any) -> Any:
    """``x`` in the dtype it is computed in: float32 for floats narrower than float32 (float16, bfloat16), as TF's
    CPU kernels; other dtypes unchanged.

    Example:
        >>> import numpy as np
        >>> computed(np, np.ones(2, np.float16)).dtype, computed(np, np.ones(2, np.int8)).dtype
        (dtype('float32'), dtype('int8'))
    """
    dtype = x.dtype
    if dtype == xp.float32 or dtype == xp.float64 or dtype == xp.bool or is_integral(xp, dtype):
        return x
    return xp.astype(x, xp.float32)


def cast_like(xp: Any, out: Any, like: Any) -> Any:
    """``out`` in ``like``'s dtype (rounded once, after computing in a wider one).

    Example:
        >>> import numpy as np
        >>> cast_like(np, np.ones(2), np.ones(1, np.float16)).dtype
        dtype('float16')
    """
    return out if out.dtype == like.dtype else xp.astype(out, like.dtype)


def nhwc(xp: Any, x: Any, data_format: str) -> Any:
    """A 4-D ``x`` in ``data_format`` as NHWC.

    Example:
        >>> import numpy as np
        >>> nhwc(np, np.zeros((2, 3, 4, 5)), "NCHW").shape
        (2, 4, 5, 3)
    """
    return xp.permute_dims(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def from_nhwc(xp: Any, x: Any, data_format: str) -> Any:
    """An NHWC ``x`` back in ``data_format``.

    Example:
        >>> import numpy as np
        >>> from_nhwc(np, np.zeros((2, 4, 5, 3)), "NCHW").shape
        (2, 3, 4, 5)
    """
    return xp.permute_dims(x, (0, 3, 1, 2)) if data_format == "NCHW" else x
