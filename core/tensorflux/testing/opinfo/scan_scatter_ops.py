"""Op-info entries of the scans and reversals (Cumsum, Cumprod, ReverseV2, ReverseSequence), the n-d gathers and
scatters (GatherNd, ScatterNd, TensorScatter*), BroadcastTo, LinSpace, InvertPermutation and the diagonal and band
ops (MatrixBandPart, MatrixDiag, MatrixDiagPart, MatrixSetDiag, Diag, DiagPart).

References are numpy, written element by element where numpy has no single function, so that they share
no code with the kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import ALL, BOOL, FLOATING, INDEX, NUMERIC, OpInfo

MOVABLE = NUMERIC + BOOL  # data movement that zero-fills: strings have no zero the kernels share


def _scan_reference(combine: Any, identity: float) -> Any:
    def reference(x: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
        axis %= x.ndim
        src = np.flip(x, axis) if reverse else x
        out = np.empty_like(src)
        for index in np.ndindex(*src.shape):
            i = index[axis]
            total = np.array(identity, src.dtype)
            for k in range(i if exclusive else i + 1):
                total = combine(total, src[index[:axis] + (k,) + index[axis + 1:]])
            out[index] = total
        return np.flip(out, axis) if reverse else out

    return reference


SCAN_ATTRS = [{"axis": 0, "exclusive": False, "reverse": False}, {"axis": -1, "exclusive": True, "reverse": False},
              {"axis": 0, "exclusive": False, "reverse": True}, {"axis": -1, "exclusive": True, "reverse": True}]
SCANS = [
    OpInfo(op, lambda x, axis, exclusive, reverse, fn=fn: fn(x, axis, exclusive=exclusive, reverse=reverse),
           _scan_reference(combine, identity), shapes=[(5,), (2, 3)], attrs=SCAN_ATTRS, domain=domain)
    for op, fn, combine, identity, domain in (("Cumsum", tf.cumsum, np.add, 0, "coarse"),
                                              ("Cumprod", tf.cumprod, np.multiply, 1, "prod"))
] + [
    OpInfo(op, lambda x, axis, fn=fn: fn(x, axis), lambda x, axis: x, dtypes=FLOATING, shapes=[(0, 3), (2, 0)],
           attrs=[{"axis": 0}, {"axis": 1}], variant="empty")
    for op, fn in (("Cumsum", tf.cumsum), ("Cumprod", tf.cumprod))
]


def _reverse_sequence(x: np.ndarray, lengths: np.ndarray, seq_axis: int, batch_axis: int) -> np.ndarray:
    out = x.copy()
    for index in np.ndindex(*x.shape):
        n, t = int(lengths[index[batch_axis]]), index[seq_axis]
        if t < n:
            out[index] = x[index[:seq_axis] + (n - 1 - t,) + index[seq_axis + 1:]]
    return out


REVERSALS = [
    OpInfo("ReverseV2", lambda x, axis: tf.reverse(x, axis), lambda x, axis: np.flip(x, tuple(axis)), dtypes=ALL,
           shapes=[(2, 3), (2, 0, 3)], domain="distinct", attrs=[{"axis": a} for a in ([0], [-1], [0, 1], [])]),
    OpInfo("ReverseV2", lambda x, axis: tf.reverse(x, axis), lambda x, axis: np.flip(x, tuple(axis)), dtypes=ALL,
           shapes=[(4,)], domain="distinct", attrs=[{"axis": np.array([0], np.int64)}], variant="vector"),
    OpInfo("ReverseSequence", lambda x, lengths, seq_axis, batch_axis: tf.reverse_sequence(x, lengths, seq_axis,
                                                                                             batch_axis),
           _reverse_sequence, dtypes=ALL, shapes=[(3, 4, 2)], domain="distinct",
           attrs=[{"lengths": np.array([0, 4, 2], np.int64), "seq_axis": 1, "batch_axis": 0},
                  {"lengths": np.array([1, 3, 2, 2], np.int32), "seq_axis": 0, "batch_axis": 1}]),
]


def _gather_nd(params: np.ndarray, indices: np.ndarray) -> np.ndarray:
    k = indices.shape[-1]
    tuples = indices.reshape(-1, k) if k else [()] * int(np.prod(indices.shape[:-1]))
    rows = [params[tuple(int(i) for i in t)] for t in tuples]
    return np.array(rows, dtype=params.dtype).reshape(indices.shape[:-1] + params.shape[k:])


def _scatter(base: np.ndarray, indices: np.ndarray, updates: np.ndarray, how: str) -> np.ndarray:
    out = base.copy()
    k = indices.shape[-1]
    slices = updates.reshape((-1,) + base.shape[k:])
    for t, u in zip(indices.reshape(-1, k), slices):
        at = tuple(int(i) for i in t)
        out[at] = u if how == "update" else (out[at] + u if how == "add" else out[at] - u)
    return out


GATHER_INDICES = [np.array([[1, 0], [0, 2], [1, 2]], np.int32), np.array([[1], [0], [1]], np.int64),
                  np.array([[[0, 1, 1]], [[1, 0, 0]]], np.int32), np.zeros((2, 0), np.int64)]
SCATTER_CASES = [  # (indices, updates' shape, output shape): repeated indices add up
    (np.array([[1], [3], [1]], np.int32), (3, 2), [4, 2]),
    (np.array([[0, 1], [2, 0], [0, 1]], np.int64), (3,), [3, 2]),
    (np.array([[[1, 1]], [[0, 0]]], np.int32), (2, 1, 3), [2, 2, 3]),
]
TENSOR_SCATTER_CASES = [  # (tensor and updates shapes, indices): distinct indices, so any update order agrees
    (((4, 2), (2, 2)), np.array([[3], [0]], np.int32)),
    (((3, 2), (2,)), np.array([[2, 1], [0, 0]], np.int64)),
]
SCATTERS = [
    OpInfo("GatherNd", lambda x, indices: tf.gather_nd(x, indices), _gather_nd, dtypes=ALL, shapes=[(2, 3, 2)],
           domain="distinct", attrs=[{"indices": i} for i in GATHER_INDICES]),
    OpInfo("ScatterNd", lambda updates, indices, shape: tf.scatter_nd(indices, updates, shape),
           lambda updates, indices, shape: _scatter(np.zeros(shape, updates.dtype), indices, updates, "add"),
           dtypes=NUMERIC, shapes=[u for _, u, _ in SCATTER_CASES[:1]], domain="coarse",
           attrs=[{"indices": SCATTER_CASES[0][0], "shape": SCATTER_CASES[0][2]}]),
] + [
    OpInfo("ScatterNd", lambda updates, indices, shape: tf.scatter_nd(indices, updates, shape),
           lambda updates, indices, shape: _scatter(np.zeros(shape, updates.dtype), indices, updates, "add"),
           dtypes=NUMERIC, shapes=[updates], domain="coarse", attrs=[{"indices": indices, "shape": shape}],
           variant=f"case{n}")
    for n, (indices, updates, shape) in enumerate(SCATTER_CASES[1:], 1)
] + [
    OpInfo(op, lambda x, u, indices, fn=fn: fn(x, indices, u),
           lambda x, u, indices, how=how: _scatter(x, indices, u, how), dtypes=NUMERIC, shapes=[shapes],
           domain="coarse", attrs=[{"indices": indices}], variant=f"case{n}" if n else "")
    for op, fn, how in (("TensorScatterUpdate", tf.tensor_scatter_update, "update"),
                        ("TensorScatterAdd", tf.tensor_scatter_add, "add"),
                        ("TensorScatterSub", tf.tensor_scatter_sub, "sub"))
    for n, (shapes, indices) in enumerate(TENSOR_SCATTER_CASES)
]

CREATION = [
    OpInfo("BroadcastTo", lambda x, shape: tf.broadcast_to(x, shape), lambda x, shape: np.broadcast_to(x, shape),
           dtypes=ALL, shapes=[(3,)], domain="distinct", attrs=[{"shape": s} for s in ([2, 3], [1, 3], [2, 2, 3])]),
    OpInfo("BroadcastTo", lambda x, shape: tf.broadcast_to(x, shape), lambda x, shape: np.broadcast_to(x, shape),
           dtypes=ALL, shapes=[(2, 1), ()], domain="distinct", attrs=[{"shape": [2, 4]}, {"shape": [0, 2, 4]}],
           variant="expand"),
    OpInfo("LinSpace", lambda start, stop, num, dtype: tf.linspace(tf.constant(start, dtype), tf.constant(stop, dtype),
                                                                   num),
           lambda start, stop, num, dtype: np.linspace(start, stop, num), dtypes=FLOATING, shapes=[()],
           no_inputs=True, dtype_kwarg=True, differentiable=False,
           attrs=[{"start": a, "stop": b, "num": n} for a, b, n in ((0.0, 1.0, 5), (-2.0, 3.0, 11), (1.5, -1.5, 4),
                                                                    (0.5, 7.0, 1))]),
    OpInfo("InvertPermutation", lambda perm, dtype: tf.invert_permutation(tf.constant(perm, dtype)),
           lambda perm, dtype: np.argsort(perm).astype(dtype.np_dtype), dtypes=INDEX, shapes=[()], no_inputs=True,
           dtype_kwarg=True, differentiable=False, attrs=[{"perm": p} for p in ([2, 0, 1], [0], [3, 1, 0, 4, 2])]),
]


def _band(x: np.ndarray, lower: int, upper: int) -> np.ndarray:
    out = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        i, j = index[-2:]
        if (lower < 0 or i - j <= lower) and (upper < 0 or j - i <= upper):
            out[index] = x[index]
    return out


def _matrix_diag(d: np.ndarray) -> np.ndarray:
    out = np.zeros(d.shape + d.shape[-1:], d.dtype)
    for index in np.ndindex(*d.shape):
        out[index + index[-1:]] = d[index]
    return out


def _diag_part(x: np.ndarray) -> np.ndarray:
    k = min(x.shape[-2:])
    return np.stack([x[..., i, i] for i in range(k)], axis=-1) if k else np.zeros(x.shape[:-2] + (0,), x.dtype)


def _set_diag(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    out = x.copy()
    for i in range(d.shape[-1]):
        out[..., i, i] = d[..., i]
    return out


DIAG_T = (tf.bfloat16, tf.float16, tf.float32, tf.float64, tf.int32, tf.int64)
MATRIX = [
    OpInfo("MatrixBandPart", lambda x, lower, upper: tf.matrix_band_part(x, lower, upper), _band, dtypes=MOVABLE,
           shapes=[(3, 4), (2, 4, 3)], domain="distinct",
           attrs=[{"lower": a, "upper": b} for a, b in ((0, -1), (-1, 0), (1, 1), (0, 0), (-1, -1))]),
    OpInfo("MatrixDiag", tf.matrix_diag, _matrix_diag, dtypes=MOVABLE, shapes=[(3,), (2, 3), (0,)],
           domain="distinct"),
    OpInfo("MatrixDiagPart", tf.matrix_diag_part, _diag_part, dtypes=MOVABLE, shapes=[(3, 4), (2, 3, 3), (4, 2)],
           domain="distinct"),
    OpInfo("MatrixSetDiag", tf.matrix_set_diag, _set_diag, dtypes=MOVABLE,
           shapes=[((3, 4), (3,)), ((2, 3, 3), (2, 3)), ((4, 2), (2,))], domain="distinct"),
    OpInfo("Diag", tf.diag, lambda d: _matrix_diag(d.reshape(-1)).reshape(d.shape * 2), dtypes=DIAG_T,
           shapes=[(3,), (2, 2)], domain="distinct"),
    OpInfo("DiagPart", tf.diag_part, lambda x: np.diagonal(x.reshape(int(np.sqrt(x.size)), -1)).reshape(
        x.shape[:x.ndim // 2]), dtypes=DIAG_T, shapes=[(3, 3), (2, 2, 2, 2)], domain="distinct"),
]

INFOS = SCANS + REVERSALS + SCATTERS + CREATION + MATRIX
