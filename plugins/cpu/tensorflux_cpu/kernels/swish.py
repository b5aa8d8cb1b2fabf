"""``_FusedSwish`` (``x * sigmoid(beta * x)``, EfficientNet's activation) in one compiled pass.

Unfused, the activation is a Mul, a Sigmoid and a Mul: several passes over memory and, since ``x`` has other
readers, a fresh array for the first product. Here each element is read once and its result written once.
numba's ``np.exp`` calls the C library one element at a time, which would make the loop bound by the calls;
``_exp32`` is an exponential LLVM vectorizes instead: ``exp(t) = 2**n * exp(r)`` with ``n = round(t / ln 2)``
and ``|r| <= ln(2) / 2``, ``exp(r)`` by its Taylor polynomial to degree 7 (truncation below 1e-8 relative),
and ``2**n`` built from its exponent bits. Relative error is within a few float32 ulps (tested against
float64). float64 and the low-precision floats go through numpy.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ..jit import compiled
from . import _loops
from .conv_direct import _u

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))
_F = np.float32
_LOG2E, _LN2_HI, _LN2_LO = _F(1.4426950408889634), _F(0.693359375), _F(-2.12194440e-4)
# exp(t) for t beyond these is taken at the bound: float32 overflows past 88.72, and below -87.3 2**n is subnormal;
# the sigmoid there is within a float32 ulp of 1, or below float32's smallest normal.
_T_LO, _T_HI = _F(-87.0), _F(88.0)
_C = [_F(1.0 / f) for f in (1, 1, 2, 6, 24, 120, 720, 5040)]
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = _C
_ONE, _HALF, _ZERO = _F(1.0), _F(0.5), _F(0.0)


@intrinsic
def _float_of_bits(typingctx, bits):
    """The float32 whose bit pattern is the low 32 bits of the integer ``bits`` (a bitcast, which LLVM vectorizes)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        low = args[0] if bits.bitwidth == 32 else builder.trunc(args[0], ir.IntType(32))
        return builder.bitcast(low, ir.FloatType())

    return types.float32(bits), codegen


@compiled
def _exp32(t):
    """exp(t) for float32 ``t`` in [_T_LO, _T_HI] (see the module docstring)."""
    n = np.floor(t * _LOG2E + _HALF)
    r = t - n * _LN2_HI - n * _LN2_LO
    p = _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + _C1
    p = p * r + _C0
    return p * _float_of_bits((np.int32(n) + 127) << 23)


@compiled
def swish_f32(x, out, beta):
    """``out = x / (1 + exp(-beta * x))`` over the 1-D float32 ``x`` (a nan stays nan)."""
    for i in range(x.shape[0]):
        v = x[i]
        t = -beta * v
        y = v / (_ONE + _exp32(min(max(t, _T_LO), _T_HI)))
        # Past the bound the sigmoid is below float32's smallest normal: x * sigmoid is 0 (and nan for an infinite
        # x), as the unfused ops give. A nan passes both selects and comes out of the division.
        out[i] = y if t <= _T_HI else v * _ZERO


@compiled
def swish_in_place(y, start, stop):
    """``y[i] = y[i] * sigmoid(y[i])`` over ``start:stop`` of the 1-D float32 ``y`` (a fused convolution's epilogue:
    one loop over the array, so LLVM needs no overlap check between an input and an output)."""
    for i in range(start, stop):
        v = y[_u(i)]  # unsigned: no negative-index fix-up, which would keep LLVM from vectorizing
        t = -v
        r = v / (_ONE + _exp32(min(max(t, _T_LO), _T_HI)))
        y[_u(i)] = r if t <= _T_HI else v * _ZERO


def _swish_all(y):
    swish_in_place(y, 0, y.shape[0])


def fused_swish(x, *, beta=1.0, donated=()):
    """``x * sigmoid(beta * x)``: float32 in one compiled pass (split across threads when large), into ``x`` when it is
    donated and beta is 1 (a fresh array of a large batch costs as much as the pass: the kernel zeroes its pages),
    other dtypes through numpy.

    Example:
        >>> fused_swish(np.float32([0.0, 1.0, -1.0]), beta=1.0).round(4).tolist()
        [0.0, 0.7311, -0.2689]
    """
    if x.dtype == np.float32 and 0 in donated and beta == 1.0 and x.flags.c_contiguous and x.flags.writeable:
        flat = x.reshape(-1)
        _loops.split(_swish_all, flat.shape[0], (flat,), cost=8)
        return x
    if x.dtype == np.float32:
        flat = x.reshape(-1) if x.flags.c_contiguous else np.ascontiguousarray(x).reshape(-1)
        out = np.empty(x.shape, np.float32)
        _loops.split(swish_f32, flat.shape[0], (flat, out.reshape(-1)), _F(beta), cost=8)
        return out
    from .nn import sigmoid  # nn registers this kernel: imported here, not at load time

    u = x.astype(np.float32) if x.dtype in _LOW_PRECISION else x
    y = u * sigmoid(u * u.dtype.type(beta))
    return y.astype(x.dtype, copy=False)
