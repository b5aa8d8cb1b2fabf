"""Op-info entries of the special math ops: trigonometric and hyperbolic functions, expm1, erf/erfc, the gamma
family (lgamma, digamma, polygamma, zeta), the float classifiers, Selu/Softsign and the binary ops Atan2,
Xdivy, Xlogy, DivNoNan, TruncateDiv and TruncateMod.

References are numpy's functions, Python's ``math`` ones element by element (erf, erfc, lgamma), and for the
digamma and Hurwitz zeta functions textbook series written here (asymptotic expansion after a recurrence
shift; a direct sum with an integral tail), independent of the kernels' code.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import tensorflux as tf

from .base import FLOATING, INDEX, NUMERIC, OpInfo

F32_64 = (tf.float32, tf.float64)
SHAPES = [(), (0,), (5,), (2, 3)]
PAIRS = [((), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((0, 3), (3,))]


def _per_element(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    def reference(x: np.ndarray) -> np.ndarray:
        flat = [fn(float(v)) for v in np.asarray(x, np.float64).reshape(-1)]
        return np.array(flat, np.float64).reshape(np.shape(x))

    return reference


def _digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) for x > 0: psi(x) = psi(x + 30) - sum 1/(x + k), then psi's asymptotic series at x + 30."""
    x = np.asarray(x, np.float64)
    shifted = x + 30.0
    total = -sum(1.0 / (x + k) for k in range(30))
    z = 1.0 / shifted ** 2
    return total + np.log(shifted) - 0.5 / shifted - z / 12 + z ** 2 / 120 - z ** 3 / 252 + z ** 4 / 240


def _zeta(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hurwitz zeta for s > 1, q > 0: 200 terms summed, then the integral, half-term and first derivative tails."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    n = 200
    total = sum((q + k) ** -s for k in range(n))
    end = q + n
    return total + end ** (1 - s) / (s - 1) + 0.5 * end ** -s + s * end ** (-s - 1) / 12 \
        - s * (s + 1) * (s + 2) * end ** (-s - 3) / 720


def _polygamma(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    factorial = np.vectorize(lambda n: float(math.factorial(int(n))))(a) if a.size else a
    higher = np.where(a % 2 == 0, -1.0, 1.0) * factorial * _zeta(a + 1, x)
    return np.where(a == 0, _digamma(x), higher)


def _selu(x: np.ndarray) -> np.ndarray:
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return np.where(x < 0, scale * alpha * np.expm1(np.minimum(x, 0)), scale * x)


def _unary(op: str, fn: Any, reference: Any, domain: str = "any", **kwargs: Any) -> OpInfo:
    return OpInfo(op, fn, reference, dtypes=FLOATING, shapes=SHAPES, domain=domain, **kwargs)


UNARY = [
    _unary("Sin", tf.math.sin, np.sin), _unary("Cos", tf.math.cos, np.cos),
    _unary("Tan", tf.math.tan, np.tan, "signed-unit"), _unary("Asin", tf.math.asin, np.arcsin, "signed-unit"),
    _unary("Acos", tf.math.acos, np.arccos, "signed-unit"), _unary("Atan", tf.math.atan, np.arctan),
    _unary("Sinh", tf.math.sinh, np.sinh), _unary("Cosh", tf.math.cosh, np.cosh),
    _unary("Asinh", tf.math.asinh, np.arcsinh), _unary("Acosh", tf.math.acosh, np.arccosh, "above-one"),
    _unary("Atanh", tf.math.atanh, np.arctanh, "signed-unit"), _unary("Expm1", tf.math.expm1, np.expm1),
    _unary("Erf", tf.math.erf, _per_element(math.erf)), _unary("Erfc", tf.math.erfc, _per_element(math.erfc)),
    _unary("Lgamma", tf.math.lgamma, _per_element(math.lgamma), "positive"),
    _unary("Digamma", tf.math.digamma, _digamma, "positive"),
    _unary("IsNan", tf.math.is_nan, np.isnan, "specials", differentiable=False),
    _unary("IsInf", tf.math.is_inf, np.isinf, "specials", differentiable=False),
    _unary("IsFinite", tf.math.is_finite, np.isfinite, "specials", differentiable=False),
    _unary("Selu", tf.nn.selu, _selu), _unary("Softsign", tf.nn.softsign, lambda x: x / (1 + np.abs(x))),
]

# The order and the exponent are constants of the case (not inputs): neither is differentiable.
ORDERS = [{"a": np.array(n, np.float64)} for n in (0.0, 1.0, 2.0)] + [{"a": np.array([[0.0], [3.0]])}]
GAMMA_FAMILY = [
    OpInfo("Polygamma", lambda x, a: tf.math.polygamma(tf.cast(a, x.dtype), x), _polygamma, dtypes=F32_64,
           shapes=[(), (2, 3)], domain="positive", attrs=ORDERS),
    OpInfo("Zeta", lambda q, s: tf.math.zeta(tf.cast(s, q.dtype), q), lambda q, s: _zeta(s, q), dtypes=F32_64,
           shapes=[(), (2, 3)], domain="positive", attrs=[{"s": np.array(v)} for v in (2.0, 3.5, [[1.5], [4.0]])]),
]


def _where_zero(condition: np.ndarray, value: np.ndarray) -> np.ndarray:
    return np.where(condition, 0.0, value)


def _trunc_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":  # exact in float64 for the table's small integers
        return np.trunc(x.astype(np.float64) / y.astype(np.float64)).astype(x.dtype)
    return np.trunc(x / y)


def _binary(op: str, fn: Any, reference: Any, domain: tuple, **kwargs: Any) -> OpInfo:
    return OpInfo(op, fn, reference, shapes=PAIRS, domain=domain, **{"dtypes": FLOATING, **kwargs})


# TF's gradients of Xdivy and Xlogy are 0 where x is 0 (so are DivNoNan's where y is), which central differences
# across the jump do not see: those values are checked in entries of their own, without the gradient check.
BINARY = [
    _binary("Atan2", tf.math.atan2, np.arctan2, ("any", "any")),
    _binary("Xdivy", tf.math.xdivy, lambda x, y: x / y, ("nonzero", "divisor")),
    _binary("Xdivy", tf.math.xdivy, lambda x, y: _where_zero(x == 0, x / y), ("coarse", "coarse"),
            variant="zeros", differentiable=False),
    _binary("Xlogy", tf.math.xlogy, lambda x, y: x * np.log(y), ("nonzero", "positive")),
    _binary("Xlogy", tf.math.xlogy, lambda x, y: _where_zero(x == 0, x * np.log(y)), ("coarse", "coarse"),
            variant="zeros", differentiable=False),
    _binary("DivNoNan", tf.div_no_nan, np.true_divide, ("any", "divisor")),
    _binary("DivNoNan", tf.div_no_nan, lambda x, y: _where_zero(y == 0, x / y), ("any", "coarse"),
            variant="zeros", differentiable=False),
    _binary("TruncateDiv", tf.truncatediv, _trunc_div, ("dividend", "divisor"), dtypes=NUMERIC,
            differentiable=False),
    _binary("TruncateMod", tf.truncatemod, np.fmod, ("dividend", "divisor"), dtypes=INDEX + FLOATING,
            differentiable=False),
]

INFOS = UNARY + GAMMA_FAMILY + BINARY
