"""TF Lite's fixed-point arithmetic, vectorized over numpy int64 arrays.

``quantize_multiplier`` turns a real multiplier into a Q31 significand and a power-of-two shift (TF Lite's
QuantizeMultiplier); ``multiply_by_quantized_multiplier`` applies it. Every integer kernel requantizes through
these two functions, so they are the place where bit-exactness is decided.

TF Lite has two roundings for that product. "single" (``TFLITE_SINGLE_ROUNDING``: one 64-bit product, one
rounding shift) is what LiteRT 2.x's reference kernels and its default XNNPACK path compute; "double"
(gemmlowp's saturating rounding doubling high multiply, then a rounding right shift) is what its optimized
ruy/gemmlowp kernels compute. They differ by one on some ties. The kernels use "single" (``ROUNDING``).

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.fixed_point import multiply_by_quantized_multiplier, quantize_multiplier
    >>> m, shift = quantize_multiplier(0.25)
    >>> m, shift, multiply_by_quantized_multiplier(np.array([100, -6]), m, shift).tolist()
    (1073741824, -1, [25, -1])
    >>> multiply_by_quantized_multiplier(np.array([100, -6]), m, shift, rounding="double").tolist()
    [25, -2]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
ROUNDING = "single"


def round_half_away(x: Any) -> Any:
    """Round to nearest, ties away from zero (C's ``round``, TF Lite's TfLiteRound), elementwise.

    Example:
        >>> from tensorflux_mobile.fixed_point import round_half_away
        >>> round_half_away([0.5, -0.5, 1.5, 2.4]).tolist()
        [1.0, -1.0, 2.0, 2.0]
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    magnitude = np.abs(x)
    whole = np.floor(magnitude)
    # |x| - floor(|x|) is exact, so a tie is seen as a tie (|x| + 0.5 could round up in float32).
    return np.copysign(whole + (magnitude - whole >= 0.5), x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``real`` as (significand in Q31, shift) with real ~= significand * 2**(shift - 31), as TF Lite does.

    Example:
        >>> from tensorflux_mobile.fixed_point import quantize_multiplier
        >>> quantize_multiplier(0.5), quantize_multiplier(0.0)
        ((1073741824, 0), (0, 0))
    """
    real = float(real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(math.floor(abs(q) * (1 << 31) + 0.5)) * (1 if q >= 0 else -1)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:  # the single-rounding product needs shift <= 30; TF Lite saturates the same way
        return INT32_MAX, 30
    return q_fixed, shift


def quantize_multipliers(reals: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`quantize_multiplier` for each of ``reals`` (python floats, i.e. doubles): (significands, shifts)."""
    pairs = [quantize_multiplier(float(r)) for r in np.atleast_1d(np.asarray(reals, dtype=np.float64))]
    return np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64)


def _wrap_int32(x: np.ndarray) -> np.ndarray:
    return ((x - INT32_MIN) & 0xFFFFFFFF) + INT32_MIN


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: Any) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values held in int64 arrays."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudged = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    # C++ integer division truncates toward zero.
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x: np.ndarray, exponent: Any) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent rounded to nearest, ties away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: Any, multiplier: Any, shift: Any, rounding: str = ROUNDING) -> np.ndarray:
    """TF Lite's MultiplyByQuantizedMultiplier: round(x * multiplier * 2**(shift - 31)), ``rounding`` 'single' or 'double'.

    ``multiplier`` and ``shift`` broadcast against ``x`` (per-channel requantization passes vectors along the
    last axis). In 'double' the left shift wraps to int32 as the C++ does.
    """
    shift = np.asarray(shift, dtype=np.int64)
    if rounding == "single":
        total = 31 - shift
        return (np.asarray(x, dtype=np.int64) * np.asarray(multiplier, dtype=np.int64)
                + (np.int64(1) << (total - 1))) >> total
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = _wrap_int32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


class Requantizer:
    """An accumulator to int8, with every constant prepared once: ``clip(mbqm(acc + offset, m, shift) + zp_out)``.

    ``multiplier``, ``shift`` and ``offset`` are scalars or per-channel vectors along the last axis; ``offset``
    folds in the bias and any zero-point correction. ``acc`` holds exact integers, as int64 or float (float64
    is exact below 2**53). The product is TF Lite's single rounding (``ROUNDING``), in int64.

    Given ``acc_bound`` (|acc| <= it, per channel), the whole affine part is folded into per-channel
    constants and one common shift T (the largest of the channels' 31 - shift): channel c's
    floor((a * m + 2**(t-1)) / 2**t) equals floor((a * m * 2**d + 2**(T-1)) / 2**T) with d = T - t, so with
    M = m * 2**d and R = 2**(T-1) + zp_out * 2**T + offset * M, the output before clamping is
    (acc * M + R) >> T, the same integer. It is used when |acc * M| + |R| < 2**63 for every channel, so int64
    holds every step; otherwise (or without ``acc_bound``) each step runs per channel as TF Lite writes it.

    Example:
        >>> import numpy as np
        >>> from tensorflux_mobile.fixed_point import Requantizer, quantize_multiplier
        >>> m, shift = quantize_multiplier(0.25)
        >>> Requantizer(m, shift, zp_out=-3, lo=-128, hi=127, offset=2)(np.array([[98.0, -10.0, 1000.0]])).tolist()
        [[22, -5, 127]]
    """

    def __init__(self, multiplier: Any, shift: Any, zp_out: int, lo: int, hi: int, offset: Any = 0,
                 acc_bound: Any = None, out_dtype: Any = np.int8) -> None:
        multiplier = np.asarray(multiplier, dtype=np.int64)
        total = 31 - np.asarray(shift, dtype=np.int64)
        offset = np.asarray(offset, dtype=np.int64)
        self.lo, self.hi, self.out_dtype = int(lo), int(hi), np.dtype(out_dtype)
        self.folded = False
        if acc_bound is not None:
            shape = np.broadcast_shapes(multiplier.shape, total.shape, offset.shape, np.shape(acc_bound))
            ms, ts, offs, bounds = (np.broadcast_to(v, shape).reshape(-1).tolist()
                                    for v in (multiplier, total, offset, np.asarray(acc_bound, dtype=np.int64)))
            big_t = max(ts, default=31)
            big_m = [m << (big_t - t) for m, t in zip(ms, ts)]  # Python ints: no overflow while checking
            rounding = [(1 << (big_t - 1)) + (int(zp_out) << big_t) + o * m for o, m in zip(offs, big_m)]
            if all(b * abs(m) + abs(r) < (1 << 63) for b, m, r in zip(bounds, big_m, rounding)):
                self.folded = True
                self.multiplier = _scalar_if_uniform(np.array(big_m, np.int64).reshape(shape))
                self.rounding = _scalar_if_uniform(np.array(rounding, np.int64).reshape(shape))
                self.total = np.int64(big_t)
                return
        self.multiplier, self.total = _scalar_if_uniform(multiplier), _scalar_if_uniform(total)
        self.rounding = _scalar_if_uniform(np.int64(1) << (total - 1))
        self.offset, self.zp_out = _scalar_if_uniform(offset), int(zp_out)

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        if self.folded:
            x = acc.astype(np.int64)
        else:
            x = acc.astype(np.int64)
            x += self.offset
        x *= self.multiplier
        x += self.rounding
        x >>= self.total
        if not self.folded:
            x += self.zp_out
        np.clip(x, self.lo, self.hi, out=x)
        return x.astype(self.out_dtype)


def _scalar_if_uniform(v: np.ndarray) -> Any:
    """A vector whose entries are all equal as one numpy scalar (cheaper to broadcast)."""
    v = np.asarray(v)
    if v.ndim == 0 or (v.size and (v == v.flat[0]).all()):
        return v.dtype.type(v.flat[0])
    return v
