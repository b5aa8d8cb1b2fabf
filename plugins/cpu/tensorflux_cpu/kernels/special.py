"""Special math kernels: trigonometric and hyperbolic functions, expm1, erf/erfc/lgamma (compiled from Python's
``math`` functions), digamma/polygamma/zeta (core's reference kernels), the float classifiers, Selu, Softsign,
and the binary ops Atan2, Xdivy, Xlogy, DivNoNan, TruncateDiv and TruncateMod.
"""

from __future__ import annotations

import math

import numpy as np

from tensorflux.extend import reference_kernels

from ..jit import compiled

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _quiet(fn, name):
    """``fn`` without numpy's warnings (NaN and inf are results, as in TF), its result in the input's dtype."""

    def kernel(x):
        with np.errstate(all="ignore"):
            return np.asarray(fn(x)).astype(x.dtype, copy=False)

    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def _classifier(fn):
    def kernel(x):
        return np.asarray(fn(x))

    kernel.__name__ = kernel.__qualname__ = fn.__name__
    return kernel


@compiled
def _erf_loop(x, out):
    for i in range(x.size):
        out[i] = math.erf(x[i])


@compiled
def _erfc_loop(x, out):
    for i in range(x.size):
        out[i] = math.erfc(x[i])


@compiled
def _lgamma_loop(x, out):
    # C's lgamma, as numba compiles math.lgamma: +inf at the poles (Python's raises there).
    for i in range(x.size):
        out[i] = math.lgamma(x[i])


def _compiled_unary(loop, name):
    def kernel(x):
        wide = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        out = np.empty_like(wide)
        loop(wide, out)
        return out.reshape(x.shape).astype(x.dtype, copy=False)

    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def selu(x):
    with np.errstate(over="ignore"):
        negative = (SELU_SCALE * SELU_ALPHA) * np.expm1(np.minimum(x, 0).astype(np.float64))
    return np.where(x < 0, negative, SELU_SCALE * x.astype(np.float64)).astype(x.dtype, copy=False)


def softsign(x):
    return (x / (1 + np.abs(x))).astype(x.dtype, copy=False)


def _where_zero(condition, value, dtype):
    return np.where(condition, np.zeros((), dtype), value).astype(dtype, copy=False)


def atan2(y, x):
    return np.arctan2(y, x).astype(y.dtype, copy=False)


def xdivy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _where_zero(x == 0, np.true_divide(x, y), x.dtype)


def xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _where_zero(x == 0, x * np.log(y), x.dtype)


def div_no_nan(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _where_zero(y == 0, np.true_divide(x, y), x.dtype)


def truncate_div(x, y):
    if x.dtype.kind in "iu":
        if np.any(np.asarray(y) == 0):
            raise ZeroDivisionError("integer division by zero")
        # C's integer division truncates, and np.fmod is C's remainder: x - fmod(x, y) is an exact multiple of y.
        return ((x - np.fmod(x, y)) // y).astype(x.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.trunc(np.true_divide(x, y)).astype(x.dtype, copy=False)


def truncate_mod(x, y):
    if x.dtype.kind in "iu" and np.any(np.asarray(y) == 0):
        raise ZeroDivisionError("integer modulo by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(x, y).astype(x.dtype, copy=False)


_NUMPY = {"Sin": np.sin, "Cos": np.cos, "Tan": np.tan, "Asin": np.arcsin, "Acos": np.arccos, "Atan": np.arctan,
          "Sinh": np.sinh, "Cosh": np.cosh, "Asinh": np.arcsinh, "Acosh": np.arccosh, "Atanh": np.arctanh,
          "Expm1": np.expm1}
_REFERENCE = ("Digamma", "Polygamma", "Zeta")


def _kernels():
    table = {op: _quiet(fn, op) for op, fn in _NUMPY.items()}
    table.update({"IsNan": _classifier(np.isnan), "IsInf": _classifier(np.isinf), "IsFinite": _classifier(np.isfinite),
                  "Erf": _compiled_unary(_erf_loop, "Erf"), "Erfc": _compiled_unary(_erfc_loop, "Erfc"),
                  "Lgamma": _compiled_unary(_lgamma_loop, "Lgamma"), "Selu": selu, "Softsign": softsign,
                  "Atan2": atan2, "Xdivy": xdivy, "Xlogy": xlogy, "DivNoNan": div_no_nan,
                  "TruncateDiv": truncate_div, "TruncateMod": truncate_mod})
    reference = reference_kernels(np)
    table.update({op: reference[op] for op in _REFERENCE})
    return table


KERNELS = _kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
