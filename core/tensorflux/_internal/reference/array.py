"""Array reference kernels: creation, shapes, joining and splitting, slicing, gathering, padding and selection.

Shape-like inputs (a reshape's shape, a slice's begin, an axis) arrive as device arrays; ``host_ints``
reads them element by element, the one read the standard offers.
"""

from __future__ import annotations

from typing import Any, Callable

from ..geometry import slice_index, strided_slice_index
from .common import axis_slice, host_int, host_ints, in_bounds, py_scalar, xp_dtype


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the array ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> kernels(np)["Tile"](np.array([1, 2]), np.array([2])).tolist()
        [1, 2, 1, 2]
    """

    def const(*, value, ctx):
        return ctx.device.from_host(value)

    def placeholder(*, dtype, shape):
        raise ValueError("placeholder was not fed")

    def identity(x):
        return x

    def zeros_like(x):
        return xp.zeros_like(x)

    def ones_like(x):
        return xp.ones_like(x)

    def fill(dims, value):
        return xp.full(tuple(host_ints(dims)), py_scalar(xp, value), dtype=value.dtype, device=value.device)

    def range_(start, limit, delta):
        step = py_scalar(xp, delta)
        if step == 0:
            raise ValueError("range: delta must not be zero")
        return xp.arange(py_scalar(xp, start), py_scalar(xp, limit), step, dtype=start.dtype, device=start.device)

    def reshape(x, shape):
        target = host_ints(shape)
        try:
            return xp.reshape(x, tuple(target))
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {tuple(x.shape)} ({x.size} elements) into shape "
                             f"{target}") from None

    def transpose(x, perm):
        return xp.permute_dims(x, tuple(host_ints(perm)))

    def expand_dims(x, dim):
        d = host_int(dim)
        axis = d if d >= 0 else d + x.ndim + 1
        if not 0 <= axis <= x.ndim:
            raise ValueError(f"ExpandDims: dim {d} is out of range for a tensor of rank {x.ndim} "
                             f"(expected [{-x.ndim - 1}, {x.ndim}])")
        return xp.expand_dims(x, axis=axis)

    def squeeze(x, *, squeeze_dims):
        axes = tuple(squeeze_dims) if squeeze_dims else tuple(i for i, d in enumerate(x.shape) if d == 1)
        return xp.squeeze(x, axis=axes) if axes else x

    def concat(*args):
        *values, axis = args
        return xp.concat(values, axis=host_int(axis))

    def pack(*values, axis):
        return xp.stack(values, axis=axis)

    def unpack(x, *, num, axis):
        if x.shape[axis] != num:
            raise ValueError(f"cannot unstack {num} values from a dimension of size {x.shape[axis]}")
        return tuple(xp.unstack(x, axis=axis))

    def pieces(value, axis: int, sizes: list) -> tuple:
        out, start = [], 0
        for size in sizes:
            out.append(value[axis_slice(value.ndim, axis, start, start + size)])
            start += size
        return tuple(out)

    def split(split_dim, value, *, num_split):
        axis = host_int(split_dim) % value.ndim
        dim = value.shape[axis]
        if dim % num_split:
            raise ValueError(f"dimension {axis} of size {dim} is not divisible by num_split={num_split}")
        return pieces(value, axis, [dim // num_split] * num_split)

    def split_v(value, size_splits, split_dim):
        axis = host_int(split_dim) % value.ndim
        sizes = host_ints(size_splits)
        if -1 in sizes:
            sizes[sizes.index(-1)] = value.shape[axis] - (sum(sizes) + 1)
        if sum(sizes) != value.shape[axis] or min(sizes, default=0) < 0:
            raise ValueError(f"split sizes {sizes} do not sum to dimension {axis} of size {value.shape[axis]}")
        return pieces(value, axis, sizes)

    def slice_(x, begin, size):
        return x[slice_index(host_ints(begin), host_ints(size), tuple(x.shape)) + (...,)]

    def strided_slice(x, begin, end, strides, *, begin_mask, end_mask, ellipsis_mask, new_axis_mask,
                      shrink_axis_mask):
        index = strided_slice_index(host_ints(begin), host_ints(end), host_ints(strides), begin_mask, end_mask,
                                    ellipsis_mask, new_axis_mask, shrink_axis_mask)
        return x[in_bounds(index, tuple(x.shape))]

    def gather(params, indices, axis, *, batch_dims):
        if batch_dims:
            raise NotImplementedError("gather with batch_dims != 0 is not supported by the reference kernels")
        axis = host_int(axis) % params.ndim
        dim = params.shape[axis]
        bad = (indices < 0) | (indices >= dim)
        if xp.any(bad):
            first = host_ints(indices[bad])[0]
            raise IndexError(f"index {first} is not in [0, {dim}) for gather along axis {axis}")
        flat = xp.take(params, xp.reshape(indices, (-1,)), axis=axis)  # the standard's take wants 1-D indices
        return xp.reshape(flat, tuple(params.shape[:axis]) + tuple(indices.shape) + tuple(params.shape[axis + 1:]))

    def tile(x, multiples):
        return xp.tile(x, tuple(host_ints(multiples)))

    def padded(x, paddings, fill_value) -> Any:
        """``x`` with constant blocks concatenated before and after each axis (the standard has no pad)."""
        widths = host_ints(paddings)
        for axis in range(x.ndim):
            before, after = widths[2 * axis], widths[2 * axis + 1]
            if before < 0 or after < 0:
                raise ValueError(f"paddings must be non-negative, got {before} and {after} for dimension {axis}")
            parts = []
            for width in (before, after):
                shape = tuple(width if i == axis else d for i, d in enumerate(x.shape))
                parts.append(xp.full(shape, fill_value, dtype=x.dtype, device=x.device))
            x = xp.concat([parts[0], x, parts[1]], axis=axis)
        return x

    def pad(x, paddings):
        return padded(x, paddings, False if xp.isdtype(x.dtype, "bool") else 0)

    def pad_v2(x, paddings, constant_values):
        return padded(x, paddings, py_scalar(xp, constant_values))

    def mirror_pad(x, paddings, *, mode):
        widths = host_ints(paddings)
        skip = 1 if mode == "REFLECT" else 0  # REFLECT leaves out the edge element, SYMMETRIC repeats it
        for axis in range(x.ndim):
            before, after, d = widths[2 * axis], widths[2 * axis + 1], x.shape[axis]
            if min(before, after) < 0 or max(before, after) > d - skip:
                raise ValueError(f"MirrorPad ({mode}): paddings {before}, {after} of dimension {axis} must be in "
                                 f"[0, {d - skip}] for its size {d}")
            head = xp.flip(x[axis_slice(x.ndim, axis, skip, skip + before)], axis=axis)
            tail = xp.flip(x[axis_slice(x.ndim, axis, d - skip - after, d - skip)], axis=axis)
            x = xp.concat([head, x, tail], axis=axis)
        return x

    def shape(x, *, out_type):
        return xp.asarray(list(x.shape), dtype=xp_dtype(xp, out_type), device=x.device)

    def size(x, *, out_type):
        return xp.asarray(x.size, dtype=xp_dtype(xp, out_type), device=x.device)

    def rank(x):
        return xp.asarray(x.ndim, dtype=xp.int32, device=x.device)

    def one_hot(indices, depth, on_value, off_value, *, axis):
        classes = xp.arange(host_int(depth), dtype=indices.dtype, device=indices.device)
        out = xp.where(xp.expand_dims(indices, axis=-1) == classes, on_value, off_value)
        return out if axis == -1 else xp.moveaxis(out, -1, axis)

    def select(condition, t, e):
        return xp.where(condition, t, e)

    def where(x):
        if x.ndim == 0:
            return xp.zeros((1 if bool(x) else 0, 0), dtype=xp.int64, device=x.device)
        return xp.astype(xp.stack(xp.nonzero(x), axis=-1), xp.int64)

    def top_k(x, k, *, sorted):  # noqa: A002 - TF's attr name
        k, n = host_int(k), x.shape[-1]
        if not 0 <= k <= n:
            raise ValueError(f"input must have at least k={k} columns, had {n} (input shape {list(x.shape)})")
        # A stable ascending sort of the reversed row, read backwards, is descending with ties to the lower
        # index, as TF's (and needs no ``descending``, which numpy's own sort lacks).
        backwards = xp.flip(xp.argsort(xp.flip(x, axis=-1), axis=-1, stable=True), axis=-1)[..., :k]
        values = xp.flip(xp.sort(x, axis=-1, stable=True), axis=-1)[..., :k]
        return values, xp.astype((n - 1) - backwards, xp.int32)

    def identity_n(*inputs):
        return tuple(inputs)

    return {
        "Const": const, "Placeholder": placeholder, "PlaceholderWithDefault": identity, "Identity": identity,
        "IdentityN": identity_n,
        "StopGradient": identity, "ZerosLike": zeros_like, "OnesLike": ones_like, "Fill": fill, "Range": range_,
        "Reshape": reshape, "Transpose": transpose, "ExpandDims": expand_dims, "Squeeze": squeeze,
        "ConcatV2": concat, "Pack": pack, "Unpack": unpack, "Split": split, "SplitV": split_v, "Slice": slice_,
        "StridedSlice": strided_slice, "GatherV2": gather, "Tile": tile, "Pad": pad, "PadV2": pad_v2,
        "MirrorPad": mirror_pad, "Shape": shape, "Size": size, "Rank": rank, "OneHot": one_hot,
        "SelectV2": select, "Where": where, "TopKV2": top_k,
    }
