"""Array kernels: creation, shape manipulation, slicing, gathering and selection."""

from __future__ import annotations

import numpy as np

from tensorflux.extend import index_from_spec, slice_index


def const(*, value):
    return value


def placeholder(*, dtype, shape):
    raise ValueError("placeholder was not fed")


def identity(x):
    return x


def fill(dims, value):
    return np.full(tuple(int(d) for d in dims), value, dtype=np.asarray(value).dtype)


def range_(start, limit, delta):
    if delta == 0:
        raise ValueError("range: delta must not be zero")
    return np.arange(start, limit, delta, dtype=np.asarray(start).dtype)


def reshape(x, shape):
    target = [int(d) for d in np.reshape(shape, -1)]
    try:
        return np.reshape(x, tuple(target))
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {tuple(x.shape)} ({x.size} elements) into shape "
                         f"{target}") from None


def transpose(x, perm):
    return np.transpose(x, tuple(int(p) for p in perm))


def expand_dims(x, dim):
    d = int(np.reshape(dim, -1)[0])
    axis = d if d >= 0 else d + x.ndim + 1
    if not 0 <= axis <= x.ndim:
        return np.expand_dims(x, d)  # raises, naming the axis and the rank
    return np.reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, *, squeeze_dims):
    return np.squeeze(x, axis=tuple(squeeze_dims) if squeeze_dims else None)


def concat(*args):
    *values, axis = args
    return np.concatenate(values, axis=int(axis))


def pack(*values, axis):
    return np.stack(values, axis=axis)


def unpack(x, *, num, axis):
    moved = np.moveaxis(x, axis, 0)
    if moved.shape[0] != num:
        raise ValueError(f"cannot unstack {num} values from a dimension of size {moved.shape[0]}")
    # moved[i, ...] is always an array; moved[i] of a vector is a bare element (bytes for strings).
    return tuple(moved[i, ...] for i in range(num))


def split(split_dim, value, *, num_split):
    axis = int(split_dim)
    if value.shape[axis] % num_split:
        raise ValueError(f"dimension {axis} of size {value.shape[axis]} is not divisible by num_split={num_split}")
    return tuple(np.split(value, num_split, axis=axis))


def split_v(value, size_splits, split_dim):
    axis = int(split_dim)
    sizes = [int(s) for s in size_splits]
    if -1 in sizes:
        sizes[sizes.index(-1)] = value.shape[axis] - (sum(sizes) + 1)
    if sum(sizes) != value.shape[axis] or min(sizes, default=0) < 0:
        raise ValueError(f"split sizes {sizes} do not sum to dimension {axis} of size {value.shape[axis]}")
    return tuple(np.split(value, np.cumsum(sizes)[:-1], axis=axis))


def slice_(x, begin, size):
    return x[slice_index(begin, size, x.shape)]


def strided_slice(x, begin, end, strides, *, begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask):
    index = index_from_spec(begin, end, strides, begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask)
    # dtype=x.dtype: a single string element would otherwise become a fixed-width bytes array.
    return np.asarray(x[index], dtype=x.dtype)


def gather(params, indices, axis, *, batch_dims):
    if batch_dims:
        raise NotImplementedError("gather with batch_dims != 0 is not supported on cpu")
    axis = int(axis)
    dim = params.shape[axis]
    if indices.size and (indices.min() < 0 or indices.max() >= dim):
        bad = indices[(indices < 0) | (indices >= dim)].reshape(-1)[0]
        raise IndexError(f"index {bad} is not in [0, {dim}) for gather along axis {axis}")
    # asarray with the dtype: a scalar index into a string vector would otherwise give bare bytes.
    return np.asarray(np.take(params, indices, axis=axis), dtype=params.dtype)


def tile(x, multiples):
    reps = tuple(int(m) for m in np.reshape(multiples, -1))
    if len(reps) != x.ndim or x.dtype == object or min(reps, default=1) < 0:
        return np.tile(x, reps)
    if x.size == 1:  # a full reduction's gradient: one value, spread
        return np.full(reps, x.reshape(()), x.dtype)
    # One broadcast copy: [s0, s1] -> [1, s0, 1, s1] -> [r0, s0, r1, s1] -> [r0*s0, r1*s1].
    spread = np.reshape(x, tuple(d for s in x.shape for d in (1, s)))
    wide = np.broadcast_to(spread, tuple(d for r, s in zip(reps, x.shape) for d in (r, s)))
    return np.ascontiguousarray(wide).reshape(tuple(r * s for r, s in zip(reps, x.shape)))


def pad(x, paddings):
    # Strings pad with empty strings, as in TF; np.pad's default 0 would put ints into an object array.
    return np.pad(x, np.asarray(paddings, dtype=np.int64), constant_values=b"" if x.dtype == object else 0)


def pad_v2(x, paddings, constant_values):
    return np.pad(x, np.asarray(paddings, dtype=np.int64), constant_values=constant_values)


def mirror_pad(x, paddings, *, mode):
    return np.pad(x, np.asarray(paddings, dtype=np.int64), mode="reflect" if mode == "REFLECT" else "symmetric")


def shape(x, *, out_type):
    return np.array(np.shape(x), dtype=out_type.np_dtype)


def size(x, *, out_type):
    return np.array(np.size(x), dtype=out_type.np_dtype)


def rank(x):
    return np.array(np.ndim(x), dtype=np.int32)


def one_hot(indices, depth, on_value, off_value, *, axis):
    depth = int(depth)
    hot = np.expand_dims(indices, -1) == np.arange(depth)
    out = np.where(hot, on_value, off_value).astype(np.asarray(on_value).dtype, copy=False)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return out


def zeros_like(x):
    if x.dtype == object:
        return np.full(x.shape, b"", dtype=object)  # TF's zero string is empty; np.zeros_like gives int 0
    return np.zeros_like(x)


def ones_like(x):
    return np.ones_like(x)


def select(condition, t, e):
    out = np.where(condition, t, e)
    # np.where turns 0-d object (string) operands into a fixed-width bytes array; keep the input dtype.
    return out if out.dtype == t.dtype else out.astype(t.dtype)


def where(x):
    return np.argwhere(x).astype(np.int64)


KERNELS = {
    "Const": const, "Placeholder": placeholder, "PlaceholderWithDefault": identity, "Identity": identity,
    "StopGradient": identity, "ZerosLike": zeros_like, "OnesLike": ones_like, "Fill": fill, "Range": range_,
    "Reshape": reshape, "Transpose": transpose, "ExpandDims": expand_dims, "Squeeze": squeeze,
    "ConcatV2": concat, "Pack": pack, "Unpack": unpack, "Split": split, "SplitV": split_v, "Slice": slice_,
    "StridedSlice": strided_slice, "GatherV2": gather, "Tile": tile, "Pad": pad, "PadV2": pad_v2,
    "MirrorPad": mirror_pad, "Shape": shape, "Size": size, "Rank": rank, "OneHot": one_hot,
    "SelectV2": select, "Where": where,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
