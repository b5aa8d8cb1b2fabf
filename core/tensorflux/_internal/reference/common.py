"""What every reference kernel family needs: small values read on the host, dtype lookup, index building.

Everything here takes arrays of any array-API namespace; nothing assumes numpy arrays.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np


def host_ints(value: Any) -> list[int]:
    """The elements of a (small) integer array as Python ints, read one by one (the standard has no tolist).

    Example:
        >>> import numpy as np
        >>> host_ints(np.array([[2, -1]], np.int32))
        [2, -1]
    """
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    size = 1
    for d in value.shape:
        size *= d
    flat = value if len(value.shape) == 1 else array_namespace(value).reshape(value, (size,))
    return [int(flat[i]) for i in range(size)]


def array_namespace(value: Any) -> Any:
    """The array-API namespace of ``value`` (its ``__array_namespace__``), numpy for numpy arrays.

    Example:
        >>> import numpy as np
        >>> array_namespace(np.zeros(2)).__name__
        'numpy'
    """
    get = getattr(value, "__array_namespace__", None)
    return get() if get is not None else np


def host_int(value: Any) -> int:
    """A one-element integer array (any rank) as a Python int.

    Example:
        >>> import numpy as np
        >>> host_int(np.array([3]))
        3
    """
    values = host_ints(value)
    if len(values) != 1:
        raise ValueError(f"expected a single integer, got {len(values)} values")
    return values[0]


def py_scalar(xp: Any, value: Any) -> Any:
    """A 0-d (or one-element) array as the Python scalar of its kind (bool, int or float).

    The standard's creation functions (``full``, ``arange``) take Python scalars, not arrays.

    Example:
        >>> import numpy as np
        >>> py_scalar(np, np.array(2.5, np.float32)), py_scalar(np, np.array([True]))
        (2.5, True)
    """
    if len(value.shape) != 0:
        value = xp.reshape(value, ())
    if xp.isdtype(value.dtype, "bool"):
        return bool(value)
    if xp.isdtype(value.dtype, "integral"):
        return int(value)
    return float(value)


def xp_dtype(xp: Any, dtype: Any) -> Any:
    """The namespace's dtype named like the tensorflux ``dtype`` (a DType or its name).

    Example:
        >>> import numpy as np
        >>> xp_dtype(np, "float32")
        <class 'numpy.float32'>
    """
    name = getattr(dtype, "name", dtype)
    found = getattr(xp, name, None)
    if found is None:
        raise TypeError(f"the array namespace {getattr(xp, '__name__', xp)} has no dtype '{name}'")
    return found


def low_precision_accumulator(xp: Any, dtype: Any) -> Any:
    """The dtype a sum or product of ``dtype`` accumulates in: float32 for float16, else ``dtype`` itself.

    Example:
        >>> import numpy as np
        >>> low_precision_accumulator(np, np.dtype("float16")), low_precision_accumulator(np, np.dtype("int8"))
        (<class 'numpy.float32'>, dtype('int8'))
    """
    half = getattr(xp, "float16", None)
    return xp.float32 if half is not None and dtype == half else dtype


def axis_slice(ndim: int, axis: int, start: int | None, stop: int | None, step: int | None = None) -> tuple:
    """An index tuple selecting ``start:stop:step`` along ``axis`` and everything along the other axes.

    Example:
        >>> axis_slice(3, 1, 0, 2)
        (slice(None, None, None), slice(0, 2, None), slice(None, None, None))
    """
    index = [slice(None)] * ndim
    index[axis] = slice(start, stop, step)
    return tuple(index)


def in_bounds(index: tuple, shape: tuple) -> tuple:
    """``index`` (ints, slices, None, one Ellipsis) with every slice clamped to its axis and an explicit Ellipsis.

    Python clamps out-of-range slice bounds, the array API leaves them unspecified (``array_api_strict``
    rejects them), so TF's strided slices are normalized first; a trailing Ellipsis covers the axes
    the index leaves out, which the standard also asks for.

    Example:
        >>> in_bounds((slice(0, 10, 1),), (3, 2))
        (slice(0, 3, 1), Ellipsis)
        >>> in_bounds((slice(None, None, -1),), (3,))
        (slice(2, None, -1), Ellipsis)
    """
    specified = sum(1 for k in index if k is not None and k is not Ellipsis)
    out: list = []
    axis = 0
    for k in index:
        if k is Ellipsis:
            out.append(k)
            axis += len(shape) - specified
        elif k is None:
            out.append(k)
        elif isinstance(k, slice):
            if axis >= len(shape):
                raise IndexError(f"too many indices for a tensor of rank {len(shape)}")
            start, stop, step = k.indices(shape[axis])
            if len(range(start, stop, step)) == 0:
                out.append(slice(0, 0, 1))
            else:
                out.append(slice(start, None if stop < 0 else stop, step))
            axis += 1
        else:
            out.append(int(k))
            axis += 1
    if Ellipsis not in out:
        out.append(Ellipsis)
    return tuple(out)


def quiet(fn: Callable) -> Callable:
    """``fn`` run with numpy's floating-point warnings off: inf and nan are results here, as in TF.

    Namespaces built on numpy (numpy itself, ``array_api_strict``, ``array_api_compat.numpy``) would
    otherwise warn on overflow or 0/0; other libraries do not warn, so this changes nothing for them.

    Example:
        >>> import numpy as np
        >>> quiet(lambda x: x / 0)(np.array(1.0))
        np.float64(inf)
    """

    @functools.wraps(fn)
    def kernel(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return kernel
