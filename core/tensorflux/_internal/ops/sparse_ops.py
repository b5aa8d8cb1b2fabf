"""Row-sparse ops: ``Unique``, ``UnsortedSegmentSum`` and the ``Scatter*`` variable updates, as TF 1.x.

They carry sparse gradients (``tf.IndexedSlices``): densifying sums values into rows with
``UnsortedSegmentSum``, optimizers merge duplicate indices with ``Unique`` + ``UnsortedSegmentSum`` and write
only the touched rows of a variable with ``ScatterAdd`` / ``ScatterSub`` / ``ScatterUpdate``. Each Scatter op
outputs the variable's new value, as the Apply* updates do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .common import define, gradient, not_differentiable

_IDX = (dt.int32, dt.int64)


def _unique_shape(op: Any) -> list:
    x = op.inputs[0].shape
    if x.rank not in (None, 1):
        raise ValueError(f"Unique '{op.name}': x must be a vector, got shape {x}")
    return [TensorShape([None]), x if x.rank is not None else TensorShape([None])]


define("Unique", ["x: T"], ["y: T", "idx: out_idx"], {"T": "type", "out_idx": ("type", "int32", _IDX)},
       shape=_unique_shape, doc="The distinct entries of a vector in order of first appearance, and each entry's index.")
not_differentiable("Unique")


def _segment_sum_shape(op: Any) -> TensorShape:
    data, ids, n = op.inputs[0].shape, op.inputs[1].shape, constant_value(op.inputs[2])
    if data.rank is None or ids.rank is None:
        return TensorShape(None)
    if not TensorShape(data.dims[:ids.rank]).is_compatible_with(ids):
        raise ValueError(f"UnsortedSegmentSum '{op.name}': segment_ids of shape {ids} must be a prefix of the data "
                         f"shape {data}")
    return TensorShape([None if n is None else int(n)] + list(data.dims[ids.rank:]))


define("UnsortedSegmentSum", ["data: T", "segment_ids: Tindices", "num_segments: Tnumsegments"], ["output: T"],
       {"T": ("type", None, dt.NUMERIC), "Tindices": ("type", "int32", _IDX),
        "Tnumsegments": ("type", "int32", _IDX)}, shape=_segment_sum_shape)


@gradient("UnsortedSegmentSum")
def _unsorted_segment_sum_grad(op: Any, grad: Tensor) -> list:
    # Each data row received the gradient of the segment it was summed into.
    return [apply_op("GatherV2", grad, op.inputs[1], np.array(0, np.int32), batch_dims=0)[0], None, None]


def _scatter_shape(op: Any) -> TensorShape:
    ref, indices, updates = (t.shape for t in op.inputs)
    if ref.rank is not None and indices.rank is not None and ref.rank > 0:
        expected = TensorShape(list(indices.dims) + list(ref.dims[1:]))
        if not updates.is_compatible_with(expected):
            raise ValueError(f"{op.type} '{op.name}': updates must have shape indices.shape + variable.shape[1:] = "
                             f"{expected} for variable '{op.inputs[0].op.name}' of shape {ref}, got {updates}")
    return ref


for _name, _what in (("ScatterAdd", "adds"), ("ScatterSub", "subtracts"), ("ScatterUpdate", "writes")):
    define(_name, ["ref: ref T", "indices: Tindices", "updates: T"], ["output_ref: T"],
           {"T": ("type", None, dt.NUMERIC) if _name != "ScatterUpdate" else "type",
            "Tindices": ("type", "int32", _IDX), "use_locking": ("bool", _name == "ScatterUpdate")},
           shape=_scatter_shape, stateful=True, differentiable=False,
           doc=f"{_name} {_what} updates[i] into row indices[i] of the variable; duplicate indices accumulate.")


def unique(x: Any, out_idx: Any = dt.int32, name: str | None = None) -> tuple:
    """``(y, idx)``: the distinct entries of vector ``x`` in order of first appearance, and ``x == y[idx]``.

    Example:
        >>> import tensorflux as tf
        >>> y, idx = tf.unique([4, 1, 4, 2])
        >>> [v.tolist() for v in tf.Session().run([y, idx])]
        [[4, 1, 2], [0, 1, 0, 2]]
    """
    y, idx = apply_op("Unique", x, out_idx=dt.as_dtype(out_idx), name=name)
    return y, idx


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: Any, name: str | None = None) -> Tensor:
    """Row ``j`` of the result sums the rows of ``data`` whose ``segment_ids`` entry is ``j`` (zeros when none).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.unsorted_segment_sum([1.0, 2.0, 3.0], [2, 0, 2], 3)).tolist()
        [2.0, 0.0, 4.0]
    """
    return apply_op("UnsortedSegmentSum", data, segment_ids, num_segments, name=name)[0]


def _scatter(op_type: str, ref: Any, indices: Any, updates: Any, use_locking: bool, name: str | None) -> Tensor:
    target = ref._ref if hasattr(ref, "_ref") else ref
    if not isinstance(target, Tensor):
        raise TypeError(f"{op_type}: ref must be a tf.Variable, got {type(ref).__name__} {ref!r}")
    if target.dtype is dt.resource:  # a resource variable TF wrote: its own scatter op, then a read of the new value
        if not hasattr(ref, "_resource_scatter"):
            raise TypeError(f"{op_type}: ref '{target.name}' is a resource handle; pass its tf.Variable")
        return ref._resource_scatter(op_type, indices, updates, name)
    updates = convert_to_tensor(updates, dtype=target.dtype)
    return apply_op(op_type, target, indices, updates, use_locking=use_locking, name=name)[0]


def scatter_add(ref: Any, indices: Any, updates: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
    """Add ``updates[i]`` to row ``indices[i]`` of variable ``ref`` (duplicates accumulate); the new value.

    Example:
        >>> import tensorflux as tf
        >>> v = tf.Variable([1.0, 1.0, 1.0])
        >>> with tf.Session() as sess:
        ...     sess.run(v.initializer)
        ...     sess.run(tf.scatter_add(v, [2, 2], [5.0, 1.0])).tolist()
        [1.0, 1.0, 7.0]
    """
    return _scatter("ScatterAdd", ref, indices, updates, use_locking, name)


def scatter_sub(ref: Any, indices: Any, updates: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
    """Subtract ``updates[i]`` from row ``indices[i]`` of variable ``ref`` (duplicates accumulate); the new value.

    Example:
        >>> import tensorflux as tf
        >>> v = tf.Variable([1.0, 1.0])
        >>> with tf.Session() as sess:
        ...     sess.run(v.initializer)
        ...     sess.run(tf.scatter_sub(v, [0], [3.0])).tolist()
        [-2.0, 1.0]
    """
    return _scatter("ScatterSub", ref, indices, updates, use_locking, name)


def scatter_update(ref: Any, indices: Any, updates: Any, use_locking: bool = True, name: str | None = None) -> Tensor:
    """Write ``updates[i]`` into row ``indices[i]`` of variable ``ref``; the new value.

    Example:
        >>> import tensorflux as tf
        >>> v = tf.Variable([[1.0], [2.0]])
        >>> with tf.Session() as sess:
        ...     sess.run(v.initializer)
        ...     sess.run(tf.scatter_update(v, [1], [[9.0]])).tolist()
        [[1.0], [9.0]]
    """
    return _scatter("ScatterUpdate", ref, indices, updates, use_locking, name)
