"""Whether a value is what the graph promised: an array of the op's dtype, with a shape that fits its static shape.

The executor checks kernel results with it, and constant folding checks folded values the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def mismatch(value: Any, dtype: np.dtype, dims: tuple | None) -> tuple[str, str] | None:
    """``(what value is, what was promised)`` when ``value`` is not an array of ``dtype`` whose shape fits
    ``dims`` (None: any rank; a None dim: any size), else None.

    Example:
        >>> import numpy as np
        >>> mismatch(np.zeros((7, 7, 7), np.float32), np.dtype("float32"), (2, 3))
        ('shape [7, 7, 7]', 'shape [2, 3]')
        >>> mismatch(np.zeros((5, 3), np.float32), np.dtype("float32"), (None, 3)) is None
        True
    """
    got_dtype, got_shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    if got_dtype is None or got_shape is None:
        return f"a {type(value).__name__}, not an array", f"a {dtype} array"
    if type(got_dtype) is not np.dtype:
        got_dtype = numpy_dtype(got_dtype)
    if got_dtype != dtype:
        return f"dtype {got_dtype}", f"dtype {dtype}"
    got_shape = tuple(got_shape)
    if dims is not None and (len(got_shape) != len(dims)
                             or any(d is not None and d != g for d, g in zip(dims, got_shape))):
        return f"shape {list(got_shape)}", f"shape {_shape_text(dims)}"
    return None


def numpy_dtype(dtype: Any) -> Any:
    """numpy's dtype for another array library's ``dtype``, by name (array_api_strict.float32 is float32).

    Array-API libraries need not use numpy's dtypes, and comparing theirs with numpy's may be false or warn.

    Example:
        >>> numpy_dtype(np.float32), numpy_dtype("int64")
        (dtype('float32'), dtype('int64'))
    """
    try:
        return np.dtype(dtype)
    except TypeError:
        try:
            return np.dtype(str(dtype).rsplit(".", 1)[-1])
        except TypeError:
            return dtype


def _shape_text(dims: tuple) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
