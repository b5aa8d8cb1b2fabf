"""Helpers shared by the array-op gradients: dimensions as ints or scalar tensors, and scatter-adds."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Tensor


def _dims(t: Tensor) -> list:
    """``t``'s dimensions (rank must be known): ints where static, scalar tensors where not."""
    from .base_array_ops import shape
    from .slice_ops import gather
    dynamic = None
    out = []
    for i, d in enumerate(t.shape.dims):
        if d is None:
            dynamic = shape(t) if dynamic is None else dynamic
            d = gather(dynamic, i)
        out.append(d)
    return out


def is_zero_filler(t: Tensor) -> bool:
    """Whether ``t`` is known to be all zeros when the graph is built: the filler ``tf.gradients`` passes for an
    output nothing depends on, so a gradient function can skip its term.

    Example:
        >>> import tensorflux as tf
        >>> is_zero_filler(tf.zeros([2, 3])), is_zero_filler(tf.ones([2]))
        (True, False)
    """
    from ..op_builder import constant_value

    if t.op.type == "ZerosLike":
        return True
    value = constant_value(t.op.inputs[1]) if t.op.type == "Fill" else constant_value(t)
    return value is not None and not np.any(value)


def _as_shape_arg(dims: list) -> Any:
    """A shape argument from ints and scalar tensors: a constant when all are ints."""
    from .shape_ops import stack
    if all(not isinstance(d, Tensor) for d in dims):
        return np.array(dims, dtype=np.int32)
    return stack(dims)


def _prod_dims(dims: list) -> Any:
    from .shape_ops import stack
    if all(not isinstance(d, Tensor) for d in dims):
        return int(np.prod(dims, dtype=np.int64))
    from .math_ops import reduce_prod

    return reduce_prod(stack(dims))


def _static_or_dynamic_shape(x: Tensor) -> Any:
    from .base_array_ops import shape
    return x.shape.as_list() if x.shape.is_fully_defined() else shape(x)


def _onehot_scatter(g3: Tensor, ids: Any, n: Any) -> Tensor:
    """Sum the rows of ``g3`` ([outer, m, inner]) into ``n`` bins by ``ids`` ([m]): [outer, n, inner]."""
    from .base_array_ops import one_hot
    from .math_ops import matmul

    return matmul(one_hot(ids, n, dtype=g3.dtype), g3, transpose_a=True)


def _segment_sum_axis(g: Tensor, ids: Any, n: Any, axis: int) -> Tensor:
    """Undo a gather along ``axis`` with ``ids``: entry j of the result sums g's entries k with ids[k] == j."""
    from .shape_ops import reshape
    dims = _dims(g)
    g3 = reshape(g, _as_shape_arg([_prod_dims(dims[:axis]), dims[axis], _prod_dims(dims[axis + 1:])]))
    return reshape(_onehot_scatter(g3, ids, n), _as_shape_arg(dims[:axis] + [n] + dims[axis + 1:]))


def _pad_axis(g: Tensor, rank_: int, axis: int, before: int, after: int) -> Tensor:
    from .slice_ops import pad
    paddings = np.zeros((rank_, 2), dtype=np.int32)
    paddings[axis] = (before, after)
    return pad(g, paddings)
