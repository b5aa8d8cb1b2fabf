"""Op-info entries of the array ops: creation, shape manipulation, joining and splitting, slicing, gathering,
padding, one_hot and selection.

Data movement admits every dtype, strings included; inputs are distinct per element (domain
``distinct``), so a misplaced element shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import ALL, BOOL, FLOATING, INDEX, NUMERIC, UNARY_SHAPES, OpInfo


def _moves(op: str, fn: Any, reference: Any, cases: list, differentiable: bool = True, **kwargs: Any) -> list[OpInfo]:
    """One entry per ``(variant, shapes, attrs)`` of ``cases``, over every dtype, on distinct values."""
    return [OpInfo(op, fn, reference, dtypes=ALL, shapes=shapes, attrs=attrs, variant=variant, domain="distinct",
                   differentiable=differentiable, **kwargs) for variant, shapes, attrs in cases]


def _reshape(x: Any, shape: Any) -> Any:
    return tf.reshape(x, shape)


def _transpose(x: Any, perm: Any) -> Any:
    return tf.transpose(x, perm)


RESHAPE = _moves("Reshape", _reshape, lambda x, shape: x.reshape(shape), [
    ("flat", UNARY_SHAPES, [{"shape": [-1]}]),
    ("", [(2, 3, 2)], [{"shape": [3, -1]}, {"shape": [2, 6]}]),
    ("to-scalar", [(1,)], [{"shape": []}]),
    ("empty", [(0, 3)], [{"shape": [-1, 3]}]),
])
TRANSPOSE = _moves("Transpose", _transpose, lambda x, perm: np.transpose(x, perm), [
    ("reverse", [(), (5,), (2, 3), (0, 3), (2, 3, 4)], [{"perm": None}]),
    ("", [(2, 3, 4)], [{"perm": [1, 0, 2]}, {"perm": [2, 0, 1]}]),
])
EXPAND_SQUEEZE = _moves("ExpandDims", lambda x, axis: tf.expand_dims(x, axis), np.expand_dims, [
    ("", [(), (2,), (2, 3)], [{"axis": 0}, {"axis": -1}]),
    ("middle", [(2, 3)], [{"axis": 1}]),
]) + _moves("Squeeze", lambda x, axis: tf.squeeze(x, axis), lambda x, axis: np.squeeze(x, _tuple(axis)), [
    ("all", [(1, 3, 1), (1, 1), (2, 3)], [{"axis": None}]),
    ("", [(1, 3, 1)], [{"axis": [0]}, {"axis": -1}, {"axis": [0, 2]}]),
])


def _tuple(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _concat(*xs: Any, axis: int) -> Any:
    return tf.concat(list(xs), axis)


def _stack(*xs: Any, axis: int) -> Any:
    return tf.stack(list(xs), axis=axis)


JOIN = _moves("ConcatV2", _concat, lambda *xs, axis: np.concatenate(xs, axis), [
    ("", [((2, 3), (1, 3)), ((0, 3), (2, 3)), ((2, 3), (2, 3), (2, 3))], [{"axis": 0}]),
    ("last", [((2, 3), (2, 2)), ((2, 0), (2, 1))], [{"axis": -1}, {"axis": 1}]),
    ("vector", [((4,), (0,)), ((4,), (3,))], [{"axis": 0}]),
]) + _moves("Pack", _stack, lambda *xs, axis: np.stack(xs, axis), [
    ("", [((2, 3), (2, 3)), ((2, 3), (2, 3), (2, 3))], [{"axis": 0}, {"axis": 1}, {"axis": -1}]),
    ("vector", [((4,), (4,)), ((), ()), ((0,), (0,))], [{"axis": 0}]),
])


def _np_split(x: np.ndarray, splits: Any, axis: int) -> list:
    if isinstance(splits, int):
        return np.split(x, splits, axis=axis)
    sizes = list(splits)
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


SPLIT = _moves("Unpack", lambda x, axis: tf.unstack(x, axis=axis),
               lambda x, axis: [np.take(x, i, axis=axis) for i in range(x.shape[axis])], [
    ("", [(2, 3, 4)], [{"axis": 0}, {"axis": 1}, {"axis": -1}]),
    ("vector", [(2,)], [{"axis": 0}]),
]) + _moves("Split", lambda x, splits, axis: tf.split(x, splits, axis=axis), _np_split, [
    ("", [(2, 3)], [{"splits": 2, "axis": 0}, {"splits": 3, "axis": 1}, {"splits": 1, "axis": -1}]),
    ("wide", [(4, 6)], [{"splits": 2, "axis": 1}]),
]) + _moves("SplitV", lambda x, splits, axis: tf.split(x, splits, axis=axis), _np_split, [
    ("", [(2, 3)], [{"splits": [1, 2], "axis": 1}, {"splits": [1, -1], "axis": 1}, {"splits": [0, 3], "axis": -1}]),
])

TILE = _moves("Tile", lambda x, multiples: tf.tile(x, multiples), lambda x, multiples: np.tile(x, multiples), [
    ("", [(2, 3)], [{"multiples": [2, 1]}, {"multiples": [0, 2]}, {"multiples": [1, 3]}]),
    ("vector", [(3,), (0,)], [{"multiples": [2]}]),
    ("scalar", [()], [{"multiples": []}]),
])


def _np_slice(x: np.ndarray, begin: list, size: list) -> np.ndarray:
    return x[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]


def _strided(x: Any, begin: list, end: list, strides: list, masks: dict, key: Any) -> Any:
    return tf.strided_slice(x, begin, end, strides, **masks)


# Python indexing of a tensor becomes one StridedSlice: every kind of key numpy accepts.
GETITEM_KEYS = [
    1, -1, slice(1, 3), slice(None, None, 2), slice(None, None, -1), slice(-2, None), slice(5, 1, -2),
    slice(1, 100), slice(-100, 2), slice(3, 1), (1, slice(None), -1), (Ellipsis, 1), (None, 1),
    (slice(None), None, 2), (Ellipsis, None), (1, Ellipsis, None, slice(0, 3)), (0, 0, 0),
    (-1, -2, slice(None, None, -3)), (slice(None, None, -2), slice(1, None, 2), slice(None, 2)),
    (Ellipsis,), (None, Ellipsis, None), (slice(0, 0), 1),
]
SLICE = _moves("Slice", lambda x, begin, size: tf.slice(x, begin, size), _np_slice, [
    ("", [(3, 4)], [{"begin": [1, 1], "size": [2, -1]}, {"begin": [1, 0], "size": [0, 2]},
                    {"begin": [0, 0], "size": [-1, -1]}]),
    ("3-D", [(2, 3, 4)], [{"begin": [0, 1, 1], "size": [2, 1, -1]}]),
]) + _moves("StridedSlice", lambda x, key: x[key], lambda x, key: x[key], [
    ("getitem", [(4, 5, 6)], [{"key": k} for k in GETITEM_KEYS]),
]) + _moves("StridedSlice", _strided, lambda x, begin, end, strides, masks, key: x[key], [
    ("masks", [(6, 4)], [
        {"begin": [1], "end": [5], "strides": [2], "masks": {}, "key": (slice(1, 5, 2),)},
        {"begin": [1], "end": [0], "strides": [2], "masks": {"end_mask": 1}, "key": (slice(1, None, 2),)},
        {"begin": [0, 2], "end": [0, 4], "strides": [1, 1], "masks": {"begin_mask": 1, "end_mask": 1},
         "key": (slice(None), slice(2, 4))},
        {"begin": [1, 0], "end": [2, 3], "strides": [1, 1], "masks": {"shrink_axis_mask": 1}, "key": (1, slice(0, 3))},
        {"begin": [0, 0], "end": [0, 2], "strides": [1, 1], "masks": {"new_axis_mask": 1}, "key": (None, slice(0, 2))},
        {"begin": [0, 1], "end": [0, 2], "strides": [1, 1], "masks": {"ellipsis_mask": 1},
         "key": (Ellipsis, slice(1, 2))},
        {"begin": [-1], "end": [-4], "strides": [-1], "masks": {}, "key": (slice(-1, -4, -1),)},
    ]),
])

GATHER = _moves("GatherV2", lambda x, indices, axis: tf.gather(x, indices, axis=axis),
                lambda x, indices, axis: np.take(x, indices, axis=axis), [
    ("", [(4, 3)], [{"indices": np.array([2, 0, 2], np.int32), "axis": 0},
                    {"indices": np.array([[1], [0]], np.int32), "axis": 1},
                    {"indices": np.array([2, 2], np.int64), "axis": -1},
                    {"indices": np.array(1, np.int32), "axis": 0},
                    {"indices": np.zeros(0, np.int32), "axis": 0}]),
    ("vector", [(4,)], [{"indices": np.array([3, 1], np.int64), "axis": 0}]),
])


def _np_pad(x: np.ndarray, paddings: list, mode: str = "CONSTANT") -> np.ndarray:
    if mode == "CONSTANT":
        return np.pad(x, paddings, constant_values=b"" if x.dtype == object else x.dtype.type(0))
    return np.pad(x, paddings, mode=mode.lower())


PAD = _moves("Pad", lambda x, paddings: tf.pad(x, paddings), _np_pad, [
    ("", [(2, 3)], [{"paddings": [[1, 0], [0, 2]]}, {"paddings": [[0, 0], [0, 0]]}]),
    ("empty", [(0, 2)], [{"paddings": [[1, 1], [0, 0]]}]),
    ("vector", [(3,)], [{"paddings": [[2, 1]]}]),
]) + _moves("PadV2", lambda x, c, paddings: tf.pad(x, paddings, constant_values=c),
            lambda x, c, paddings: np.pad(x, paddings, constant_values=c), [
    ("", [((2, 2), ())], [{"paddings": [[0, 1], [1, 0]]}]),
]) + _moves("MirrorPad", lambda x, paddings, mode: tf.pad(x, paddings, mode=mode), _np_pad, [
    ("", [(3, 3)], [{"paddings": [[1, 1], [2, 0]], "mode": "REFLECT"},
                    {"paddings": [[1, 1], [0, 3]], "mode": "SYMMETRIC"}]),
    ("vector", [(4,)], [{"paddings": [[3, 2]], "mode": "REFLECT"}]),
])


def _np_one_hot(on: np.ndarray, off: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    depth = 3
    out = np.full(indices.shape + (depth,), off, dtype=np.asarray(on).dtype)
    for pos in np.ndindex(indices.shape):
        if 0 <= indices[pos] < depth:
            out[pos + (int(indices[pos]),)] = on
    return out if axis == -1 else np.moveaxis(out, -1, axis)


ONE_HOT_INDICES = [np.array(1, np.int32), np.array([0, 2, 5, -1], np.int64), np.array([[0, 1, 2], [2, 1, 0]], np.uint8)]
CREATION = [
    OpInfo("Fill", lambda value, dims: tf.fill(dims, value), lambda value, dims: np.full(dims, value, value.dtype),
           dtypes=ALL, shapes=[()], attrs=[{"dims": d} for d in ([], [0], [3], [2, 3])], differentiable=False),
    OpInfo("Range", lambda start, limit, delta, dtype: tf.range(start, limit, delta, dtype=dtype),
           lambda start, limit, delta, dtype: np.arange(start, limit, delta, dtype=dtype.np_dtype),
           dtypes=INDEX + FLOATING[2:], shapes=[()], no_inputs=True, dtype_kwarg=True, differentiable=False,
           attrs=[{"start": a, "limit": b, "delta": c} for a, b, c in
                  ((0, 5, 1), (1, 10, 3), (5, 0, -2), (3, 1, 1), (0, 0, 1))]),
    OpInfo("Range", lambda start, limit, delta, dtype: tf.range(start, limit, delta, dtype=dtype),
           lambda start, limit, delta, dtype: np.arange(start, limit, delta, dtype=dtype.np_dtype),
           dtypes=FLOATING[2:], shapes=[()], no_inputs=True, dtype_kwarg=True, differentiable=False,
           variant="fractional", attrs=[{"start": a, "limit": b, "delta": c} for a, b, c in
                                        ((0, 1, 0.25), (0.5, 3, 1), (-3.0, 3.0, 1.5))]),
    OpInfo("OneHot", lambda on, off, indices, axis: tf.one_hot(indices, 3, on_value=on, off_value=off, axis=axis),
           _np_one_hot, dtypes=NUMERIC + BOOL, shapes=[((), ())], domain=("on", "off"), differentiable=False,
           attrs=[{"indices": i, "axis": a} for i in ONE_HOT_INDICES for a in (-1, 0)]),
]

INTROSPECTION = [
    OpInfo("Shape", lambda x, out_type: tf.shape(x, out_type=out_type),
           lambda x, out_type: np.array(x.shape, out_type.np_dtype), dtypes=ALL,
           attrs=[{"out_type": t} for t in INDEX], differentiable=False),
    OpInfo("Size", lambda x, out_type: tf.size(x, out_type=out_type),
           lambda x, out_type: np.array(x.size, out_type.np_dtype), dtypes=ALL,
           attrs=[{"out_type": t} for t in INDEX], differentiable=False),
    OpInfo("Rank", tf.rank, lambda x: np.array(x.ndim, np.int32), dtypes=ALL, differentiable=False),
]

WHERE_SHAPES = [((), (), ()), ((4,), (4,), (4,)), ((2, 1), (3,), ()), ((0, 2), (2,), (1, 2)), ((3,), (2, 3), (2, 1))]
SELECT = [
    OpInfo("SelectV2", tf.where, np.where, dtypes=ALL, shapes=WHERE_SHAPES, input_dtypes=(tf.bool,),
           domain=("any", "distinct", "distinct")),
    # Coordinates of the true (non-zero) elements; zeros are frequent in the coarse domain.
    OpInfo("Where", tf.where, lambda x: np.argwhere(x).astype(np.int64), dtypes=NUMERIC + BOOL, domain="coarse",
           shapes=[(5,), (2, 3), (0, 2), (2, 2, 2)], differentiable=False),
]

INFOS = RESHAPE + TRANSPOSE + EXPAND_SQUEEZE + JOIN + SPLIT + TILE + SLICE + GATHER + PAD + CREATION + INTROSPECTION \
    + SELECT
