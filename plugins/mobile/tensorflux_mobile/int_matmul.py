"""Exact products of integer matrices on float32 BLAS, for the int8 and hybrid kernels.

numpy has no fast integer matrix product, but float32 BLAS is exact on integers while every number it forms
stays within 2**24 (every integer of magnitude <= 2**24 is a float32). :class:`ExactMatmul` splits the inner
dimension K into chunks for which that holds, and sums the chunks' products in float64.

Why each chunk's product is exact. For activations ``a`` with |a| <= ``a_max`` (integers) and int8 weights
``w``, output column ``o`` of a chunk is a sum of the terms a[k] * w[k, o] over the chunk's k. Each term is
an integer of magnitude <= a_max * |w[k, o]|. Whatever order, blocking, number of partial accumulators or
fused multiply-adds the BLAS uses, each number it forms for that output is the sum of some subset of the
chunk's terms (alpha is 1 and beta 0, and no BLAS used by numpy computes products of sums, as Strassen's
method would), so it is an integer of magnitude <= a_max * sum over the chunk of |w[k, o]|. The chunks are
cut so that bound is <= 2**24 for every column; each operation's exact result is then a float32, and IEEE
rounding returns it unchanged. The chunk results, integers of magnitude <= 2**24, are summed in float64,
which is exact while a_max * sum over all k of |w[k, o]| < 2**53 (K < 2**37 rows of int8 weights).

A single chunk suffices when a_max * max_o sum_k |w[k, o]| <= 2**24: for int8 activations taken as they are
(a_max = 128), up to 1032 rows of weights of magnitude 127, and usually several thousand rows of trained
weights, whose typical magnitude is a fraction of their channel's maximum.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.int_matmul import ExactMatmul
    >>> w = np.full((2000, 3), 127, np.int8)
    >>> mm = ExactMatmul(w, a_max=128)
    >>> len(mm.bounds), mm(np.full((1, 2000), -127, np.float32)).tolist()
    (2, [[-32258000.0, -32258000.0, -32258000.0]])
"""

from __future__ import annotations

import numpy as np

F32_EXACT = 1 << 24  # every integer of magnitude up to this is a float32
F64_EXACT = 1 << 53


def chunk_bounds(w: np.ndarray, a_max: int) -> list[tuple[int, int]]:
    """Contiguous ranges of w's rows (K) with ``a_max * sum |w[k, o]| <= 2**24`` for every column ``o``.

    Example:
        >>> import numpy as np
        >>> from tensorflux_mobile.int_matmul import chunk_bounds
        >>> chunk_bounds(np.full((5, 1), 100, np.int8), a_max=50000)
        [(0, 3), (3, 5)]
    """
    k = w.shape[0]
    if a_max * 128 > F32_EXACT:
        raise ValueError(f"ExactMatmul: activations up to {a_max} times int8 weights can leave float32's exact "
                         f"integers (2**24) in a single product")
    limit = F32_EXACT // a_max
    mag = np.abs(w.astype(np.int64)).reshape(k, -1)
    total = mag.sum(axis=0)
    if int(total.max(initial=0)) * a_max >= F64_EXACT:
        raise ValueError(f"ExactMatmul: {k} rows of weights can sum past float64's exact integers (2**53)")
    if int(total.max(initial=0)) <= limit:
        return [(0, k)]
    running = np.cumsum(mag, axis=0)
    bounds, start = [], 0
    while start < k:
        before = running[start - 1] if start else 0
        # The largest column sum over rows start..e-1 grows with e: find the last e that stays within the limit.
        worst = (running[start:] - before).max(axis=1)
        stop = start + int(np.searchsorted(worst, limit, side="right"))
        bounds.append((start, max(stop, start + 1)))  # one row alone is always exact (a_max * 128 <= 2**24)
        start = bounds[-1][1]
    return bounds


class ExactMatmul:
    """``a @ w`` for integer-valued float32 ``a`` [M, K] (|a| <= ``a_max``) and int8 ``w`` [K, O], exactly.

    The result is float32 when one chunk covers K, else float64; either way it holds exact integers, and
    ``bound`` (per output column, ``a_max * sum_k |w[k, o]|``) bounds their magnitude.
    """

    def __init__(self, w: np.ndarray, a_max: int) -> None:
        self.bounds = chunk_bounds(w, a_max)
        self.bound = a_max * np.abs(w.astype(np.int64)).sum(axis=0)
        self.w = np.ascontiguousarray(w, dtype=np.float32)
        self.parts = [self.w[start:stop] for start, stop in self.bounds]

    def __call__(self, a: np.ndarray) -> np.ndarray:
        if len(self.parts) == 1:
            return a @ self.w
        (start, stop), first = self.bounds[0], self.parts[0]
        acc = (a[:, start:stop] @ first).astype(np.float64)
        for (start, stop), part in zip(self.bounds[1:], self.parts[1:]):
            acc += a[:, start:stop] @ part
        return acc
