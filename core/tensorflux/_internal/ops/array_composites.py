"""Array functions of TF 1.x built (as TF builds them) from other ops, and the three small ops they add:
``BroadcastTo``, ``LinSpace`` and ``InvertPermutation``; ``meshgrid``, ``sequence_mask``, ``boolean_mask``,
``segment_sum`` and ``unsorted_segment_mean`` are compositions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, constant_shape, constant_value, convert_to_tensor
from ..shapes import TensorShape, broadcast_shapes
from . import array_ops
from .common import define, gradient, not_differentiable, same_shape

IDX = (dt.int32, dt.int64)


def _broadcast_to_shape(op: Any) -> TensorShape:
    src, target = op.inputs[0].shape, constant_shape(op.inputs[1])
    if src.rank is not None and target.rank is not None:
        merged = broadcast_shapes(src, target)
        if merged is None or merged.rank != target.rank or not merged.is_compatible_with(target):
            raise ValueError(f"BroadcastTo '{op.name}': a tensor of shape {src} does not broadcast to shape {target}")
        return TensorShape([t if t is not None else m for t, m in zip(target.dims, merged.dims)])
    return target


define("BroadcastTo", ["input: T", "shape: Tidx"], ["output: T"], {"T": "type", "Tidx": ("type", "int32", IDX)},
       shape=_broadcast_to_shape)


@gradient("BroadcastTo")
def _broadcast_to_grad(op: Any, grad: Tensor) -> list:
    from .math_ops import unbroadcast

    return [unbroadcast(grad, op.inputs[0]), None]


def _lin_space_shape(op: Any) -> TensorShape:
    for t, what in ((op.inputs[0], "start"), (op.inputs[1], "stop"), (op.inputs[2], "num")):
        if t.shape.rank not in (None, 0):
            raise ValueError(f"LinSpace '{op.name}': {what} must be a scalar, got shape {t.shape}")
    num = constant_value(op.inputs[2])
    if num is not None and int(num) <= 0:
        raise ValueError(f"LinSpace '{op.name}': num must be positive, got {int(num)}")
    return TensorShape([None if num is None else int(num)])


define("LinSpace", ["start: T", "stop: T", "num: Tidx"], ["output: T"],
       {"T": ("type", None, dt.FLOATING), "Tidx": ("type", "int32", IDX)}, shape=_lin_space_shape,
       differentiable=False)


def _invert_permutation_shape(op: Any) -> TensorShape:
    if op.inputs[0].shape.rank not in (None, 1):
        raise ValueError(f"InvertPermutation '{op.name}': x must be a vector, got shape {op.inputs[0].shape}")
    return same_shape(op)


define("InvertPermutation", ["x: T"], ["y: T"], {"T": ("type", "int32", IDX)}, shape=_invert_permutation_shape)
not_differentiable("InvertPermutation")


# -- Python wrappers ----------------------------------------------------------------------------------------
def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002 - TF's name
    """``input`` broadcast (numpy rules) to ``shape``; its gradient sums back over the broadcast dimensions.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.broadcast_to([1, 2], [2, 2]))
        array([[1, 2],
               [1, 2]], dtype=int32)
    """
    return apply_op("BroadcastTo", input, shape, name=name or "BroadcastTo")[0]


def linspace(start: Any, stop: Any, num: Any, name: str | None = None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop``, both included (op ``LinSpace``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.linspace(0.0, 1.0, 5))
        array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    start = convert_to_tensor(start)
    return apply_op("LinSpace", start, convert_to_tensor(stop, dtype=start.dtype), num, name=name or "LinSpace")[0]


lin_space = linspace


def invert_permutation(x: Any, name: str | None = None) -> Tensor:
    """The inverse of the permutation ``x``: ``y[x[i]] = i``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.invert_permutation([2, 0, 1]))
        array([1, 2, 0], dtype=int32)
    """
    return apply_op("InvertPermutation", convert_to_tensor(x), name=name or "InvertPermutation")[0]


def meshgrid(*args: Any, **kwargs: Any) -> list:
    """Coordinate grids from 1-D ``args``: ``indexing='xy'`` (default, Cartesian) or ``'ij'`` (matrix).

    Example:
        >>> import tensorflux as tf
        >>> x, y = tf.Session().run(tf.meshgrid([1, 2, 3], [4, 5]))
        >>> x.tolist(), y.tolist()
        ([[1, 2, 3], [1, 2, 3]], [[4, 4, 4], [5, 5, 5]])
    """
    from .math_ops import multiply

    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"meshgrid: unexpected keyword arguments {sorted(kwargs)} (it takes indexing and name)")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    with name_scope(name or "meshgrid"):
        ndim = len(args)
        ones_shape = (1,) * ndim
        # Each input as a column along its own axis; a product with ones of the full shape broadcasts it.
        output = [array_ops.reshape(array_ops.stack(x), ones_shape[:i] + (-1,) + ones_shape[i + 1:])
                  for i, x in enumerate(args)]
        sizes = [array_ops.size(x) for x in args]
        dtype = convert_to_tensor(args[0]).dtype
        if indexing == "xy" and ndim > 1:
            output[0] = array_ops.reshape(output[0], (1, -1) + (1,) * (ndim - 2))
            output[1] = array_ops.reshape(output[1], (-1, 1) + (1,) * (ndim - 2))
            sizes[0], sizes[1] = sizes[1], sizes[0]
        ones = array_ops.ones(array_ops.stack(sizes), dtype=dtype)
        return [multiply(x, ones) for x in output]


def sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = dt.bool_, name: str | None = None) -> Tensor:
    """``mask[..., j] = j < lengths[...]`` for j in ``[0, maxlen)`` (``maxlen`` defaults to the longest length).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.sequence_mask([1, 3], 4))
        array([[ True, False, False, False],
               [ True,  True,  True, False]])
    """
    from .math_ops import cast, less, maximum, reduce_max

    with name_scope(name or "SequenceMask"):
        lengths = convert_to_tensor(lengths)
        if maxlen is None:
            maxlen = maximum(np.array(0, lengths.dtype.np_dtype), reduce_max(lengths))
        else:
            maxlen = convert_to_tensor(maxlen)
        if maxlen.shape.rank not in (None, 0):
            raise ValueError(f"sequence_mask: maxlen must be a scalar, got shape {maxlen.shape}")
        row = apply_op("Range", np.array(0, maxlen.dtype.np_dtype), maxlen, np.array(1, maxlen.dtype.np_dtype))[0]
        # TF casts the lengths even to their own dtype: the same ops as TF's graph.
        column = apply_op("Cast", array_ops.expand_dims(lengths, -1), DstT=maxlen.dtype)[0]
        result = less(row, column)
        target = dt.as_dtype(dtype) if dtype is not None else dt.bool_
        return result if target is dt.bool_ else cast(result, target)


def boolean_mask(tensor: Any, mask: Any, name: str = "boolean_mask", axis: int | None = None) -> Tensor:
    """The entries of ``tensor`` where ``mask`` (matching dimensions ``axis`` onward) is True, flattened in order.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.boolean_mask([[1, 2], [3, 4], [5, 6]], [True, False, True]))
        array([[1, 2],
               [5, 6]], dtype=int32)
    """
    from .math_ops import reduce_prod

    with name_scope(name or "boolean_mask"):
        tensor = convert_to_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask")
        k = mask.shape.rank
        if k == 0:
            raise ValueError("boolean_mask: mask cannot be a scalar")
        if k is None:
            raise ValueError("boolean_mask: the rank of mask must be known statically")
        axis = 0 if axis is None else int(axis)
        shape_tensor = tensor.shape
        if shape_tensor.rank is not None:
            masked = TensorShape(shape_tensor.dims[axis:axis + k])
            if not masked.is_compatible_with(mask.shape):
                raise ValueError(f"boolean_mask: mask of shape {mask.shape} does not match dimensions {axis} to "
                                 f"{axis + k - 1} of tensor's shape {shape_tensor}")
        dynamic = array_ops.shape(tensor)
        leading = reduce_prod(dynamic[axis:axis + k], [0])
        flat_shape = array_ops.concat([dynamic[:axis], array_ops.stack([leading]), dynamic[axis + k:]], 0)
        tensor = array_ops.reshape(tensor, flat_shape)
        indices = array_ops.squeeze(array_ops.where(array_ops.reshape(mask, [-1])), axis=[1])
        return array_ops.gather(tensor, indices, axis=axis)


def segment_sum(data: Any, segment_ids: Any, name: str | None = None) -> Tensor:
    """Sums of the rows of ``data`` grouped by the sorted ``segment_ids`` (segment ``max(ids) + 1`` rows).

    Built on ``UnsortedSegmentSum`` (TF has an op of its own; the values and gradients agree).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.segment_sum([1, 2, 3, 4], [0, 0, 1, 3]))
        array([3, 3, 0, 4], dtype=int32)
    """
    from .math_ops import add, maximum, reduce_max
    from .sparse_ops import unsorted_segment_sum

    with name_scope(name or "SegmentSum"):
        ids = convert_to_tensor(segment_ids)
        zero = np.array(0, ids.dtype.np_dtype)
        count = maximum(add(reduce_max(ids), np.array(1, ids.dtype.np_dtype)), zero)
        return unsorted_segment_sum(data, ids, count)


def unsorted_segment_mean(data: Any, segment_ids: Any, num_segments: Any, name: str | None = None) -> Tensor:
    """Means of the rows of ``data`` grouped by ``segment_ids`` (empty segments give 0), as TF composes it.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.unsorted_segment_mean([1.0, 2.0, 6.0], [1, 1, 0], 3))
        array([6. , 1.5, 0. ], dtype=float32)
    """
    from .math_ops import divide, maximum
    from .sparse_ops import unsorted_segment_sum

    with name_scope(name or "UnsortedSegmentMean"):
        data = convert_to_tensor(data)
        ids = convert_to_tensor(segment_ids)
        n = convert_to_tensor(num_segments)
        counts = unsorted_segment_sum(array_ops.ones(array_ops.shape(ids), dtype=data.dtype), ids, n)
        extra = (data.shape.rank or 0) - (ids.shape.rank or 0)
        shape = array_ops.concat([array_ops.reshape(n, [1]), np.ones(extra, n.dtype.np_dtype)], 0)
        counts = maximum(array_ops.reshape(counts, shape), np.array(1, data.dtype.np_dtype))
        return divide(unsorted_segment_sum(data, ids, n), counts)
