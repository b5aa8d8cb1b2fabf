"""Float32 products with a filter packed once into panels of 32 columns: the GEMM of frozen models' convolutions.

OpenBLAS packs both operands on every call. For a frozen model's convolution at a small batch the filter is
the larger operand (ResNet-50's 7x7 layers at batch 1: 49 output pixels against a 4608 x 512 filter), and
packing it again on every call costs nearly as much as the products: on one core here those products ran at
76-86 GFLOP/s through OpenBLAS and at 100-115 GFLOP/s with the filter packed in advance (ResNet-50's 1x1 and
3x3 layers at batch 1, 7x7 to 28x28 outputs).

``pack`` lays a [K, N] filter out as [N / 32, K, 32] panels (the last one zero-padded), once per filter that
the graph promises constant (``conv_gemm.constant_transform`` keeps it). ``product`` computes rows of
``x @ w`` for a range of panels: a block of 8 rows by 32 columns is accumulated in registers while the K taps
stream by (per tap, 8 broadcast values of ``x`` and one contiguous row of the panel feed 16 vector FMAs), as
in ``conv_direct``. Rows are taken in sub-blocks that stay in the core's L2 cache, with their outputs, while every
panel passes. ``product_finished`` applies a convolution's epilogue (bias, residual input, clamp) to each value as
it leaves the registers, which saves a pass over the output (MobileNet v2 at batch 1: 10.1 to 9.6 ms, measured
alternating in one process).
"""

from __future__ import annotations

import numba
import numpy as np

from ..jit import compiled
from .conv_direct import _stack_block, _u

PANEL = 32  # columns per panel: the register block's width (``conv_direct._OB``)
# A sub-block of rows (of x, and the outputs they make) is kept about half the size of a core's L2 cache, so that it
# stays there while all the panels stream past; at a small batch that is nearly every row, and each panel is read
# from memory about once (a frozen model's filters do not fit in the caches together).
SUB_BYTES = 1 << 19


@compiled(fastmath={"contract"})
def _product(x, rows, k, wp, b0, b1, out, n, sub, finish, bias, side, lo, hi):
    """``out`` (flat [rows, n]) columns of panels ``b0:b1`` = ``x`` (flat [rows, k]) times the packed filter ``wp``
    (flat [panels, k, 32]); rows past a block's last repeat it (computed, then dropped). With ``finish``, each value
    is stored as ``min(max(v + bias[column] + side[row, column], lo), hi)`` (``side`` flat like ``out``, or empty)."""
    block = numba.carray(_stack_block(), (8, PANEL))
    has_side = side.shape[0] > 0
    for s0 in range(0, rows, sub):
        s1 = min(s0 + sub, rows)
        last = s1 - 1
        for ob in range(b0, b1):
            wb = ob * k * PANEL
            width = min(PANEL, n - ob * PANEL)
            for p0 in range(s0, s1, 8):
                for p in range(8):
                    for j in range(PANEL):
                        block[p, j] = 0.0
                a0, a1, a2, a3 = p0 * k, min(p0 + 1, last) * k, min(p0 + 2, last) * k, min(p0 + 3, last) * k
                a4, a5, a6, a7 = min(p0 + 4, last) * k, min(p0 + 5, last) * k, min(p0 + 6, last) * k, min(p0 + 7, last) * k
                for t in range(k):
                    x0, x1, x2, x3 = x[_u(a0 + t)], x[_u(a1 + t)], x[_u(a2 + t)], x[_u(a3 + t)]
                    x4, x5, x6, x7 = x[_u(a4 + t)], x[_u(a5 + t)], x[_u(a6 + t)], x[_u(a7 + t)]
                    fb = wb + t * PANEL
                    for j in range(PANEL):
                        fv = wp[_u(fb + j)]
                        block[0, j] += x0 * fv
                        block[1, j] += x1 * fv
                        block[2, j] += x2 * fv
                        block[3, j] += x3 * fv
                        block[4, j] += x4 * fv
                        block[5, j] += x5 * fv
                        block[6, j] += x6 * fv
                        block[7, j] += x7 * fv
                for p in range(min(8, s1 - p0)):
                    d = (p0 + p) * n + ob * PANEL
                    if finish:
                        c = ob * PANEL
                        for j in range(width):
                            v = block[p, j] + bias[_u(c + j)]
                            if has_side:
                                v += side[_u(d + j)]
                            v = v if (v >= lo) | (v != v) else lo
                            out[_u(d + j)] = v if (v <= hi) | (v != v) else hi
                    elif width == PANEL:
                        for j in range(PANEL):
                            out[_u(d + j)] = block[p, j]
                    else:
                        for j in range(width):
                            out[_u(d + j)] = block[p, j]


def panels(n: int) -> int:
    """How many 32-column panels hold ``n`` columns.

    Example:
        >>> panels(64), panels(65)
        (2, 3)
    """
    return -(-n // PANEL)


def pack(w: np.ndarray) -> np.ndarray:
    """The [K, N] float32 filter ``w`` as flat [N / 32, K, 32] panels, the last one zero-padded.

    Example:
        >>> pack(np.arange(6, dtype=np.float32).reshape(3, 2)).reshape(1, 3, 32)[0, :, :3].tolist()
        [[0.0, 1.0, 0.0], [2.0, 3.0, 0.0], [4.0, 5.0, 0.0]]
    """
    k, n = w.shape
    p = panels(n)
    padded = np.zeros((k, p * PANEL), np.float32)
    padded[:, :n] = w
    return np.ascontiguousarray(padded.reshape(k, p, PANEL).transpose(1, 0, 2)).reshape(-1)


_NO_SIDE = np.empty(0, np.float32)
_NO_BIAS = np.empty(0, np.float32)
_INF = np.float32(np.inf)


def product(x: np.ndarray, wp: np.ndarray, out: np.ndarray, b0: int, b1: int) -> None:
    """``out[:, 32*b0:32*b1] = x @ w`` (those columns, clipped to ``out``'s), with ``wp = pack(w)``; ``x`` is a
    C-contiguous float32 [rows, K] matrix and ``out`` a C-contiguous float32 [rows, N] one.

    Example:
        >>> w = np.arange(6, dtype=np.float32).reshape(3, 2)
        >>> out = np.empty((1, 2), np.float32)
        >>> product(np.ones((1, 3), np.float32), pack(w), out, 0, 1)
        >>> out.tolist()
        [[6.0, 9.0]]
    """
    _run(x, wp, out, b0, b1, False, _NO_BIAS, _NO_SIDE, -_INF, _INF)


def product_finished(x: np.ndarray, wp: np.ndarray, out: np.ndarray, b0: int, b1: int, bias: np.ndarray,
                     side: np.ndarray, lo: np.float32, hi: np.float32) -> None:
    """``product``, with each value stored as ``min(max(v + bias + side, lo), hi)``: the convolution's epilogue
    without a second pass over the output (a MobileNet v2 layer's output at 112x112 is several MB).

    ``bias`` has one float32 value per column of ``out``; ``side`` is a C-contiguous float32 array shaped like
    ``out``, or has no rows.

    Example:
        >>> w = np.arange(6, dtype=np.float32).reshape(3, 2)
        >>> out = np.empty((1, 2), np.float32)
        >>> product_finished(np.ones((1, 3), np.float32), pack(w), out, 0, 1, np.float32([1, -20]),
        ...                  np.empty((0, 2), np.float32), np.float32(0), np.float32(8))
        >>> out.tolist()
        [[7.0, 0.0]]
    """
    _run(x, wp, out, b0, b1, True, bias, side.reshape(-1), lo, hi)


def _run(x, wp, out, b0, b1, finish, bias, side, lo, hi) -> None:
    rows, k = x.shape
    if rows == 0 or b1 <= b0:
        return
    width = min(b1 * PANEL, out.shape[1]) - b0 * PANEL
    sub = max(8, SUB_BYTES // (4 * (k + width)) // 8 * 8)
    _product(x.reshape(-1), rows, k, wp, b0, b1, out.reshape(-1), out.shape[1], sub, finish, bias, side,
             np.float32(lo), np.float32(hi))
