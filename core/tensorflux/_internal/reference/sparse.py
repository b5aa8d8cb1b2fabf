"""Row-sparse reference kernels (Unique, UnsortedSegmentSum, Scatter*), run on the host through the host adapter.

The array API has no scatter, so these kernels copy to the host, compute with numpy and copy back: every device
gets them, and a device that runs them often overrides them with its own kernels.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import numpy as np

from .host import host_kernel


def unique(x: np.ndarray, *, out_idx: Any) -> tuple:
    """The distinct entries of ``x`` in order of first appearance (TF's order, not sorted), and ``x == y[idx]``."""
    x = np.asarray(x)
    values, first, inverse = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return values[order].astype(x.dtype, copy=False), rank[inverse.reshape(-1)].astype(out_idx.np_dtype)


def unsorted_segment_sum(data: np.ndarray, segment_ids: np.ndarray, num_segments: np.ndarray) -> np.ndarray:
    """Row ``j`` sums the rows of ``data`` whose id is ``j``; ids outside ``[0, num_segments)`` are dropped."""
    data, ids, n = np.asarray(data), np.asarray(segment_ids), int(num_segments)
    rows = data.reshape((ids.size,) + data.shape[ids.ndim:])
    flat = ids.reshape(-1)
    kept = (flat >= 0) & (flat < n)
    out = np.zeros((n,) + rows.shape[1:], dtype=data.dtype)
    np.add.at(out, flat[kept], rows[kept])
    return out


def _scatter(combine: Callable | None) -> Callable:
    def kernel(ref: Any, indices: np.ndarray, updates: np.ndarray, *, use_locking: bool) -> np.ndarray:
        with ref.lock if use_locking else contextlib.nullcontext():
            value = np.array(ref.read(), copy=True)
            flat = np.asarray(indices).reshape(-1)
            rows = np.asarray(updates, dtype=value.dtype).reshape((flat.size,) + value.shape[1:])
            if flat.size and (flat.min() < 0 or flat.max() >= value.shape[0]):
                raise IndexError(f"Scatter index out of range: indices must be in [0, {value.shape[0]}), got "
                                 f"{flat[(flat < 0) | (flat >= value.shape[0])][0]}")
            if combine is None:
                value[flat] = rows  # a duplicate index keeps the last row, as TF's CPU kernel
            else:
                combine.at(value, flat, rows)
            return ref.assign(value, True)

    return kernel


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the row-sparse ops, on any device through the host adapter (``xp`` is unused).

    Example:
        >>> import numpy as np
        >>> sorted(kernels(np))
        ['ScatterAdd', 'ScatterSub', 'ScatterUpdate', 'Unique', 'UnsortedSegmentSum']
    """
    host = {"Unique": unique, "UnsortedSegmentSum": unsorted_segment_sum, "ScatterAdd": _scatter(np.add),
            "ScatterSub": _scatter(np.subtract), "ScatterUpdate": _scatter(None)}
    return {op: host_kernel(fn) for op, fn in host.items()}
