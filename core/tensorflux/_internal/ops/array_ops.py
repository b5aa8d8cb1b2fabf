"""Array ops: creation, placeholders, shape manipulation, slicing, gathering and introspection."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_shape, constant_value, convert_to_tensor, make_constant
from ..shapes import TensorShape, as_shape, broadcast_shapes
from .common import define, gradient, normalize_axis, not_differentiable, same_shape
from .slicing import index_from_spec, sliced_dims, spec_from_index

IDX = (dt.int32, dt.int64)


def _const_shape(op: Any) -> TensorShape:
    return TensorShape(op.attrs["value"].shape)


define("Const", [], ["output: dtype"], {"value": "tensor", "dtype": "type"}, shape=_const_shape,
       differentiable=False)
define("Placeholder", [], ["output: dtype"], {"dtype": "type", "shape": ("shape", None)},
       shape=lambda op: op.attrs["shape"])
define("PlaceholderWithDefault", ["input: dtype"], ["output: dtype"], {"dtype": "type", "shape": ("shape", None)},
       shape=lambda op: op.attrs["shape"])
define("Identity", ["input: T"], ["output: T"], {"T": "type"}, shape=same_shape)
define("StopGradient", ["input: T"], ["output: T"], {"T": "type"}, shape=same_shape)
define("ZerosLike", ["x: T"], ["y: T"], {"T": "type"}, shape=same_shape)
define("OnesLike", ["x: T"], ["y: T"], {"T": ("type", None, dt.REAL_AND_BOOL)}, shape=same_shape)
define("Fill", ["dims: index_type", "value: T"], ["output: T"],
       {"T": "type", "index_type": ("type", "int32", IDX)}, shape=lambda op: constant_shape(op.inputs[0]))


def _range_shape(op: Any) -> TensorShape:
    vals = [constant_value(t) for t in op.inputs]
    if any(v is None for v in vals):
        return TensorShape([None])
    start, limit, delta = (v.item() for v in vals)
    if delta == 0:
        raise ValueError("range delta must not be zero")
    return TensorShape([builtins.max(0, int(np.ceil((limit - start) / delta)))])


define("Range", ["start: Tidx", "limit: Tidx", "delta: Tidx"], ["output: Tidx"],
       {"Tidx": ("type", "int32", (dt.int32, dt.int64, dt.float32, dt.float64))}, shape=_range_shape,
       differentiable=False)


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


def _slice_shape(op: Any) -> TensorShape:
    src, begin, size = op.inputs[0].shape, constant_value(op.inputs[1]), constant_value(op.inputs[2])
    if src.rank is None:
        return TensorShape(None)
    if size is None:
        return TensorShape([None] * src.rank)
    out = []
    for i, s in enumerate(np.reshape(size, -1)):
        s = int(s)
        if s == -1:
            d = src.dims[i]
            out.append(None if d is None or begin is None else d - int(begin[i]))
        else:
            out.append(s)
    return TensorShape(out)


define("Slice", ["input: T", "begin: Index", "size: Index"], ["output: T"],
       {"T": "type", "Index": ("type", "int32", IDX)}, shape=_slice_shape)


def _strided_slice_shape(op: Any) -> TensorShape:
    src = op.inputs[0].shape
    vals = [constant_value(t) for t in op.inputs[1:]]
    if src.rank is None:
        return TensorShape(None)
    a = op.attrs
    if any(v is None for v in vals):
        return TensorShape(None)
    index = index_from_spec(*vals, a["begin_mask"], a["end_mask"], a["ellipsis_mask"], a["new_axis_mask"],
                            a["shrink_axis_mask"])
    return TensorShape(sliced_dims(list(src.dims), index))


define("StridedSlice", ["input: T", "begin: Index", "end: Index", "strides: Index"], ["output: T"],
       {"T": "type", "Index": ("type", "int32", IDX), "begin_mask": ("int", 0), "end_mask": ("int", 0),
        "ellipsis_mask": ("int", 0), "new_axis_mask": ("int", 0), "shrink_axis_mask": ("int", 0)},
       shape=_strided_slice_shape)


def _gather_shape(op: Any) -> TensorShape:
    params, indices, axis = op.inputs[0].shape, op.inputs[1].shape, constant_value(op.inputs[2])
    if params.rank is None or indices.rank is None or axis is None:
        return TensorShape(None)
    a = normalize_axis(int(axis), params.rank, "gather axis")
    return TensorShape(list(params.dims[:a]) + list(indices.dims) + list(params.dims[a + 1:]))


define("GatherV2", ["params: Tparams", "indices: Tindices", "axis: Taxis"], ["output: Tparams"],
       {"Tparams": "type", "Tindices": ("type", "int32", IDX), "Taxis": ("type", "int32", IDX),
        "batch_dims": ("int", 0)}, shape=_gather_shape)


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


def _pad_shape(op: Any) -> TensorShape:
    src, pads = op.inputs[0].shape, constant_value(op.inputs[1])
    if src.rank is None:
        return TensorShape(None)
    if pads is None:
        return TensorShape([None] * src.rank)
    pads = np.asarray(pads)
    if pads.shape != (src.rank, 2):
        raise ValueError(f"paddings must have shape [{src.rank}, 2] for input shape {src}, got {list(pads.shape)}")
    return TensorShape([None if d is None else d + int(p[0]) + int(p[1]) for d, p in zip(src.dims, pads)])


define("Pad", ["input: T", "paddings: Tpaddings"], ["output: T"],
       {"T": "type", "Tpaddings": ("type", "int32", IDX)}, shape=_pad_shape)
define("PadV2", ["input: T", "paddings: Tpaddings", "constant_values: T"], ["output: T"],
       {"T": "type", "Tpaddings": ("type", "int32", IDX)}, shape=_pad_shape)
define("MirrorPad", ["input: T", "paddings: Tpaddings"], ["output: T"],
       {"T": "type", "Tpaddings": ("type", "int32", IDX), "mode": ("string", "REFLECT", ("REFLECT", "SYMMETRIC"))},
       shape=_pad_shape)


def _shape_of_shape(op: Any) -> TensorShape:
    return TensorShape([op.inputs[0].shape.rank])


define("Shape", ["input: T"], ["output: out_type"], {"T": "type", "out_type": ("type", "int32", IDX)},
       shape=_shape_of_shape, differentiable=False)
define("Size", ["input: T"], ["output: out_type"], {"T": "type", "out_type": ("type", "int32", IDX)},
       shape=lambda op: TensorShape([]), differentiable=False)
define("Rank", ["input: T"], ["output: int32"], {"T": "type"}, shape=lambda op: TensorShape([]),
       differentiable=False)


def _one_hot_shape(op: Any) -> TensorShape:
    src, depth, axis = op.inputs[0].shape, constant_value(op.inputs[1]), op.attrs["axis"]
    if src.rank is None:
        return TensorShape(None)
    dims = list(src.dims)
    a = len(dims) if axis == -1 else axis
    dims.insert(a, None if depth is None else int(depth))
    return TensorShape(dims)


define("OneHot", ["indices: TI", "depth: int32", "on_value: T", "off_value: T"], ["output: T"],
       {"T": "type", "TI": ("type", "int64", (dt.uint8, dt.int32, dt.int64)), "axis": ("int", -1)},
       shape=_one_hot_shape, differentiable=False)


def _select_shape(op: Any) -> TensorShape:
    c, x, y = (t.shape for t in op.inputs)
    xy = broadcast_shapes(x, y)
    out = None if xy is None else broadcast_shapes(c, xy)
    if out is None:
        raise ValueError(f"condition, x and y must broadcast together, got shapes {c}, {x} and {y}")
    return out


define("SelectV2", ["condition: bool", "t: T", "e: T"], ["output: T"], {"T": "type"}, shape=_select_shape)
define("Where", ["input: T"], ["index: int64"], {"T": ("type", "bool")},
       shape=lambda op: TensorShape([None, op.inputs[0].shape.rank]), differentiable=False)


# -- gradients ----------------------------------------------------------------------------------
# Each op's gradient, beside its definition above: grad_fn(op, *output_grads) -> one gradient per input.
not_differentiable("StopGradient", "ZerosLike", "OnesLike")


def _dims(t: Tensor) -> list:
    """``t``'s dimensions (rank must be known): ints where static, scalar tensors where not."""
    dynamic = None
    out = []
    for i, d in enumerate(t.shape.dims):
        if d is None:
            dynamic = shape(t) if dynamic is None else dynamic
            d = gather(dynamic, i)
        out.append(d)
    return out


def _as_shape_arg(dims: list) -> Any:
    """A shape argument from ints and scalar tensors: a constant when all are ints."""
    if all(not isinstance(d, Tensor) for d in dims):
        return np.array(dims, dtype=np.int32)
    return stack(dims)


def _prod_dims(dims: list) -> Any:
    if all(not isinstance(d, Tensor) for d in dims):
        return int(np.prod(dims, dtype=np.int64))
    from .math_ops import reduce_prod

    return reduce_prod(stack(dims))


def _static_or_dynamic_shape(x: Tensor) -> Any:
    return x.shape.as_list() if x.shape.is_fully_defined() else shape(x)


def _onehot_scatter(g3: Tensor, ids: Any, n: Any) -> Tensor:
    """Sum the rows of ``g3`` ([outer, m, inner]) into ``n`` bins by ``ids`` ([m]): [outer, n, inner]."""
    from .math_ops import matmul

    return matmul(one_hot(ids, n, dtype=g3.dtype), g3, transpose_a=True)


def _segment_sum_axis(g: Tensor, ids: Any, n: Any, axis: int) -> Tensor:
    """Undo a gather along ``axis`` with ``ids``: entry j of the result sums g's entries k with ids[k] == j."""
    dims = _dims(g)
    g3 = reshape(g, _as_shape_arg([_prod_dims(dims[:axis]), dims[axis], _prod_dims(dims[axis + 1:])]))
    return reshape(_onehot_scatter(g3, ids, n), _as_shape_arg(dims[:axis] + [n] + dims[axis + 1:]))


def _pad_axis(g: Tensor, rank_: int, axis: int, before: int, after: int) -> Tensor:
    paddings = np.zeros((rank_, 2), dtype=np.int32)
    paddings[axis] = (before, after)
    return pad(g, paddings)


@gradient("Identity", "PlaceholderWithDefault")
def _identity_grad(op: Any, grad: Tensor) -> list:
    return [grad]


@gradient("Fill")
def _fill_grad(op: Any, grad: Tensor) -> list:
    from .math_ops import reduce_sum

    return [None, reduce_sum(grad)]


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


@gradient("Slice")
def _slice_grad(op: Any, grad: Tensor) -> list:
    # Pad the gradient back out: ``begin`` zeros before, and whatever is left of x's shape after.
    x, begin, y = op.inputs[0], op.inputs[1], op.outputs[0]
    b = constant_value(begin)
    if b is not None and x.shape.is_fully_defined() and y.shape.is_fully_defined():
        b = np.reshape(b, -1).astype(np.int64)
        after = np.array(x.shape.as_list()) - b - np.array(y.shape.as_list())
        paddings = np.stack([b, after], axis=1).astype(np.int32)
    else:
        from .math_ops import subtract

        after = subtract(subtract(shape(x, out_type=begin.dtype), begin), shape(y, out_type=begin.dtype))
        paddings = stack([begin, after], axis=1)
    return [pad(grad, paddings), None, None]


def _strided_slice_walk(op: Any, n_entries: int, rank_: int) -> tuple:
    """Walk a StridedSlice's index spec with the mask precedence of ``index_from_spec``.

    Returns (x_axes, walk): per axis of x, ('full', None), ('slice', i) or ('shrink', i) with i the
    spec entry; and per output-building step, 'new' (an added dimension), 'shrink' or 'keep'.
    """
    a = op.attrs
    n_specified = builtins.sum(1 for i in builtins.range(n_entries)
                               if not (a["ellipsis_mask"] | a["new_axis_mask"]) & (1 << i))
    x_axes, walk = [], []
    for i in builtins.range(n_entries):
        bit = 1 << i
        if a["ellipsis_mask"] & bit:
            x_axes += [("full", None)] * (rank_ - n_specified)
            walk += ["keep"] * (rank_ - n_specified)
        elif a["new_axis_mask"] & bit:
            walk.append("new")
        elif a["shrink_axis_mask"] & bit:
            x_axes.append(("shrink", i))
            walk.append("shrink")
        else:
            x_axes.append(("slice", i))
            walk.append("keep")
    rest = rank_ - len(x_axes)
    return x_axes + [("full", None)] * rest, walk + ["keep"] * rest


def _regrown(grad: Tensor, walk: list) -> Tensor:
    """Reshape a strided slice's gradient to x's rank: shrunk axes come back with size 1, new axes go."""
    if "new" not in walk and "shrink" not in walk:
        return grad
    n_out = builtins.sum(1 for step in walk if step != "shrink")
    g_dims = _dims(grad) if grad.shape.rank is not None else [gather(shape(grad), i) for i in builtins.range(n_out)]
    kept, pos = [], 0
    for step in walk:
        if step == "shrink":
            kept.append(1)
            continue
        if step == "keep":
            kept.append(g_dims[pos])
        pos += 1
    return reshape(grad, _as_shape_arg(kept))


@gradient("StridedSlice")
def _strided_slice_grad(op: Any, grad: Tensor) -> list:
    # Put back the dimensions the slice shrank (and drop those it added), then, axis by axis, move each
    # gradient entry to the position it was sliced from: a pad when the positions are one contiguous
    # ascending run, else a gather from the gradient padded with one zero slice.
    from .math_ops import argmax, cast, equal

    x, begin, end, strides = op.inputs
    rank_, n_entries = x.shape.rank, begin.shape[0]
    if rank_ is None or n_entries is None:
        raise ValueError(f"The gradient of StridedSlice '{op.name}' needs its input's rank and the length of its "
                         f"index spec to be known; got input shape {x.shape} and begin shape {begin.shape}")
    a = op.attrs
    x_axes, walk = _strided_slice_walk(op, n_entries, rank_)
    g = _regrown(grad, walk)
    spec = [constant_value(t) for t in (begin, end, strides)]
    for d, (kind, i) in enumerate(x_axes):
        if kind == "full":
            continue
        bit = 1 << i
        bm, em = bool(a["begin_mask"] & bit), bool(a["end_mask"] & bit)
        step = None if spec[2] is None else int(np.reshape(spec[2], -1)[i])
        if kind == "slice" and bm and em and step == 1:
            continue
        n = x.shape[d]
        if n is not None and all(v is not None for v in spec):
            b, e = (int(np.reshape(v, -1)[i]) for v in spec[:2])
            index = b if kind == "shrink" else builtins.slice(None if bm else b, None if em else e, step)
            positions = np.reshape(np.arange(n)[index], -1)
            m = positions.size
            if m == n and np.all(positions == np.arange(n)):
                continue
            if m == 0:
                g = _pad_axis(g, rank_, d, 0, n)
            elif np.all(np.diff(positions) == 1):
                g = _pad_axis(g, rank_, d, int(positions[0]), int(n - positions[-1] - 1))
            else:
                inverse = np.full(n, m, dtype=np.int32)
                inverse[positions] = np.arange(m, dtype=np.int32)
                g = gather(_pad_axis(g, rank_, d, 0, 1), inverse, axis=d)
            continue
        n_t = n if n is not None else gather(shape(x), d)
        parts = [np.reshape(v, -1)[i:i + 1] if v is not None else strided_slice(t, [i], [i + 1], [1])
                 for v, t in zip(spec, (begin, end, strides))]
        positions = reshape(strided_slice(range(0, n_t), *parts, begin_mask=int(bm), end_mask=int(em),
                                          shrink_axis_mask=int(kind == "shrink")), [-1])
        hits = cast(equal(expand_dims(range(0, n_t), 1), expand_dims(positions, 0)), dt.int32)
        sentinel = fill(_as_shape_arg([n_t, 1]), np.array(1, dtype=np.int32))
        inverse = argmax(concat([hits, sentinel], 1), axis=1, output_type=dt.int32)
        g = gather(_pad_axis(g, rank_, d, 0, 1), inverse, axis=d)
    return [g, None, None, None]


@gradient("GatherV2")
def _gather_grad(op: Any, grad: Tensor) -> list:
    # Dense: one-hot rows of the indices, transposed, times the gradient rows.
    params, indices, axis_t = op.inputs
    if op.attrs["batch_dims"] != 0:
        raise NotImplementedError(f"The gradient of GatherV2 '{op.name}' supports batch_dims=0, got "
                                  f"batch_dims={op.attrs['batch_dims']}")
    axis = constant_value(axis_t)
    if axis is None or params.shape.rank is None:
        raise ValueError(f"The gradient of GatherV2 '{op.name}' needs a constant axis and params of known rank; got "
                         f"axis '{axis_t.name}' and params shape {params.shape}")
    a = normalize_axis(int(axis), params.shape.rank, "gather axis")
    p = _dims(params)
    k = indices.shape.num_elements()
    g3 = reshape(grad, _as_shape_arg([_prod_dims(p[:a]), k if k is not None else size(indices), _prod_dims(p[a + 1:])]))
    out3 = _onehot_scatter(g3, reshape(indices, [-1]), p[a])
    return [reshape(out3, _static_or_dynamic_shape(params)), None, None]


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


@gradient("Pad", "PadV2")
def _pad_grad(op: Any, grad: Tensor) -> list:
    x, paddings = op.inputs[0], op.inputs[1]
    pv = constant_value(paddings)
    if pv is not None:
        begin = np.asarray(pv)[:, 0].astype(np.int32)
        x_grad = slice(grad, begin, np.array(_dims(x), dtype=np.int32) if x.shape.is_fully_defined()
                       else shape(x))
    else:
        begin = reshape(slice(paddings, [0, 0], [-1, 1]), [-1])
        x_grad = slice(grad, begin, shape(x, out_type=paddings.dtype))
    if op.type == "PadV2":
        from .math_ops import reduce_sum, subtract

        return [x_grad, None, subtract(reduce_sum(grad), reduce_sum(x_grad))]
    return [x_grad, None]


def _mirror_indices(n: int, before: int, after: int, reflect: bool) -> np.ndarray:
    i = np.arange(-before, n + after)
    if reflect:
        j = np.abs(i)
        return np.where(j >= n, 2 * (n - 1) - j, j).astype(np.int32)
    j = np.where(i < 0, -i - 1, i)
    return np.where(j >= n, 2 * n - 1 - j, j).astype(np.int32)


def _mirror_indices_tensor(x: Tensor, paddings: Tensor, axis: int, reflect: bool) -> tuple:
    from .math_ops import abs as tf_abs, add, cast, greater_equal, less, negative, subtract

    n = gather(shape(x), axis)
    p = gather(cast(paddings, dt.int32), axis)
    i = range(negative(gather(p, 0)), add(n, gather(p, 1)))
    if reflect:
        j = tf_abs(i)
        mirrored = subtract(subtract(add(n, n), 2), j)
    else:
        j = where(less(i, 0), subtract(negative(i), 1), i)
        mirrored = subtract(subtract(add(n, n), 1), j)
    return where(greater_equal(j, n), mirrored, j), n


@gradient("MirrorPad")
def _mirror_pad_grad(op: Any, grad: Tensor) -> list:
    # A mirror pad gathers each axis with reflected indices; undo the gathers one axis at a time.
    x, paddings = op.inputs
    if x.shape.rank is None:
        raise ValueError(f"The gradient of MirrorPad '{op.name}' needs the rank of its input '{x.name}' to be known")
    pv = constant_value(paddings)
    reflect = op.attrs["mode"] == "REFLECT"
    g = grad
    for d in builtins.range(x.shape.rank):
        n = x.shape[d]
        if pv is not None and n is not None:
            before, after = int(pv[d][0]), int(pv[d][1])
            if before == after == 0:
                continue
            ids = _mirror_indices(n, before, after, reflect)
        else:
            ids, n = _mirror_indices_tensor(x, paddings, d, reflect)
        g = _segment_sum_axis(g, ids, n, d)
    return [g, None]


@gradient("SelectV2")
def _select_grad(op: Any, grad: Tensor) -> list:
    from .math_ops import unbroadcast

    condition, t, e = op.inputs
    zeros = zeros_like(grad)
    return [None, unbroadcast(where(condition, grad, zeros), t, condition, e),
            unbroadcast(where(condition, zeros, grad), e, condition, t)]


# -- Python wrappers --------------------------------------------------------------------------
def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const") -> Tensor:
    """A constant tensor; strings become bytes, Python floats float32, Python ints int32.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.constant('Hello'))
        b'Hello'
    """
    return make_constant(value, dtype=dtype, shape=shape, name=name)


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Tensor:
    """A tensor that must be fed at ``Session.run`` time.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32, shape=[None, 2])
        >>> tf.Session().run(x * 2, feed_dict={x: [[1, 2]]})
        array([[2., 4.]], dtype=float32)
    """
    return apply_op("Placeholder", dtype=dt.as_dtype(dtype), shape=as_shape(shape), name=name or "Placeholder")[0]


def placeholder_with_default(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """A placeholder that yields ``input`` when not fed.

    Example:
        >>> import tensorflux as tf
        >>> p = tf.placeholder_with_default(1.0, shape=[])
        >>> tf.Session().run(p), tf.Session().run(p, {p: 5.0})
        (1.0, 5.0)
    """
    x = convert_to_tensor(input)
    return apply_op("PlaceholderWithDefault", x, dtype=x.dtype, shape=as_shape(shape),
                    name=name or "PlaceholderWithDefault")[0]


def identity(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Return a tensor with the same value as ``input`` (a new node).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.identity([1, 2]))
        array([1, 2], dtype=int32)
    """
    return apply_op("Identity", input, name=name)[0]


def stop_gradient(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Pass ``input`` through, but block gradients from flowing into it.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.stop_gradient(3.0))
        3.0
    """
    return apply_op("StopGradient", input, name=name)[0]


def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.fill([2, 2], 7))
        array([[7, 7],
               [7, 7]], dtype=int32)
    """
    return apply_op("Fill", dims, value, name=name)[0]


def _filled(shape: Any, dtype: Any, value: Any, name: str) -> Tensor:
    dtype = dt.as_dtype(dtype)
    if isinstance(shape, Tensor) or (isinstance(shape, (list, tuple)) and any(isinstance(s, Tensor) for s in shape)):
        return fill(shape, np.array(value, dtype=dtype.np_dtype), name=name)
    return make_constant(np.full(tuple(as_shape(shape).as_list()), value, dtype=dtype.np_dtype), dtype=dtype, name=name)


def zeros(shape: Any, dtype: Any = dt.float32, name: str | None = None) -> Tensor:
    """A tensor of zeros.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.zeros([2], tf.int32))
        array([0, 0], dtype=int32)
    """
    return _filled(shape, dtype, 0 if dt.as_dtype(dtype) is not dt.string else b"", name or "zeros")


def ones(shape: Any, dtype: Any = dt.float32, name: str | None = None) -> Tensor:
    """A tensor of ones.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.ones([2]))
        array([1., 1.], dtype=float32)
    """
    return _filled(shape, dtype, 1, name or "ones")


def zeros_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Zeros with the shape (and by default the dtype) of ``tensor``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.zeros_like([[1, 2]]))
        array([[0, 0]], dtype=int32)
    """
    from .math_ops import cast

    t = convert_to_tensor(tensor)
    out = apply_op("ZerosLike", t, name=name)[0]
    return out if dtype is None else cast(out, dtype)


def ones_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Ones with the shape (and by default the dtype) of ``tensor``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.ones_like([[1.0, 2.0]]))
        array([[1., 1.]], dtype=float32)
    """
    from .math_ops import cast

    t = convert_to_tensor(tensor)
    out = apply_op("OnesLike", t, name=name)[0]
    return out if dtype is None else cast(out, dtype)


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> Tensor:  # noqa: A001
    """A 1-D sequence like Python's range; ``range(5)`` means ``range(0, 5)``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.range(1, 10, 3))
        array([1, 4, 7], dtype=int32)
    """
    if limit is None:
        start, limit = 0, start
    vals = [start, limit, delta]
    if dtype is None:
        tensors = [v for v in vals if isinstance(v, Tensor)]
        if tensors:
            dtype = tensors[0].dtype
        else:
            dtype = dt.float32 if any(isinstance(v, float) for v in vals) else dt.int32
    return apply_op("Range", *vals, Tidx=dtype, name=name)[0]


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


def slice(input_: Any, begin: Any, size: Any, name: str | None = None) -> Tensor:  # noqa: A001
    """Extract ``size`` elements from ``begin`` in each dimension (-1 means 'to the end').

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.slice([[1, 2, 3], [4, 5, 6]], [0, 1], [2, 1]))
        array([[2],
               [5]], dtype=int32)
    """
    return apply_op("Slice", input_, begin, size, name=name)[0]


def strided_slice(input_: Any, begin: Any, end: Any, strides: Any = None, begin_mask: int = 0, end_mask: int = 0,
                  ellipsis_mask: int = 0, new_axis_mask: int = 0, shrink_axis_mask: int = 0,
                  name: str | None = None) -> Tensor:
    """Numpy-style strided slicing, encoded as in TF (``x[1:3]`` builds this).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.strided_slice([0, 1, 2, 3, 4], [1], [5], [2]))
        array([1, 3], dtype=int32)
    """
    if strides is None:
        strides = [1] * len(begin)
    return apply_op("StridedSlice", input_, begin, end, strides, begin_mask=begin_mask, end_mask=end_mask,
                    ellipsis_mask=ellipsis_mask, new_axis_mask=new_axis_mask, shrink_axis_mask=shrink_axis_mask,
                    name=name)[0]


def getitem(tensor: Tensor, key: Any) -> Tensor:
    """``tensor[key]`` with ints, slices (with strides), None (newaxis) and Ellipsis."""
    begin, end, strides, masks = spec_from_index(key)
    if any(isinstance(v, Tensor) for v in begin + end + strides):
        begin, end, strides = (stack([convert_to_tensor(v, dtype=dt.int32) for v in vs]) for vs in (begin, end, strides))
    return strided_slice(tensor, begin, end, strides, name="strided_slice", **masks)


def gather(params: Any, indices: Any, axis: Any = 0, batch_dims: int = 0, name: str | None = None) -> Tensor:
    """Gather slices of ``params`` along ``axis`` at ``indices``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.gather([10, 20, 30], [2, 0]))
        array([30, 10], dtype=int32)
    """
    return apply_op("GatherV2", params, indices, axis, batch_dims=batch_dims, name=name)[0]


def tile(input: Any, multiples: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Repeat ``input`` ``multiples[i]`` times along each dimension i.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.tile([1, 2], [2]))
        array([1, 2, 1, 2], dtype=int32)
    """
    return apply_op("Tile", input, multiples, name=name)[0]


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: str | None = None, constant_values: Any = 0) -> Tensor:
    """Pad with ``paddings`` ([rank, 2]: before and after); mode CONSTANT, REFLECT or SYMMETRIC.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.pad([1, 2], [[1, 2]]))
        array([0, 1, 2, 0, 0], dtype=int32)
    """
    mode = mode.upper()
    if mode == "CONSTANT":
        if isinstance(constant_values, (int, float)) and constant_values == 0:
            return apply_op("Pad", tensor, paddings, name=name)[0]
        tensor = convert_to_tensor(tensor)
        return apply_op("PadV2", tensor, paddings, constant_values, name=name)[0]
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad mode must be CONSTANT, REFLECT or SYMMETRIC, got '{mode}'")
    return apply_op("MirrorPad", tensor, paddings, mode=mode, name=name)[0]


def shape(input: Any, name: str | None = None, out_type: Any = dt.int32) -> Tensor:  # noqa: A002
    """The dynamic shape of ``input`` as a 1-D int tensor.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.shape(tf.zeros([2, 3])))
        array([2, 3], dtype=int32)
    """
    return apply_op("Shape", input, out_type=out_type, name=name)[0]


def size(input: Any, name: str | None = None, out_type: Any = dt.int32) -> Tensor:  # noqa: A002
    """The number of elements of ``input``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.size(tf.zeros([2, 3])))
        6
    """
    return apply_op("Size", input, out_type=out_type, name=name)[0]


def rank(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The number of dimensions of ``input``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.rank(tf.zeros([2, 3])))
        2
    """
    return apply_op("Rank", input, name=name)[0]


def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: int | None = None,
            dtype: Any = None, name: str | None = None) -> Tensor:
    """One-hot encode ``indices``; out-of-range indices give all ``off_value``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.one_hot([0, 2], 3))
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    if dtype is None:
        given = next((v for v in (on_value, off_value) if isinstance(v, Tensor)), None)
        dtype = given.dtype if given is not None else dt.float32
    dtype = dt.as_dtype(dtype)
    on = on_value if isinstance(on_value, Tensor) else np.array(1 if on_value is None else on_value, dtype=dtype.np_dtype)
    off = off_value if isinstance(off_value, Tensor) else np.array(0 if off_value is None else off_value, dtype=dtype.np_dtype)
    idx = convert_to_tensor(indices)
    return apply_op("OneHot", idx, depth, on, off, axis=-1 if axis is None else axis, name=name)[0]


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """With x and y: elementwise choose x where condition else y (broadcasting). Alone: coordinates of True.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.where([True, False], [1, 2], [9, 9]))
        array([1, 9], dtype=int32)
    """
    if x is None and y is None:
        return apply_op("Where", condition, name=name)[0]
    if x is None or y is None:
        raise ValueError("where needs both x and y, or neither")
    return apply_op("SelectV2", condition, x, y, name=name)[0]
