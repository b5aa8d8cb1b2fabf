"""Kernels of the scan, reversal, n-d scatter and gather, diagonal, resize, space/depth and LRN ops.

Cumsum and Cumprod are numpy's cumulative functions; the others are core's reference kernels over numpy as
they are (whole-array numpy expressions, index lists computed once per call), which is what these rarely hot
ops need on the cpu.
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import reference_kernels

_LOW_PRECISION = ("float16", "bfloat16")
_REFERENCE = ("ReverseV2", "ReverseSequence", "ScatterNd", "TensorScatterUpdate", "TensorScatterAdd",
              "TensorScatterSub", "BroadcastTo", "LinSpace", "InvertPermutation", "MatrixBandPart", "MatrixDiag",
              "MatrixDiagPart", "MatrixSetDiag", "Diag", "DiagPart", "ResizeBilinear", "ResizeBilinearGrad",
              "ResizeNearestNeighbor", "ResizeNearestNeighborGrad", "SpaceToDepth", "DepthToSpace", "LRN", "LRNGrad")


def _scan(accumulate, identity):
    def kernel(x, axis, *, exclusive, reverse):
        a = int(axis)
        if not -x.ndim <= a < max(x.ndim, 1) or x.ndim == 0:
            raise ValueError(f"axis {a} is out of range for a tensor of rank {x.ndim}")
        src = np.flip(x, a) if reverse else x
        # Half-precision floats accumulate in float32, then round once.
        wide = np.float32 if x.dtype.name in _LOW_PRECISION else x.dtype
        with np.errstate(over="ignore", invalid="ignore"):
            out = accumulate(src, axis=a, dtype=wide)
        if exclusive and x.shape[a]:
            lead = np.full_like(np.take(out, [0], axis=a), identity)
            out = np.concatenate([lead, np.delete(out, -1, axis=a)], axis=a)
        out = out.astype(x.dtype, copy=False)
        return np.flip(out, a) if reverse else out

    kernel.__name__ = kernel.__qualname__ = accumulate.__name__
    return kernel


def gather_nd(params, indices):
    """One vectorized take: the reference kernel reads the indices one by one, through the array API."""
    k = indices.shape[-1]
    if k > params.ndim:
        raise ValueError(f"GatherNd: index depth {k} exceeds the rank of params {list(params.shape)}")
    count = int(np.prod(indices.shape[:-1], dtype=np.int64))
    tuples = indices.reshape(count, k).astype(np.int64)
    lead = params.shape[:k]
    if k and tuples.size:
        bad = ((tuples < 0) | (tuples >= np.array(lead, np.int64))).any(axis=1)
        if bad.any():
            raise IndexError(f"GatherNd: index {tuples[bad][0].tolist()} is out of bounds for the leading "
                             f"dimensions {list(lead)}")
        rows = np.ravel_multi_index(tuple(tuples.T), lead)
    else:
        rows = np.zeros(len(tuples), np.int64)
    block = params.reshape((int(np.prod(lead, dtype=np.int64)),) + params.shape[k:])
    return np.take(block, rows, axis=0).reshape(indices.shape[:-1] + params.shape[k:])


def _kernels():
    table = reference_kernels(np)
    kernels = {op: table[op] for op in _REFERENCE}
    kernels.update({"Cumsum": _scan(np.cumsum, 0), "Cumprod": _scan(np.cumprod, 1), "GatherNd": gather_nd})
    return kernels


KERNELS = _kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
