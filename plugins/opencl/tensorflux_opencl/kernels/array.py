"""Array kernels: fill, transpose, tile, slicing, concat, gather; constants, shapes and views are the SDK's.

Data movement does not depend on the dtype, only on its size, so one program per element size serves
every dtype. Constants, Shape, Size, Rank, Range, Where and the views (Reshape, ExpandDims, Squeeze) need
no device code: tensorflux.extend's ``device_array_kernels`` serve them. Values that never left the host
(constants, shapes, their arithmetic) are computed in numpy here too and stay on the host.
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import (
    collapse,
    contiguous_strides,
    device_array_kernels,
    host_array,
    host_value,
    index_from_spec,
    index_view,
    on_host,
    slice_index,
)

from ..device import storage_type
from ._common import MAXD, VARIANTS, i32, index_code, launch_1d, strided_args, strided_params, variant


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


# -- filled values ------------------------------------------------------------------------------------
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


# -- copies --------------------------------------------------------------------------------------------
def transpose(x, perm):
    p = [int(v) for v in np.reshape(host_value(perm), -1)]
    if sorted(p) != list(range(x.ndim)):
        raise ValueError(f"Transpose: perm {p} is not a permutation of the {x.ndim} dimensions of {list(x.shape)}")
    if on_host(x):
        return host_array(x.device, np.transpose(x.host, p), x.dtype)
    return permuted_copy(x, p)


def permuted_copy(x, perm):
    """``x`` with its axes in the order ``perm``, as a new contiguous array.

    Example:
        >>> permuted_copy.__name__
        'permuted_copy'
    """
    cs = contiguous_strides(x.shape)
    return strided_copy(x, tuple(x.shape[a] for a in perm), [cs[a] for a in perm])


def tile(x, multiples):
    m = [int(v) for v in np.reshape(host_value(multiples), -1)]
    if len(m) != x.ndim:
        raise ValueError(f"Tile: multiples {m} must have one entry per dimension of {list(x.shape)}")
    if on_host(x):
        return host_array(x.device, np.tile(x.host, m), x.dtype)
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
        return host_array(x.device, np.asarray(x.host[index]), x.dtype)
    shape_, st, offset = index_view(x.shape, contiguous_strides(x.shape), index)
    return strided_copy(x, shape_, st, offset)


def slice_(x, begin, size):
    index = slice_index(host_value(begin), host_value(size), x.shape)
    if on_host(x):
        return host_array(x.device, np.asarray(x.host[index]), x.dtype)
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
        return host_array(ctx.device, np.concatenate([v.host for v in values], axis=axis), first.dtype)
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
            return host_array(params.device, np.take(params.host, idx, axis=ax), params.dtype)
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


# Ops that need no device code, served by the SDK: views of the same block and values computed on the host.
SHARED = ("Const", "Identity", "StopGradient", "PlaceholderWithDefault", "Reshape", "ExpandDims", "Squeeze", "Shape",
          "Size", "Rank")
TYPED_BY_DTYPE = ("Const", "PlaceholderWithDefault")  # ops whose data type attribute is ``dtype``, not ``T``
KERNELS = {
    "ZerosLike": zeros_like, "OnesLike": ones_like, "Transpose": transpose, "Tile": tile,
    "StridedSlice": strided_slice, "Slice": slice_, "ConcatV2": concat, "Pack": pack,
}


def register(registrar, dtypes: dict) -> None:
    """Data movement works for every numeric and bool dtype; strings stay on the cpu."""
    movable = dtypes["movable"]
    shared = device_array_kernels()
    for op, fn in {**{op: shared[op] for op in SHARED}, **KERNELS}.items():
        registrar.kernel(op, "opencl", fn, dtypes=movable, type_attr="dtype" if op in TYPED_BY_DTYPE else "T")
    registrar.kernel("Fill", "opencl", fill, dtypes=movable)
    registrar.kernel("GatherV2", "opencl", gather, dtypes=movable, type_attr="Tparams")
    registrar.kernel("Range", "opencl", shared["Range"], dtypes=dtypes["f"] + dtypes["i"], type_attr="Tidx")
    registrar.kernel("Where", "opencl", shared["Where"], dtypes=dtypes["all"])
