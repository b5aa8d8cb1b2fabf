"""Shape ops: reshape, transpose, expand_dims, squeeze, concat, stack, unstack, split and tile.

Each op's definition, shape function, gradient and Python wrapper are in this module.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_shape, constant_value, convert_to_tensor, register_list_packer
from ..shapes import TensorShape
from .base_array_ops import IDX, identity, range, rank, shape, size
from .common import define, gradient, normalize_axis
from .grad_util import _as_shape_arg, _static_or_dynamic_shape


def _reshape_shape(op: Any) -> TensorShape:
    src = op.inputs[0].shape
    target = constant_value(op.inputs[1])
    if target is None:
        return constant_shape(op.inputs[1])
    target = [int(d) for d in np.reshape(target, -1)]
    if target.count(-1) > 1:
        raise ValueError(f"can only infer one dimension of reshape target {target}")
    n = src.num_elements()
    known = int(np.prod([d for d in target if d != -1])) if target else 1
    if -1 in target:
        if n is None:
            return TensorShape([None if d == -1 else d for d in target])
        if known == 0 or n % known:
            raise ValueError(f"cannot reshape a tensor of shape {src} ({n} elements) into shape {target}")
        return TensorShape([n // known if d == -1 else d for d in target])
    if n is not None and n != known:
        raise ValueError(f"cannot reshape a tensor of shape {src} ({n} elements) into shape {target} ({known} elements)")
    return TensorShape(target)


define("Reshape", ["tensor: T", "shape: Tshape"], ["output: T"],
       {"T": "type", "Tshape": ("type", "int32", IDX)}, shape=_reshape_shape)


def _transpose_shape(op: Any) -> TensorShape:
    src, perm = op.inputs[0].shape, constant_value(op.inputs[1])
    if src.rank is None or perm is None:
        return TensorShape(None if src.rank is None else [None] * src.rank)
    perm = [int(p) for p in perm]
    if sorted(perm) != list(builtins.range(src.rank)):
        raise ValueError(f"perm {perm} is not a permutation of the {src.rank} dimensions of shape {src}")
    return TensorShape([src.dims[p] for p in perm])


define("Transpose", ["x: T", "perm: Tperm"], ["y: T"], {"T": "type", "Tperm": ("type", "int32", IDX)},
       shape=_transpose_shape)


def _expand_dims_shape(op: Any) -> TensorShape:
    src, axis = op.inputs[0].shape, constant_value(op.inputs[1])
    if src.rank is None or axis is None:
        return TensorShape(None)
    a = int(np.reshape(axis, -1)[0])
    if not -src.rank - 1 <= a <= src.rank:
        raise ValueError(f"axis {a} is out of range for expand_dims of shape {src}")
    a = a % (src.rank + 1)
    dims = list(src.dims)
    dims.insert(a, 1)
    return TensorShape(dims)


define("ExpandDims", ["input: T", "dim: Tdim"], ["output: T"], {"T": "type", "Tdim": ("type", "int32", IDX)},
       shape=_expand_dims_shape)


def _squeeze_shape(op: Any) -> TensorShape:
    src, axes = op.inputs[0].shape, list(op.attrs["squeeze_dims"])
    if src.rank is None:
        return TensorShape(None)
    if not axes:
        if any(d is None for d in src.dims):
            return TensorShape(None)
        return TensorShape([d for d in src.dims if d != 1])
    norm = {normalize_axis(a, src.rank, "squeeze axis") for a in axes}
    for a in norm:
        if src.dims[a] not in (1, None):
            raise ValueError(f"cannot squeeze dimension {a} of shape {src}: its size is {src.dims[a]}, not 1")
    return TensorShape([d for i, d in enumerate(src.dims) if i not in norm])


define("Squeeze", ["input: T"], ["output: T"], {"T": "type", "squeeze_dims": ("list(int)", [])}, shape=_squeeze_shape)


def _concat_shape(op: Any) -> TensorShape:
    values, axis = op.inputs[:-1], constant_value(op.inputs[-1])
    ranks = {t.shape.rank for t in values if t.shape.rank is not None}
    if len(ranks) > 1:
        raise ValueError(f"all inputs must have the same rank, got shapes {[str(t.shape) for t in values]}")
    if not ranks:
        return TensorShape(None)
    rank = ranks.pop()
    if axis is None:
        return TensorShape([None] * rank)
    a = normalize_axis(int(axis), rank, "concat axis")
    out: list = [None] * rank
    total: int | None = 0
    for t in values:
        if t.shape.rank is None:
            total = None
            continue
        for i, d in enumerate(t.shape.dims):
            if i == a:
                total = None if total is None or d is None else total + d
            elif d is not None:
                if out[i] is not None and out[i] != d:
                    raise ValueError(f"dimension {i} of the inputs must match, got shapes "
                                     f"{[str(v.shape) for v in values]} (concat axis {a})")
                out[i] = d
    out[a] = total
    return TensorShape(out)


define("ConcatV2", ["*values: T", "axis: Tidx"], ["output: T"],
       {"N": "int", "T": "type", "Tidx": ("type", "int32", IDX)}, shape=_concat_shape)


def _pack_shape(op: Any) -> TensorShape:
    shape = TensorShape(None)
    for t in op.inputs:
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"shapes of all stacked inputs must match, got {shape} and {t.shape}")
        shape = shape.merge_with(t.shape)
    if shape.rank is None:
        return TensorShape(None)
    a = op.attrs["axis"]
    a = normalize_axis(a, shape.rank + 1, "stack axis")
    dims = list(shape.dims)
    dims.insert(a, len(op.inputs))
    return TensorShape(dims)


define("Pack", ["*values: T"], ["output: T"], {"N": "int", "T": "type", "axis": ("int", 0)}, shape=_pack_shape)


def _unpack_shape(op: Any) -> list:
    src, a = op.inputs[0].shape, op.attrs["axis"]
    if src.rank is None:
        return [TensorShape(None)] * op.attrs["num"]
    a = normalize_axis(a, src.rank, "unstack axis")
    if src.dims[a] is not None and src.dims[a] != op.attrs["num"]:
        raise ValueError(f"cannot unstack {op.attrs['num']} values from dimension {a} of shape {src}")
    dims = [d for i, d in enumerate(src.dims) if i != a]
    return [TensorShape(dims)] * op.attrs["num"]


define("Unpack", ["value: T"], ["*output: T"], {"num": "int", "T": "type", "axis": ("int", 0)}, shape=_unpack_shape)


def _split_shape(op: Any) -> list:
    axis, src, n = constant_value(op.inputs[0]), op.inputs[1].shape, op.attrs["num_split"]
    if src.rank is None or axis is None:
        return [TensorShape(None if src.rank is None else [None] * src.rank)] * n
    a = normalize_axis(int(axis), src.rank, "split axis")
    d = src.dims[a]
    if d is not None and d % n:
        raise ValueError(f"dimension {a} of shape {src} (size {d}) is not divisible by num_split={n}")
    dims = list(src.dims)
    dims[a] = None if d is None else d // n
    return [TensorShape(dims)] * n


define("Split", ["split_dim: int32", "value: T"], ["*output: T"], {"num_split": "int", "T": "type"},
       shape=_split_shape)


def _splitv_shape(op: Any) -> list:
    src, sizes, axis, n = op.inputs[0].shape, constant_value(op.inputs[1]), constant_value(op.inputs[2]), op.attrs["num_split"]
    if src.rank is None or axis is None or sizes is None:
        return [TensorShape(None if src.rank is None else [None] * src.rank)] * n
    a = normalize_axis(int(axis), src.rank, "split axis")
    sizes = [int(s) for s in sizes]
    if -1 in sizes and src.dims[a] is not None:
        sizes[sizes.index(-1)] = src.dims[a] - (builtins.sum(sizes) + 1)
    if src.dims[a] is not None and builtins.sum(sizes) != src.dims[a]:
        raise ValueError(f"split sizes {sizes} do not sum to dimension {a} of shape {src}")
    out = []
    for s in sizes:
        dims = list(src.dims)
        dims[a] = s if s >= 0 else None
        out.append(TensorShape(dims))
    return out


define("SplitV", ["value: T", "size_splits: Tlen", "split_dim: int32"], ["*output: T"],
       {"num_split": "int", "T": "type", "Tlen": ("type", "int32", IDX)}, shape=_splitv_shape)


def _tile_shape(op: Any) -> TensorShape:
    src, mult = op.inputs[0].shape, constant_value(op.inputs[1])
    if src.rank is None:
        return TensorShape(None)
    if mult is None:
        return TensorShape([None] * src.rank)
    if len(mult) != src.rank:
        raise ValueError(f"multiples has {len(mult)} entries but the input has shape {src}")
    return TensorShape([None if d is None else d * int(m) for d, m in zip(src.dims, mult)])


define("Tile", ["input: T", "multiples: Tmultiples"], ["output: T"],
       {"T": "type", "Tmultiples": ("type", "int32", IDX)}, shape=_tile_shape)


@gradient("Reshape", "ExpandDims")
def _reshape_grad(op: Any, grad: Tensor) -> list:
    return [reshape(grad, _static_or_dynamic_shape(op.inputs[0])), None]


@gradient("Squeeze")
def _squeeze_grad(op: Any, grad: Tensor) -> list:
    return [reshape(grad, _static_or_dynamic_shape(op.inputs[0]))]


@gradient("Transpose")
def _transpose_grad(op: Any, grad: Tensor) -> list:
    perm = op.inputs[1]
    const = constant_value(perm)
    if const is not None:
        return [transpose(grad, np.argsort(np.reshape(const, -1)).astype(np.int32)), None]
    from .math_ops import argmax, cast, equal

    hits = equal(expand_dims(perm, 0), expand_dims(range(0, size(perm, out_type=perm.dtype)), 1))
    return [transpose(grad, argmax(cast(hits, dt.int32), axis=1, output_type=perm.dtype)), None]


@gradient("ConcatV2")
def _concat_grad(op: Any, grad: Tensor) -> list:
    from .slice_ops import gather
    values, axis_t = op.inputs[:-1], op.inputs[-1]
    axis, rank_ = constant_value(axis_t), values[0].shape.rank
    if axis is not None and rank_ is not None:
        split_dim = normalize_axis(int(axis), rank_, "concat axis")
        sizes = _as_shape_arg([v.shape[split_dim] if v.shape[split_dim] is not None else gather(shape(v), split_dim)
                               for v in values])
    else:
        from .math_ops import cast, mod

        split_dim = mod(cast(axis_t, dt.int32), rank(values[0]))
        sizes = stack([gather(shape(v), split_dim) for v in values])
    return split(grad, sizes, split_dim, num=len(values)) + [None]


@gradient("Pack")
def _pack_grad(op: Any, grad: Tensor) -> list:
    return unstack(grad, num=len(op.inputs), axis=op.attrs["axis"])


@gradient("Unpack")
def _unpack_grad(op: Any, *grads: Tensor) -> list:
    return [stack(list(grads), axis=op.attrs["axis"])]


@gradient("Split")
def _split_grad(op: Any, *grads: Tensor) -> list:
    return [None, concat(list(grads), op.inputs[0])]


@gradient("SplitV")
def _split_v_grad(op: Any, *grads: Tensor) -> list:
    return [concat(list(grads), op.inputs[2]), None, None]


@gradient("Tile")
def _tile_grad(op: Any, grad: Tensor) -> list:
    # Reshape [m0*d0, m1*d1, ...] to [m0, d0, m1, d1, ...] and sum over the m axes.
    from .math_ops import cast, multiply, reduce_sum

    x, multiples = op.inputs
    m = constant_value(multiples)
    if m is not None and x.shape.is_fully_defined():
        m = [int(v) for v in np.reshape(m, -1)]
        if all(v == 1 for v in m):
            return [grad, None]
        split_shape = [v for pair in zip(m, x.shape.as_list()) for v in pair]
        axes = np.arange(0, 2 * len(m), 2, dtype=np.int32)
        return [reduce_sum(reshape(grad, np.array(split_shape, dtype=np.int32)), axes), None]
    split_shape = reshape(transpose(stack([cast(multiples, dt.int32), shape(x)])), [-1])
    return [reduce_sum(reshape(grad, split_shape), range(0, multiply(rank(x), 2), 2)), None]


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """Reshape; one dimension may be -1 and is inferred.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.reshape(tf.range(6), [2, -1]))
        array([[0, 1, 2],
               [3, 4, 5]], dtype=int32)
    """
    return apply_op("Reshape", tensor, _shape_arg(shape), name=name)[0]


def _shape_arg(shape: Any) -> Any:
    if isinstance(shape, TensorShape):
        return [(-1 if d is None else d) for d in shape.as_list()]
    return shape


def transpose(a: Any, perm: Any = None, name: str = "transpose") -> Tensor:
    """Permute dimensions; by default reverse them.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.transpose([[1, 2, 3]]))
        array([[1],
               [2],
               [3]], dtype=int32)
    """
    a = convert_to_tensor(a)
    if perm is None:
        if a.shape.rank is not None:
            perm = np.arange(a.shape.rank - 1, -1, -1, dtype=np.int32)
        else:
            from .math_ops import subtract

            perm = subtract(subtract(rank(a), 1), range(0, rank(a)))
    return apply_op("Transpose", a, perm, name=name)[0]


def expand_dims(input: Any, axis: Any = None, name: str | None = None, dim: Any = None) -> Tensor:  # noqa: A002
    """Insert a size-1 dimension at ``axis``.

    Example:
        >>> import tensorflux as tf
        >>> tf.expand_dims(tf.zeros([3]), 0).shape
        TensorShape([1, 3])
    """
    axis = axis if axis is not None else dim
    if axis is None:
        raise ValueError("expand_dims needs an axis")
    return apply_op("ExpandDims", input, axis, name=name)[0]


def squeeze(input: Any, axis: Any = None, name: str | None = None, squeeze_dims: Any = None) -> Tensor:  # noqa: A002
    """Remove size-1 dimensions (all of them, or those in ``axis``).

    Example:
        >>> import tensorflux as tf
        >>> tf.squeeze(tf.zeros([1, 3, 1])).shape
        TensorShape([3])
    """
    axis = axis if axis is not None else squeeze_dims
    axis = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return apply_op("Squeeze", input, squeeze_dims=axis, name=name)[0]


def concat(values: list, axis: Any, name: str = "concat") -> Tensor:
    """Join tensors along ``axis``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.concat([[1, 2], [3]], 0))
        array([1, 2, 3], dtype=int32)
    """
    if len(values) == 1:
        return identity(values[0], name=name)
    return apply_op("ConcatV2", list(values), axis, name=name)[0]


def stack(values: list, axis: int = 0, name: str = "stack") -> Tensor:
    """Stack same-shaped tensors along a new axis.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.stack([[1, 2], [3, 4]], axis=1))
        array([[1, 3],
               [2, 4]], dtype=int32)
    """
    return apply_op("Pack", list(values), axis=axis, name=name)[0]


def _pack_list(values: list, dtype: Any, name: str) -> Tensor:
    from .math_ops import cast

    packed = stack(values, name=name)
    return packed if dtype is None else cast(packed, dtype)


# convert_to_tensor, below this family, packs lists holding tensors with Pack.
register_list_packer(_pack_list)


def unstack(value: Any, num: int | None = None, axis: int = 0, name: str = "unstack") -> list:
    """Split along ``axis`` into a list of tensors of one less rank.

    Example:
        >>> import tensorflux as tf
        >>> [t.shape for t in tf.unstack(tf.zeros([2, 3]))]
        [TensorShape([3]), TensorShape([3])]
    """
    value = convert_to_tensor(value)
    if num is None:
        if value.shape.rank is None or value.shape[axis] is None:
            raise ValueError(f"Cannot infer num from shape {value.shape} of '{value.name}'; pass num")
        num = value.shape[axis]
    return apply_op("Unpack", value, num=num, axis=axis, name=name)


def split(value: Any, num_or_size_splits: Any, axis: Any = 0, num: int | None = None, name: str = "split") -> list:
    """Split into ``num_or_size_splits`` equal parts, or parts of the given sizes.

    Example:
        >>> import tensorflux as tf
        >>> [t.shape for t in tf.split(tf.zeros([4, 2]), 2)]
        [TensorShape([2, 2]), TensorShape([2, 2])]
    """
    if isinstance(num_or_size_splits, (int, np.integer)):
        return apply_op("Split", axis, value, num_split=int(num_or_size_splits), name=name)
    sizes = convert_to_tensor(num_or_size_splits)
    count = num if num is not None else sizes.shape[0]
    if count is None:
        raise ValueError("Cannot infer the number of splits from size_splits; pass num")
    return apply_op("SplitV", value, sizes, axis, num_split=count, name=name)


def tile(input: Any, multiples: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Repeat ``input`` ``multiples[i]`` times along each dimension i.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.tile([1, 2], [2]))
        array([1, 2, 1, 2], dtype=int32)
    """
    return apply_op("Tile", input, multiples, name=name)[0]
