"""N-dimensional gathers and scatters by index tuples: ``GatherNd``, ``ScatterNd`` and the functional
``TensorScatterUpdate`` / ``TensorScatterAdd`` / ``TensorScatterSub``, with TF 1.x's gradients.

``indices`` has shape ``[..., k]``: each row of its last dimension addresses a slice of the first ``k``
dimensions of the (params, or output) tensor. ``updates`` has shape ``indices.shape[:-1] + shape[k:]``.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_shape, convert_to_tensor
from ..shapes import TensorShape
from .common import define, gradient, same_shape

IDX = (dt.int32, dt.int64)


def _slice_dims(indices: TensorShape, shape: TensorShape, what: str) -> TensorShape:
    """``indices.shape[:-1] + shape[k:]``: the shape of the slices gathered (or of the updates scattered)."""
    if indices.rank is None or shape.rank is None or indices.dims[-1] is None:
        return TensorShape(None)
    k = indices.dims[-1]
    if k > shape.rank:
        raise ValueError(f"{what}: index depth {k} (the last dimension of indices {indices}) exceeds the rank of "
                         f"shape {shape}")
    return TensorShape(list(indices.dims[:-1]) + list(shape.dims[k:]))


def _check_indices(op: Any, indices: TensorShape) -> None:
    if indices.rank == 0:
        raise ValueError(f"{op.type} '{op.name}': indices must have rank >= 1, got a scalar")


def _gather_nd_shape(op: Any) -> TensorShape:
    params, indices = op.inputs[0].shape, op.inputs[1].shape
    _check_indices(op, indices)
    return _slice_dims(indices, params, f"GatherNd '{op.name}'")


def _check_updates(op: Any, indices: TensorShape, updates: TensorShape, shape: TensorShape) -> None:
    expected = _slice_dims(indices, shape, f"{op.type} '{op.name}'")
    if not expected.is_compatible_with(updates):
        raise ValueError(f"{op.type} '{op.name}': updates must have shape indices.shape[:-1] + shape[k:] = "
                         f"{expected}, got {updates}")


def _scatter_nd_shape(op: Any) -> TensorShape:
    indices, updates = op.inputs[0].shape, op.inputs[1].shape
    _check_indices(op, indices)
    shape = constant_shape(op.inputs[2])
    _check_updates(op, indices, updates, shape)
    return shape


def _tensor_scatter_shape(op: Any) -> TensorShape:
    tensor, indices, updates = (t.shape for t in op.inputs)
    _check_indices(op, indices)
    _check_updates(op, indices, updates, tensor)
    return same_shape(op)


define("GatherNd", ["params: Tparams", "indices: Tindices"], ["output: Tparams"],
       {"Tparams": "type", "Tindices": ("type", None, IDX)}, shape=_gather_nd_shape)
define("ScatterNd", ["indices: Tindices", "updates: T", "shape: Tindices"], ["output: T"],
       {"T": "type", "Tindices": ("type", None, IDX)}, shape=_scatter_nd_shape)
for _name in ("TensorScatterUpdate", "TensorScatterAdd", "TensorScatterSub"):
    define(_name, ["tensor: T", "indices: Tindices", "updates: T"], ["output: T"],
           {"T": "type", "Tindices": ("type", None, IDX)}, shape=_tensor_scatter_shape)


def _shape_of(t: Tensor, index_dtype: Any) -> Any:
    from .base_array_ops import shape

    return shape(t, out_type=index_dtype)


@gradient("GatherNd")
def _gather_nd_grad(op: Any, grad: Tensor) -> list:
    # Each gathered slice's gradient goes back where it came from; repeated indices add up.
    params, indices = op.inputs
    return [scatter_nd(indices, grad, _shape_of(params, indices.dtype)), None]


@gradient("ScatterNd")
def _scatter_nd_grad(op: Any, grad: Tensor) -> list:
    return [None, gather_nd(grad, op.inputs[0]), None]


@gradient("TensorScatterUpdate")
def _tensor_scatter_update_grad(op: Any, grad: Tensor) -> list:
    from .base_array_ops import zeros_like

    indices, updates = op.inputs[1], op.inputs[2]
    # The overwritten elements of ``tensor`` no longer reach the output.
    return [tensor_scatter_update(grad, indices, zeros_like(updates)), None, gather_nd(grad, indices)]


@gradient("TensorScatterAdd")
def _tensor_scatter_add_grad(op: Any, grad: Tensor) -> list:
    return [grad, None, gather_nd(grad, op.inputs[1])]


@gradient("TensorScatterSub")
def _tensor_scatter_sub_grad(op: Any, grad: Tensor) -> list:
    from .math_ops import negative

    return [grad, None, negative(gather_nd(grad, op.inputs[1]))]


# -- Python wrappers ----------------------------------------------------------------------------------------
def _indices(indices: Any) -> Tensor:
    return convert_to_tensor(indices, dtype=None)


def gather_nd(params: Any, indices: Any, name: str | None = None, batch_dims: int = 0) -> Tensor:
    """The slices of ``params`` addressed by the index tuples in the last dimension of ``indices``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.gather_nd([[1, 2], [3, 4]], [[1, 0], [0, 1]]))
        array([3, 2], dtype=int32)
    """
    if batch_dims:
        raise NotImplementedError(f"gather_nd: batch_dims={batch_dims} is not supported (TF 1.x has only 0)")
    return apply_op("GatherNd", params, _indices(indices), name=name or "GatherNd")[0]


def scatter_nd(indices: Any, updates: Any, shape: Any, name: str | None = None) -> Tensor:
    """A tensor of ``shape``, zero but for ``updates`` added at ``indices`` (repeated indices add up).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.scatter_nd([[1], [3], [1]], [5, 6, 7], [4]))
        array([ 0, 12,  0,  6], dtype=int32)
    """
    idx = _indices(indices)
    shape_t = convert_to_tensor(shape, dtype=idx.dtype) if not isinstance(shape, Tensor) else shape
    return apply_op("ScatterNd", idx, updates, shape_t, name=name or "ScatterNd")[0]


def _tensor_scatter(op_type: str, py_name: str, verb: str, example: str, result: str) -> Any:
    def wrapper(tensor: Any, indices: Any, updates: Any, name: str | None = None) -> Tensor:
        return apply_op(op_type, tensor, _indices(indices), updates, name=name or op_type)[0]

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"A copy of ``tensor`` with ``updates`` {verb} at ``indices`` (op ``{op_type}``).\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.{py_name}({example}))\n        {result}\n")
    return wrapper


tensor_scatter_update = _tensor_scatter("TensorScatterUpdate", "tensor_scatter_update", "written",
                                        "[1, 2, 3], [[0], [2]], [9, 8]", "array([9, 2, 8], dtype=int32)")
tensor_scatter_add = _tensor_scatter("TensorScatterAdd", "tensor_scatter_add", "added",
                                     "[1, 2, 3], [[0], [0]], [5, 5]", "array([11,  2,  3], dtype=int32)")
tensor_scatter_sub = _tensor_scatter("TensorScatterSub", "tensor_scatter_sub", "subtracted",
                                     "[1, 2, 3], [[2]], [3]", "array([1, 2, 0], dtype=int32)")
tensor_scatter_nd_update = tensor_scatter_update
tensor_scatter_nd_add = tensor_scatter_add
tensor_scatter_nd_sub = tensor_scatter_sub
