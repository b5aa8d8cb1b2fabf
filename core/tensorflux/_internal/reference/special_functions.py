"""Special functions over numpy float64 arrays, for the host kernels of Erf, Erfc, Lgamma, Digamma, Polygamma and
Zeta (the array API has none of them, and scipy is no dependency).

erf, erfc and lgamma apply Python's ``math`` functions element by element: exact to the last bit but slow
(about 0.1 us an element), which a reference kernel can afford; a device that runs them often registers its
own (the cpu plugin compiles the same ``math`` functions with numba). digamma and the Hurwitz zeta are
vectorized series, accurate to a few units in the last place of float64. Values at poles and outside the
domain follow TensorFlow (Eigen): lgamma is inf at the non-positive integers, digamma NaN there, zeta inf at
x = 1 and NaN for x < 1.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

# (2j)! / B_2j for j = 1..12: the Euler-Maclaurin coefficients of the zeta tail.
_EM_DIVISORS = np.array([12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
                         -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
                         1.8152105401943546773e17, -7.1661652561756670113e18])
_FACTORIALS = np.cumprod(np.concatenate([[1.0], np.arange(1.0, 171.0)]))  # n! for n = 0..170; larger overflow


def _elementwise(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    ufunc = np.frompyfunc(fn, 1, 1)

    def apply(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(ufunc(x), dtype=np.float64).reshape(x.shape)

    return apply


def _lgamma(v: float) -> float:
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # the poles (non-positive integers) and overflow: +inf, as TF
        return math.inf


erf = _elementwise(math.erf)
erfc = _elementwise(math.erfc)
lgamma = _elementwise(_lgamma)


def digamma(x: np.ndarray) -> np.ndarray:
    """psi(x), the derivative of lgamma; NaN at the non-positive integers and at -inf.

    Example:
        >>> round(float(digamma(np.array(1.0))), 12)  # minus the Euler-Mascheroni constant
        -0.577215664902
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        reflect = x <= 0
        y = np.where(reflect, 1.0 - x, x)
        shift = np.zeros_like(y)
        # psi(y) = psi(y + 1) - 1 / y: move y to 10 or more, where the asymptotic series converges fast.
        small = y < 10
        while np.any(small):
            shift = np.where(small, shift - 1.0 / y, shift)
            y = np.where(small, y + 1.0, y)
            small = y < 10
        z = 1.0 / (y * y)
        series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132 - z * (691 / 32760
                                                                                                 - z / 12))))))
        out = np.log(y) - 0.5 / y - series + shift
        # Reflection: psi(x) = psi(1 - x) - pi / tan(pi x), the tangent's argument reduced to [-1/2, 1/2].
        fraction = x - np.round(x)
        reflected = out - np.pi / np.tan(np.pi * fraction)
        out = np.where(reflect, np.where(fraction == 0, np.nan, reflected), out)
    return out


def zeta(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function, the sum over k >= 0 of (q + k) ** -x.

    inf at x = 1 and where q is a non-positive integer, NaN for x < 1 and where q < 0 with x not an integer.

    Example:
        >>> round(float(zeta(np.array(2.0), np.array(1.0))), 12)  # pi ** 2 / 6
        1.644934066848
    """
    x, q = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(q, dtype=np.float64))
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        pole = (x == 1) | ((x > 1) & (q <= 0) & (q == np.floor(q)))
        out[pole] = np.inf
        out[(x > 1) & (q == np.inf)] = 0.0
        ok = (x > 1) & ~pole & ~((q < 0) & (x != np.floor(x))) & (q != np.inf)
        s, a = x[ok], q[ok]
        # Sum the first n terms directly (n >= 9, and q + n > 9), then the Euler-Maclaurin tail from q + n.
        n = np.maximum(9.0, np.floor(9.0 - a) + 1.0)
        total = np.zeros_like(s)
        for k in range(int(n.max()) if n.size else 0):
            total += np.where(k < n, np.power(a + k, -s), 0.0)
        w = a + n
        last = np.power(w, -s)
        total += last * w / (s - 1.0) + 0.5 * last
        rising, term_power = np.ones_like(s), last / w
        for j, divisor in enumerate(_EM_DIVISORS):
            rising = rising * (s + 2 * j) if j == 0 else rising * (s + 2 * j - 1) * (s + 2 * j)
            total += rising * term_power / divisor
            term_power = term_power / (w * w)
        out[ok] = total
    return out


def polygamma(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x): digamma for n = 0, else (-1)^(n+1) n! zeta(n + 1, x); NaN unless n is a non-negative integer.

    Example:
        >>> round(float(polygamma(np.array(1.0), np.array(1.0))), 12)  # trigamma(1) = pi ** 2 / 6
        1.644934066848
    """
    n, x = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(x, dtype=np.float64))
    with np.errstate(all="ignore"):
        order = np.where(np.isfinite(n) & (n >= 0) & (n == np.floor(n)), n, -1.0)
        index = np.clip(order, 0, _FACTORIALS.size - 1).astype(np.int64)
        factorial = np.where(order < _FACTORIALS.size, _FACTORIALS[index], np.inf)
        signed = np.where(np.fmod(order, 2) == 0, -factorial, factorial)
        higher = signed * zeta(order + 1.0, x)
        out = np.where(order == 0, digamma(x), higher)
    return np.where(order < 0, np.nan, out)
