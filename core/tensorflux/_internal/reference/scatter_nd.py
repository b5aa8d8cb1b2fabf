"""Reference kernels of GatherNd (over ``xp``) and of ScatterNd and the TensorScatter* ops (host kernels: the
array API has no scatter with accumulation, numpy's ``ufunc.at`` has)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..host_adapter import host_kernel
from .common import host_ints


def _prod(dims: Any) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _linear(op: str, tuples: list, dims: tuple) -> list:
    """Each index tuple as a row number of the ``dims``-shaped leading block, checked to be in range."""
    rows = []
    for t in tuples:
        if any(not 0 <= i < d for i, d in zip(t, dims)):
            raise IndexError(f"{op}: index {list(t)} is out of bounds for the leading dimensions {list(dims)}")
        row = 0
        for i, d in zip(t, dims):
            row = row * d + i
        rows.append(row)
    return rows


def linear_rows(op: str, indices: np.ndarray, shape: tuple) -> tuple:
    """(row number of each index tuple in the leading ``k`` dimensions of ``shape``, k), checked to be in range.

    Example:
        >>> linear_rows("GatherNd", np.array([[1, 2], [0, 0]]), (2, 3, 5))[0].tolist()
        [5, 0]
    """
    k = indices.shape[-1]
    if k > len(shape):
        raise ValueError(f"{op}: index depth {k} exceeds the rank {len(shape)} of shape {list(shape)}")
    tuples = indices.reshape(_prod(indices.shape[:-1]), k).astype(np.int64)
    if not k or not tuples.size:
        return np.zeros(len(tuples), np.int64), k
    dims = np.array(shape[:k], np.int64)
    bad = ((tuples < 0) | (tuples >= dims)).any(axis=1)
    if bad.any():
        raise IndexError(f"{op}: index {tuples[bad][0].tolist()} is out of bounds for the leading dimensions "
                         f"{dims.tolist()}")
    return np.ravel_multi_index(tuple(tuples.T), tuple(dims.tolist())).astype(np.int64), k


def _scatter_into(op: str, base: np.ndarray, indices: np.ndarray, updates: np.ndarray, combine: Any) -> np.ndarray:
    linear, k = linear_rows(op, indices, base.shape)
    rest = base.shape[k:]
    expected = indices.shape[:-1] + rest
    if updates.shape != expected:
        raise ValueError(f"{op}: updates must have shape {list(expected)}, got {list(updates.shape)}")
    rows = base.reshape((_prod(base.shape[:k]),) + rest)
    values = updates.reshape((linear.size,) + rest).astype(base.dtype, copy=False)
    if combine is None:
        rows[linear] = values  # repeated indices: the last update wins (TF leaves the order unspecified)
    else:
        combine.at(rows, linear, values)
    return base


def scatter_nd(indices, updates, shape):
    base = np.zeros(tuple(int(d) for d in np.reshape(shape, -1)), updates.dtype)
    return _scatter_into("ScatterNd", base, indices, updates, np.add)


def _tensor_scatter(op: str, combine: Any) -> Callable:
    def kernel(tensor, indices, updates):
        return _scatter_into(op, np.array(tensor, copy=True), indices, updates, combine)

    kernel.__name__ = kernel.__qualname__ = op
    return kernel


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for GatherNd, ScatterNd and the TensorScatter* ops.

    Example:
        >>> import numpy as np
        >>> kernels(np)["GatherNd"](np.array([[1, 2], [3, 4]]), np.array([[1, 0]])).tolist()
        [3]
    """

    def gather_nd(params, indices):
        k = indices.shape[-1]
        if k > params.ndim:
            raise ValueError(f"GatherNd: index depth {k} exceeds the rank of params {tuple(params.shape)}")
        lead, rest = tuple(params.shape[:k]), tuple(params.shape[k:])
        flat = host_ints(indices)
        tuples = [flat[i:i + k] for i in range(0, len(flat), k)] if k else [[] for _ in range(_prod(indices.shape[:-1]))]
        rows = _linear("GatherNd", tuples, lead)
        block = xp.reshape(params, (_prod(lead), *rest))
        taken = xp.take(block, xp.asarray(rows, dtype=xp.int64, device=params.device), axis=0)
        return xp.reshape(taken, (*indices.shape[:-1], *rest))

    host = {"ScatterNd": scatter_nd, "TensorScatterUpdate": _tensor_scatter("TensorScatterUpdate", None),
            "TensorScatterAdd": _tensor_scatter("TensorScatterAdd", np.add),
            "TensorScatterSub": _tensor_scatter("TensorScatterSub", np.subtract)}
    return {"GatherNd": gather_nd, **{op: host_kernel(fn) for op, fn in host.items()}}

