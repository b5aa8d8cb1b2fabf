"""The matrix unit's arithmetic: bfloat16 inputs, float32 accumulation, and XLA's multi-pass precisions.

Every matrix product of the device goes through :func:`mxu_matmul`: the kernels are core's reference
kernels over :data:`MXU_NUMPY`, a numpy namespace whose ``matmul`` is the MXU's, so MatMul, BatchMatMul,
Conv2D and the convolutions' gradients (im2col products in the reference kernels) all round their operands
as the MXU does. Everything else is numpy at the tensor's own dtype (float32 for float work).

Precisions, as XLA's ``PrecisionConfig`` on a TPU:

- ``DEFAULT``: each operand rounded to bfloat16 (round to nearest even, as ``ml_dtypes`` casts), products
  exact, sums in float32: one pass.
- ``HIGH`` (bf16x3): ``x = hi + lo`` with both parts bfloat16; ``hi*lo + lo*hi + hi*hi``: three passes.
- ``HIGHEST`` (bf16x6): ``x = hi + mid + lo``; the six products down to ``mid*mid`` and ``hi*lo``/``lo*hi``,
  smallest first, each summed in float32: about float32's accuracy, at six passes.
"""

from __future__ import annotations

import math
import threading
import types
from typing import Any, Callable

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
PASSES = {"DEFAULT": 1, "HIGH": 3, "HIGHEST": 6}
# The products each precision sums, as (part of a, part of b), smallest first; parts: 0 hi, 1 mid, 2 lo.
_PRODUCTS = {
    "DEFAULT": ((0, 0),),
    "HIGH": ((0, 1), (1, 0), (0, 0)),
    "HIGHEST": ((0, 2), (2, 0), (1, 1), (0, 1), (1, 0), (0, 0)),
}
_PARTS = {"DEFAULT": 1, "HIGH": 2, "HIGHEST": 3}

# What the running compiled program tells the matrix unit: the precision, and where to note each product.
_context = threading.local()


def round_to_bfloat16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to bfloat16 (nearest even), as float32.

    Example:
        >>> round_to_bfloat16(np.array([1.0 + 2**-9, 1.0 + 3 * 2**-9], np.float32)).tolist()
        [1.0, 1.0078125]
    """
    return np.asarray(x, np.float32).astype(BFLOAT16).astype(np.float32)


def split_bfloat16(x: np.ndarray, parts: int) -> list[np.ndarray]:
    """``x`` (float32) as ``parts`` bfloat16 values (as float32) whose sum approximates it, largest first.

    Example:
        >>> hi, lo = split_bfloat16(np.array([1 / 3], np.float32), 2)
        >>> float(hi[0]), abs(float(hi[0] + lo[0]) - 1 / 3) < 1e-5
        (0.333984375, True)
    """
    rest = np.asarray(x, np.float32)
    out = [round_to_bfloat16(rest)]
    for _ in range(parts - 1):
        rest = rest - out[-1]
        out.append(round_to_bfloat16(rest))
    return out


def current_precision() -> str:
    """The precision of the compiled program running on this thread, else the device's (``fallback_precision``).

    Example:
        >>> with MxuContext("HIGH", None):
        ...     current_precision()
        'HIGH'
    """
    return getattr(_context, "precision", None) or fallback_precision()


class MxuContext:
    """While active on this thread: matrix products use ``precision`` and append ``(batch, m, n, k)`` to
    ``gemms`` (the compiler's record of what an op asked of the MXU).

    Example:
        >>> with MxuContext("DEFAULT", []) as ctx:
        ...     _ = mxu_matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
        >>> ctx.gemms
        [(1, 2, 4, 3)]
    """

    def __init__(self, precision: str, gemms: list | None) -> None:
        self.precision, self.gemms = precision, gemms

    def __enter__(self) -> "MxuContext":
        self._saved = (getattr(_context, "precision", None), getattr(_context, "gemms", None))
        _context.precision, _context.gemms = self.precision, self.gemms
        return self

    def __exit__(self, *exc: Any) -> None:
        _context.precision, _context.gemms = self._saved


# The precision outside a compiled program (the ``compile`` pass switched off); the device installs its own.
fallback_precision: Callable[[], str] = lambda: "DEFAULT"


def mxu_matmul(a: Any, b: Any) -> np.ndarray:
    """``numpy.matmul`` as the MXU computes it at the current precision (float operands; others exact).

    Example:
        >>> a = np.array([[1 + 2**-8 + 2**-9]], np.float32)
        >>> float(mxu_matmul(a, np.ones((1, 1), np.float32))[0, 0])
        1.0078125
    """
    a, b = np.asarray(a), np.asarray(b)
    result_type = np.result_type(a.dtype, b.dtype)
    gemms = getattr(_context, "gemms", None)
    if gemms is not None and a.ndim >= 1 and b.ndim >= 1:
        gemms.append(_gemm_shape(a.shape, b.shape))
    if result_type.kind not in "fV" or result_type == np.float64:
        return np.matmul(a, b)  # integers are exact on the MXU too; float64 never reaches it (unclaimed)
    precision = current_precision()
    parts = _PARTS[precision]
    a_parts = split_bfloat16(a, parts)
    b_parts = split_bfloat16(b, parts)
    total = None
    for i, j in _PRODUCTS[precision]:
        product = _f32_matmul(a_parts[i], b_parts[j])  # exact products of bfloat16 values, float32 sums
        total = product if total is None else total + product
    return total.astype(result_type, copy=False)


_K_BLOCK = 4096


def _f32_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``matmul`` in float32, summing long inner dimensions block by block (as the MXU accumulates partial sums),
    which also keeps BLAS off its slow path for a small product of a very long reduction."""
    k = a.shape[-1]
    if a.ndim < 2 or b.ndim < 2 or k <= 2 * _K_BLOCK or k < 8 * max(a.shape[-2], b.shape[-1]):
        return np.matmul(a, b)
    total = np.matmul(a[..., :_K_BLOCK], b[..., :_K_BLOCK, :])
    for start in range(_K_BLOCK, k, _K_BLOCK):
        total += np.matmul(a[..., start:start + _K_BLOCK], b[..., start:start + _K_BLOCK, :])
    return total


def _gemm_shape(a_shape: tuple, b_shape: tuple) -> tuple:
    """``(batch, m, n, k)`` of ``matmul(a, b)`` by numpy's rules (a 1-D operand is a row or a column)."""
    a2 = a_shape if len(a_shape) > 1 else (1,) + tuple(a_shape)
    b2 = b_shape if len(b_shape) > 1 else tuple(b_shape) + (1,)
    batch = math.prod(np.broadcast_shapes(tuple(a2[:-2]), tuple(b2[:-2])))
    return batch, a2[-2], b2[-1], a2[-1]


def _isdtype(dtype: Any, kind: Any) -> bool:
    """``numpy.isdtype``, which also knows bfloat16 (a real floating dtype)."""
    if np.dtype(dtype) != BFLOAT16:
        return np.isdtype(dtype, kind)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return any(k in ("real floating", "numeric") or (not isinstance(k, str) and np.dtype(k) == BFLOAT16)
               for k in kinds)


def _finfo(dtype: Any) -> Any:
    """``numpy.finfo``, which also knows bfloat16."""
    return ml_dtypes.finfo(dtype) if np.dtype(getattr(dtype, "dtype", dtype)) == BFLOAT16 else np.finfo(dtype)


def _namespace() -> types.SimpleNamespace:
    """numpy as an array namespace whose ``matmul`` is the MXU's, with bfloat16 (which numpy lacks)."""
    names = {name: getattr(np, name) for name in dir(np) if not name.startswith("__")}
    names.update(matmul=mxu_matmul, bfloat16=ml_dtypes.bfloat16, isdtype=_isdtype, finfo=_finfo,
                 __name__="tensorflux_tpu_sim.numerics.MXU_NUMPY")
    return types.SimpleNamespace(**names)


MXU_NUMPY = _namespace()
