"""Reference kernels of the diagonal and band ops (MatrixBandPart, MatrixDiag, MatrixDiagPart, MatrixSetDiag,
Diag, DiagPart) and of BroadcastTo, LinSpace and InvertPermutation, over the array namespace ``xp``."""

from __future__ import annotations

from typing import Any, Callable

from .common import host_int, host_ints


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the matrix diagonal and band ops and three small array ops, computing with ``xp``.

    Example:
        >>> import numpy as np
        >>> kernels(np)["MatrixDiagPart"](np.arange(6).reshape(2, 3)).tolist()
        [0, 4]
    """

    def grid(rows: int, cols: int, device: Any) -> tuple:
        """Row and column numbers of a ``rows x cols`` matrix, as int64 arrays that broadcast together."""
        i = xp.reshape(xp.arange(rows, dtype=xp.int64, device=device), (rows, 1))
        j = xp.reshape(xp.arange(cols, dtype=xp.int64, device=device), (1, cols))
        return i, j

    def zero(x):
        return xp.zeros((), dtype=x.dtype, device=x.device)

    def band_part(x, num_lower, num_upper):
        lower, upper = host_int(num_lower), host_int(num_upper)
        rows, cols = x.shape[-2], x.shape[-1]
        if lower > rows or upper > cols:
            raise ValueError(f"MatrixBandPart: num_lower ({lower}) must be at most the rows ({rows}) and num_upper "
                             f"({upper}) at most the columns ({cols})")
        i, j = grid(rows, cols, x.device)
        keep = ((i - j <= lower) | (lower < 0)) & ((j - i <= upper) | (upper < 0))
        return xp.where(keep, x, zero(x))

    def diagonal_mask(rows: int, cols: int, device: Any):
        i, j = grid(rows, cols, device)
        return i == j

    def set_diagonal(x, diagonal):
        """``x`` with ``diagonal`` ([..., min(rows, cols)]) written on the main diagonals of its matrices."""
        rows, cols = x.shape[-2], x.shape[-1]
        k = min(rows, cols)
        if tuple(diagonal.shape) != (*x.shape[:-2], k):
            raise ValueError(f"MatrixSetDiag: diagonal must have shape {[*x.shape[:-2], k]} for input "
                             f"{list(x.shape)}, got {list(diagonal.shape)}")
        if k == 0:
            return x
        # Column j of the diagonal's row j: spread each diagonal along its columns, then keep i == j.
        columns = xp.take(diagonal, xp.asarray([min(j, k - 1) for j in range(cols)], dtype=xp.int64,
                                               device=x.device), axis=-1)
        return xp.where(diagonal_mask(rows, cols, x.device), xp.expand_dims(columns, axis=-2), x)

    def matrix_diag(diagonal):
        n = diagonal.shape[-1]
        base = xp.zeros((*diagonal.shape, n), dtype=diagonal.dtype, device=diagonal.device)
        return set_diagonal(base, diagonal)

    def matrix_diag_part(x):
        rows, cols = x.shape[-2], x.shape[-1]
        flat = xp.reshape(x, (*x.shape[:-2], rows * cols))
        positions = xp.asarray([i * (cols + 1) for i in range(min(rows, cols))], dtype=xp.int64, device=x.device)
        return xp.take(flat, positions, axis=-1)

    def size_of(shape) -> int:
        n = 1
        for d in shape:
            n *= d
        return n

    def diag(x):
        n = size_of(x.shape)
        return xp.reshape(matrix_diag(xp.reshape(x, (n,))), (*x.shape, *x.shape))

    def diag_part(x):
        half = x.ndim // 2
        if x.ndim % 2 or tuple(x.shape[:half]) != tuple(x.shape[half:]):
            raise ValueError(f"DiagPart: input must have shape D + D, got {list(x.shape)}")
        n = size_of(x.shape[:half])
        return xp.reshape(matrix_diag_part(xp.reshape(x, (n, n))), tuple(x.shape[:half]))

    def broadcast_to(x, shape):
        target = tuple(host_ints(shape))
        try:
            return xp.broadcast_to(x, target)
        except ValueError:
            raise ValueError(f"BroadcastTo: a tensor of shape {list(x.shape)} does not broadcast to "
                             f"{list(target)}") from None

    def lin_space(start, stop, num):
        n = host_int(num)
        if n <= 0:
            raise ValueError(f"LinSpace: num must be positive, got {n}")
        first, last = xp.reshape(start, (1,)), xp.reshape(stop, (1,))
        if n == 1:
            return first
        # start + i * step, all in the output's dtype, and stop exactly at the end, as TF's kernel.
        step = (last - first) / xp.asarray(n - 1, dtype=start.dtype, device=start.device)
        values = first + xp.astype(xp.arange(n - 1, device=start.device), start.dtype) * step
        return xp.concat([values, last])

    def invert_permutation(x):
        values = host_ints(x)
        if sorted(values) != list(range(len(values))):
            raise ValueError(f"InvertPermutation: {values} is not a permutation of 0..{len(values) - 1}")
        inverse = [0] * len(values)
        for i, v in enumerate(values):
            inverse[v] = i
        return xp.asarray(inverse, dtype=x.dtype, device=x.device)

    return {"MatrixBandPart": band_part, "MatrixDiag": matrix_diag, "MatrixDiagPart": matrix_diag_part,
            "MatrixSetDiag": set_diagonal, "Diag": diag, "DiagPart": diag_part, "BroadcastTo": broadcast_to,
            "LinSpace": lin_space, "InvertPermutation": invert_permutation}
