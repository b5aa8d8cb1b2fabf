"""Op-info entries of the row-sparse ops: Unique, UnsortedSegmentSum and the Scatter* variable updates.

The Scatter cases index with duplicates (ScatterAdd/ScatterSub accumulate them) and check, through the
variable's value after each run, that the rows no index names keep their values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import NUMERIC, OpInfo
from .nn_ops import _op
from .state_ops import _ref, _variables


def _np_unique(x: np.ndarray) -> list:
    values, first, inverse = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # TF lists entries in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return [values[order], rank[inverse.reshape(-1)].astype(np.int32)]


def _np_segment_sum(data: np.ndarray, segment_ids: np.ndarray, num_segments: int) -> np.ndarray:
    out = np.zeros((num_segments,) + data.shape[segment_ids.ndim:], dtype=data.dtype)
    np.add.at(out, segment_ids, data)
    return out


def _scatter(op: str) -> Any:
    return lambda x, updates, indices: _op(op, _ref(_variables(x)[0]), indices, updates)


def _np_scatter(combine: Any) -> Any:
    def reference(x: np.ndarray, updates: np.ndarray, indices: np.ndarray) -> tuple:
        out = np.array(x, copy=True)
        if combine is None:
            out[indices] = updates
        else:
            combine.at(out, indices, updates)
        return out, out

    return reference


SEGMENT_IDS = [{"segment_ids": np.array([3, 0, 3, 1], np.int32), "num_segments": 5},
               {"segment_ids": np.array([1, 1, 1, 1], np.int64), "num_segments": 2}]
REPEATED = [{"indices": np.array([4, 0, 4, 2], np.int32)}, {"indices": np.array([1, 1, 1, 1], np.int64)}]
DISTINCT = [{"indices": np.array([4, 0, 2, 1], np.int32)}]
SCATTER_SHAPES = [((5, 3), (4, 3)), ((5,), (4,))]

INFOS = [
    OpInfo("Unique", lambda x: list(tf.unique(x)), _np_unique, dtypes=NUMERIC, shapes=[(7,), (0,)], domain="coarse",
           differentiable=False),
    OpInfo("UnsortedSegmentSum", lambda data, segment_ids, num_segments: tf.unsorted_segment_sum(
        data, segment_ids, num_segments), _np_segment_sum, dtypes=NUMERIC, shapes=[(4, 3), (4,)], attrs=SEGMENT_IDS,
        differentiable=False),
    OpInfo("ScatterAdd", _scatter("ScatterAdd"), _np_scatter(np.add), dtypes=NUMERIC, shapes=SCATTER_SHAPES,
           attrs=REPEATED, kind="state", differentiable=False),
    OpInfo("ScatterSub", _scatter("ScatterSub"), _np_scatter(np.subtract), dtypes=NUMERIC, shapes=SCATTER_SHAPES,
           attrs=REPEATED, kind="state", differentiable=False),
    OpInfo("ScatterUpdate", _scatter("ScatterUpdate"), _np_scatter(None), dtypes=NUMERIC, shapes=SCATTER_SHAPES,
           attrs=DISTINCT, kind="state", differentiable=False),
]
