"""Array kernels: constants, shapes, reshape (free), fill, transpose, tile, slicing, concat, gather.

Data movement does not depend on the dtype, only on its size, so one program per element size serves
every dtype. Reshape, ExpandDims and Squeeze return a view of the same buffer. Values that never left
the host (constants, shapes, their arithmetic) are computed in numpy and stay on the host.
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import index_from_spec, index_view, slice_index

from ..device import host_array, storage_type
from ._common import (
    MAXD,
    VARIANTS,
    collapse,
    contiguous_strides,
    host_value,
    i32,
    index_code,
    launch_1d,
    on_host,
    result_on_host,
    strided_args,
    strided_params,
    variant,
)


def _copy_kernel(nd: int) -> str:
    return (f"__kernel void copy_s{nd}(__global S* z, __global const S* a, int n, int off, {strided_params(1)}) {{\n"
            f"  int i = get_global_id(0); if (i >= n) return; {index_code(1, nd)} z[i] = a[off + o0]; }}\n")


def _source(itemsize: int) -> str:
    s = storage_type(np.dtype(f"u{itemsize}"))
    copies = "".join(_copy_kernel(nd) for nd in VARIANTS)
    return f"""
typedef {s} S;
{copies}
__kernel void copy_2d(__global S* z, __global const S* a, int n, int cols, int zld, int zoff, int ald) {{
  int i = get_global_id(0); if (i >= n) return; int r = i / cols, c = i % cols; z[r * zld + zoff + c] = a[r * ald + c]; }}
__kernel void fill(__global S* z, int n, S v) {{ int i = get_global_id(0); if (i < n) z[i] = v; }}
__kernel void gather_i(__global S* z, __global const S* p, __global const int* idx, int n, int nidx, int inner,
                       int dim) {{
  int i = get_global_id(0); if (i >= n) return; int c = i % inner; int t = i / inner; int j = t % nidx;
  int o = t / nidx; int k = idx[j]; z[i] = (k >= 0 && k < dim) ? p[(o * dim + k) * inner + c] : (S)0; }}
__kernel void gather_l(__global S* z, __global const S* p, __global const long* idx, int n, int nidx, int inner,
                       int dim) {{
  int i = get_global_id(0); if (i >= n) return; int c = i % inner; int t = i / inner; int j = t % nidx;
  int o = t / nidx; long k = idx[j]; z[i] = (k >= 0 && k < dim) ? p[(o * dim + k) * inner + c] : (S)0; }}
"""


def program(device, dtype):
    """The data-movement program for ``dtype``'s element size on ``device``."""
    size = np.dtype(dtype).itemsize
    return device.kernels(("array", size), lambda: _source(size))


def strided_copy(x, out_shape: tuple, strides: list, offset: int = 0):
    """A new array of ``out_shape`` whose element ``i`` is ``x``'s element at ``offset + <coords, strides>``.

    Example:
        >>> strided_copy.__name__
        'strided_copy'
    """
    dev = x.device
    out = dev.empty(out_shape, x.dtype)
    n = out.size
    if n == 0:
        return out
    dims, (st,) = collapse(list(out_shape), [list(strides)])
    if len(dims) > MAXD:
        raise ValueError(f"a copy of shape {list(out_shape)} needs {len(dims)} dimensions after merging; opencl "
                         f"kernels index at most {MAXD}")
    pad = MAXD - len(dims)
    nd = variant(tuple([1] * pad + dims))
    launch_1d(dev, getattr(program(dev, x.dtype), f"copy_s{nd}"), n, out.buffer, x.buffer, i32(n), i32(offset),
              *strided_args(tuple([1] * pad + dims), (tuple([0] * pad + st),)))
    return out


# -- values that start on the host ----------------------------------------------------------------------
def const(*, value, ctx):
    return host_array(ctx.device, np.asarray(value))


def identity(x):
    return x


def shape(x, *, out_type, ctx):
    return host_array(ctx.device, np.array(x.shape, dtype=out_type.np_dtype))


def size(x, *, out_type, ctx):
    return host_array(ctx.device, np.array(x.size, dtype=out_type.np_dtype))


def rank(x, *, ctx):
    return host_array(ctx.device, np.array(len(x.shape), dtype=np.int32))


def range_(start, limit, delta, *, ctx):
    s, lim, d = (host_value(v) for v in (start, limit, delta))
    if d == 0:
        raise ValueError("range: delta must not be zero")
    value = np.arange(s, lim, d, dtype=np.asarray(s).dtype)
    return result_on_host(ctx.device, value, value.dtype) if on_host(start, limit, delta) else ctx.device.from_host(value)


def fill(dims, value, *, ctx):
    shape_ = tuple(int(d) for d in np.reshape(host_value(dims), -1))
    return _filled(ctx.device, shape_, host_value(value))


def _filled(dev, shape_: tuple, value):
    value = np.asarray(value)
    out = dev.empty(shape_, value.dtype)
    bits = value.reshape(1).view(np.dtype(f"u{value.dtype.itemsize}"))[0]
    launch_1d(dev, program(dev, value.dtype).fill, out.size, out.buffer, i32(out.size), bits)
    return out


def zeros_like(x):
    return _filled(x.device, x.shape, np.zeros((), x.dtype))


def ones_like(x):
    return _filled(x.device, x.shape, np.ones((), x.dtype))


# -- views ---------------------------------------------------------------------------------------------
def reshape(x, shape):
    target = [int(d) for d in np.reshape(host_value(shape), -1)]
    try:
        new = _resolve(target, x.size)
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {list(x.shape)} ({x.size} elements) into shape "
                         f"{target}") from None
    return x.view(new)


def _resolve(target: list, size: int) -> tuple:
    if target.count(-1) > 1:
        raise ValueError("more than one -1")
    known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
    if -1 in target:
        if known == 0 or size % known:
            raise ValueError("not divisible")
        target = [size // known if d == -1 else d for d in target]
    if int(np.prod(target, dtype=np.int64)) != size:
        raise ValueError("size mismatch")
    return tuple(target)


def expand_dims(x, dim):
    d = int(np.reshape(host_value(dim), -1)[0])
    if not -x.ndim - 1 <= d <= x.ndim:
        raise ValueError(f"ExpandDims: dim {d} is out of range for a tensor of rank {x.ndim}")
    d = d % (x.ndim + 1)
    return x.view(x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x, *, squeeze_dims):
    axes = {a % x.ndim for a in squeeze_dims} if squeeze_dims else {i for i, d in enumerate(x.shape) if d == 1}
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"Squeeze: dimension {a} of shape {list(x.shape)} is {x.shape[a]}, not 1")
    return x.view(tuple(d for i, d in enumerate(x.shape) if i not in axes))


# -- copies --------------------------------------------------------------------------------------------
def transpose(x, perm):
    p = [int(v) for v in np.reshape(host_value(perm), -1)]
    if sorted(p) != list(range(x.ndim)):
        raise ValueError(f"Transpose: perm {p} is not a permutation of the {x.ndim} dimensions of {list(x.shape)}")
    if on_host(x):
        return result_on_host(x.device, np.transpose(x.host, p), x.dtype)
    cs = contiguous_strides(x.shape)
    return strided_copy(x, tuple(x.shape[a] for a in p), [cs[a] for a in p])


def tile(x, multiples):
    m = [int(v) for v in np.reshape(host_value(multiples), -1)]
    if len(m) != x.ndim:
        raise ValueError(f"Tile: multiples {m} must have one entry per dimension of {list(x.shape)}")
    if on_host(x):
        return result_on_host(x.device, np.tile(x.host, m), x.dtype)
    cs = contiguous_strides(x.shape)
    dims, strides = [], []
    for k, d in enumerate(x.shape):
        dims += [m[k], d]
        strides += [0, cs[k]]
    out = strided_copy(x, tuple(dims), strides)
    return out.view(tuple(mk * d for mk, d in zip(m, x.shape)))


def strided_slice(x, begin, end, strides, *, begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask):
    index = index_from_spec(host_value(begin), host_value(end), host_value(strides), begin_mask, end_mask,
                            ellipsis_mask, new_axis_mask, shrink_axis_mask)
    if on_host(x):
        return result_on_host(x.device, np.asarray(x.host[index]), x.dtype)
    shape_, st, offset = index_view(x.shape, contiguous_strides(x.shape), index)
    return strided_copy(x, shape_, st, offset)


def slice_(x, begin, size):
    index = slice_index(host_value(begin), host_value(size), x.shape)
    if on_host(x):
        return result_on_host(x.device, np.asarray(x.host[index]), x.dtype)
    shape_, st, offset = index_view(x.shape, contiguous_strides(x.shape), index)
    return strided_copy(x, shape_, st, offset)


def _concat(values: list, axis: int, ctx):
    first = values[0]
    nd = first.ndim
    if not -nd <= axis < max(nd, 1):
        raise ValueError(f"concat axis {axis} is out of range for tensors of rank {nd}")
    axis %= max(nd, 1)
    for v in values:
        if v.ndim != nd or v.shape[:axis] != first.shape[:axis] or v.shape[axis + 1:] != first.shape[axis + 1:]:
            raise ValueError(f"concat: shapes {[list(u.shape) for u in values]} differ outside axis {axis}")
    if on_host(*values):
        return result_on_host(ctx.device, np.concatenate([v.host for v in values], axis=axis), first.dtype)
    out_shape = first.shape[:axis] + (sum(v.shape[axis] for v in values),) + first.shape[axis + 1:]
    dev = ctx.device
    out = dev.empty(out_shape, first.dtype)
    rows = int(np.prod(first.shape[:axis], dtype=np.int64))
    width = out.size // rows if rows else 0
    prog = program(dev, first.dtype)
    offset = 0
    for v in values:
        cols = v.size // rows if rows else 0
        if cols:
            launch_1d(dev, prog.copy_2d, v.size, out.buffer, v.buffer, i32(v.size), i32(cols), i32(width),
                      i32(offset), i32(cols))
        offset += cols
    return out


def concat(*args, ctx):
    *values, axis = args
    return _concat(values, int(host_value(axis)), ctx)


def pack(*values, axis, ctx):
    nd = values[0].ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"Pack: axis {axis} is out of range for rank {nd - 1} values")
    axis %= nd
    shapes = {v.shape for v in values}
    if len(shapes) != 1:
        raise ValueError(f"Pack: values must have one shape, got {[list(v.shape) for v in values]}")
    return _concat([v.view(v.shape[:axis] + (1,) + v.shape[axis:]) for v in values], axis, ctx)


def gather(params, indices, axis, *, batch_dims):
    if batch_dims:
        raise NotImplementedError("gather with batch_dims != 0 is not supported on opencl")
    ax = int(host_value(axis))
    if not -params.ndim <= ax < params.ndim:
        raise ValueError(f"GatherV2: axis {ax} is out of range for params of rank {params.ndim}")
    ax %= params.ndim
    dim = params.shape[ax]
    if indices.host is not None and indices.size:
        idx = indices.host
        if idx.min() < 0 or idx.max() >= dim:
            bad = idx[(idx < 0) | (idx >= dim)].reshape(-1)[0]
            raise IndexError(f"index {bad} is not in [0, {dim}) for gather along axis {ax}")
        if on_host(params, indices):
            return result_on_host(params.device, np.take(params.host, idx, axis=ax), params.dtype)
    dev = params.device
    out_shape = params.shape[:ax] + indices.shape + params.shape[ax + 1:]
    out = dev.empty(out_shape, params.dtype)
    if out.size == 0:
        return out
    inner = int(np.prod(params.shape[ax + 1:], dtype=np.int64))
    prog = program(dev, params.dtype)
    kernel = prog.gather_l if indices.dtype.itemsize == 8 else prog.gather_i
    launch_1d(dev, kernel, out.size, out.buffer, params.buffer, indices.buffer, i32(out.size), i32(indices.size),
              i32(inner), i32(dim))
    return out


def where(x, *, ctx):
    """Where needs its output size on the host: one download, numpy, one upload."""
    value = np.argwhere(host_value(x)).astype(np.int64)
    return result_on_host(ctx.device, value, np.int64) if on_host(x) else ctx.device.from_host(value)


KERNELS = {
    "Identity": identity, "StopGradient": identity, "PlaceholderWithDefault": identity, "ZerosLike": zeros_like,
    "OnesLike": ones_like, "Reshape": reshape, "ExpandDims": expand_dims, "Squeeze": squeeze,
    "Transpose": transpose, "Tile": tile, "StridedSlice": strided_slice, "Slice": slice_, "ConcatV2": concat,
    "Pack": pack, "Shape": shape, "Size": size, "Rank": rank,
}


def register(registrar, dtypes: dict) -> None:
    """Data movement works for every numeric and bool dtype; strings stay on the cpu."""
    movable = dtypes["movable"]
    for op, fn in KERNELS.items():
        registrar.kernel(op, "opencl", fn, dtypes=movable)
    registrar.kernel("Const", "opencl", const, dtypes=movable, type_attr="dtype")
    registrar.kernel("Fill", "opencl", fill, dtypes=movable)
    registrar.kernel("GatherV2", "opencl", gather, dtypes=movable, type_attr="Tparams")
    registrar.kernel("Range", "opencl", range_, dtypes=dtypes["f"] + dtypes["i"], type_attr="Tidx")
    registrar.kernel("Where", "opencl", where, dtypes=dtypes["all"])
