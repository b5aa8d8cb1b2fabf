"""Reference kernels of the special math ops (trigonometric, hyperbolic, erf, lgamma, digamma, zeta...), the float
classifiers, Selu/Softsign and the binary ops Atan2, Xdivy, Xlogy, DivNoNan, TruncateDiv and TruncateMod.

Those the array API has are written over ``xp``; erf, erfc, lgamma, digamma, polygamma and zeta are host
kernels over numpy (``special_functions``), computed in float64 and rounded to the input's dtype.
"""

from __future__ import annotations

from typing import Any, Callable

from ..host_adapter import host_kernel
from . import special_functions as sf

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _host_unary(fn: Callable) -> Callable:
    def kernel(x):
        return fn(x).astype(x.dtype)

    kernel.__name__ = kernel.__qualname__ = fn.__name__ if hasattr(fn, "__name__") else "special"
    return kernel


def _host_binary(fn: Callable) -> Callable:
    def kernel(x, y):
        return fn(x, y).astype(x.dtype)

    kernel.__name__ = kernel.__qualname__ = fn.__name__
    return kernel


def host_kernels() -> dict[str, Callable]:
    """``{op_name: numpy kernel}`` for the special functions the array API lacks (before the host adapter).

    Example:
        >>> import numpy as np
        >>> host_kernels()["Lgamma"](np.array([1.0, 3.0], np.float32)).tolist()
        [0.0, 0.6931471824645996]
    """
    return {"Erf": _host_unary(sf.erf), "Erfc": _host_unary(sf.erfc), "Lgamma": _host_unary(sf.lgamma),
            "Digamma": _host_unary(sf.digamma), "Polygamma": _host_binary(sf.polygamma),
            "Zeta": _host_binary(sf.zeta)}


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the special math ops, over the array namespace ``xp`` (and the host for some).

    Example:
        >>> import numpy as np
        >>> kernels(np)["TruncateDiv"](np.array([7, -7]), np.array([2, 2])).tolist()
        [3, -3]
    """

    def unary(fn: Callable) -> Callable:
        def kernel(x):
            return fn(x)

        kernel.__name__ = kernel.__qualname__ = getattr(fn, "__name__", "unary")
        return kernel

    def zero(x):
        return xp.zeros_like(x)

    def atan2(y, x):
        return xp.atan2(y, x)

    def xdivy(x, y):
        return xp.where(x == 0, zero(x / y), x / y)

    def xlogy(x, y):
        return xp.where(x == 0, zero(x * y), x * xp.log(y))

    def div_no_nan(x, y):
        return xp.where(y == 0, zero(x / y), x / y)

    def softsign(x):
        return x / (1 + xp.abs(x))

    def selu(x):
        scale = xp.asarray(SELU_SCALE, dtype=x.dtype)
        return xp.where(x < 0, scale * xp.asarray(SELU_ALPHA, dtype=x.dtype) * xp.expm1(x), scale * x)

    def check_divisor(y) -> None:
        if xp.any(y == 0):
            raise ZeroDivisionError("integer division by zero")

    def truncate_div(x, y):
        if xp.isdtype(x.dtype, "integral"):
            check_divisor(y)
            q = xp.floor_divide(x, y)
            # Floor and truncation differ by one where the division is inexact and the signs differ.
            inexact = (q * y != x) & ((x < 0) != (y < 0))
            return xp.where(inexact, q + 1, q)
        return xp.trunc(x / y)

    def truncate_mod(x, y):
        if xp.isdtype(x.dtype, "integral"):
            check_divisor(y)
        r = xp.remainder(x, y)  # the floor remainder has y's sign; the truncated one, x's
        return xp.where((r != 0) & ((r < 0) != (x < 0)), r - y, r)

    table = {
        "Sin": unary(xp.sin), "Cos": unary(xp.cos), "Tan": unary(xp.tan), "Asin": unary(xp.asin),
        "Acos": unary(xp.acos), "Atan": unary(xp.atan), "Sinh": unary(xp.sinh), "Cosh": unary(xp.cosh),
        "Asinh": unary(xp.asinh), "Acosh": unary(xp.acosh), "Atanh": unary(xp.atanh), "Expm1": unary(xp.expm1),
        "IsNan": unary(xp.isnan), "IsInf": unary(xp.isinf), "IsFinite": unary(xp.isfinite), "Selu": selu,
        "Softsign": softsign, "Atan2": atan2, "Xdivy": xdivy, "Xlogy": xlogy, "DivNoNan": div_no_nan,
        "TruncateDiv": truncate_div, "TruncateMod": truncate_mod,
    }
    table.update({op: host_kernel(fn) for op, fn in host_kernels().items()})
    return table
