"""Slicing ops: slice, strided_slice (``tensor[...]``), gather and pad.

Each op's definition, shape function, gradient and Python wrapper are in this module.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..indexed_slices import IndexedSlices
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .base_array_ops import IDX, fill, range, shape, size, where
from .common import define, gradient, normalize_axis
from .grad_util import _as_shape_arg, _dims, _onehot_scatter, _pad_axis, _prod_dims, _segment_sum_axis, _static_or_dynamic_shape
from .shape_ops import concat, expand_dims, reshape, stack
from .slicing import index_from_spec, sliced_dims, spec_from_index


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
    if a == 0:
        return [_gathered_rows(params, indices, grad, k), None, None]
    g3 = reshape(grad, _as_shape_arg([_prod_dims(p[:a]), k if k is not None else size(indices), _prod_dims(p[a + 1:])]))
    out3 = _onehot_scatter(g3, reshape(indices, [-1]), p[a])
    return [reshape(out3, _static_or_dynamic_shape(params)), None, None]


def _gathered_rows(params: Tensor, indices: Tensor, grad: Tensor, k: int | None) -> IndexedSlices:
    # As TF: the gradient of a row gather is row-sparse, the gradient rows at the gathered indices.
    dense_shape = (np.array(params.shape.as_list(), np.int32) if params.shape.is_fully_defined()
                   else shape(params, out_type=dt.int32))
    n = k if k is not None else size(indices)
    values = reshape(grad, _as_shape_arg([n] + _dims(params)[1:]))
    return IndexedSlices(values, reshape(indices, _as_shape_arg([n])), convert_to_tensor(dense_shape))


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
