"""3-D convolution and pooling kernels: im2col over a strided view of the padded input, then BLAS products.

A Conv3D output pixel is the product of its patch (the kd * kh * kw * c input values its window reads) with the
filter as a [kd * kh * kw * c, out] matrix. The padded NDHWC input read through ``as_strided`` as
[n, od, oh, ow, kd, kh, kw, c] *is* the patch matrix of every pixel, without a copy; each block of output
pixels (whole output planes, or rows of one plane for large planes) copies its patches out of that view into a
column matrix of at most ``BLOCK_BYTES`` and multiplies it:

- forward: columns @ filter, written straight into the block's rows of the output;
- filter gradient: columns^T @ dy, summed over blocks (one partial per task);
- input gradient: dy @ filter^T gives each pixel's patch gradient, added back through a writable strided view
  of the task's own padded slab (one add per window cell, each without overlap); the slabs are then summed
  into the padded input gradient, whose padding is cropped.

Blocks are grouped into tasks (runs of blocks of one image) spread over the plugin's threads when the work is
large (``blas.n_chunks``); a lone block multiplies with ``blas.matmul``, which splits the product itself.
Pools reduce one strided slice of the padded input per window cell (padding: the least value for max, 0 for sums).
float32 and float64 compute in their own dtype; float16 and bfloat16 in float32, rounded once; NCDHW is
transposed to NDHWC and back.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import as_strided

from tensorflux.extend import conv3d_geometry, pool3d_geometry, to_ndhwc

from .. import blas

# A block's column matrix is kept about this size, so it is written and read back while in cache.
BLOCK_BYTES = 1 << 22
_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))


# -- layout ---------------------------------------------------------------------------------------------------
def _compute_dtype(dtype):
    return np.dtype(np.float32) if np.dtype(dtype) in _LOW_PRECISION else np.dtype(dtype)


def _ndhwc(x, data_format, dtype):
    x = np.transpose(x, (0, 2, 3, 4, 1)) if data_format == "NCDHW" else x
    return np.ascontiguousarray(x, dtype=dtype)


def _from_ndhwc(x, data_format, dtype):
    x = np.transpose(x, (0, 4, 1, 2, 3)) if data_format == "NCDHW" else x
    return np.ascontiguousarray(x).astype(dtype, copy=False)


def _sizes(value):
    return tuple(int(s) for s in np.reshape(value, -1))


def _padded(xn, geo, fill=0):
    if not geo.padded:
        return xn
    out = np.full(geo.padded_shape(), fill, xn.dtype)
    (d0, _), (h0, _), (w0, _) = geo.pads
    d, h, w = geo.size
    out[:, d0:d0 + d, h0:h0 + h, w0:w0 + w] = xn
    return out


def _crop(xp, geo):
    (d0, _), (h0, _), (w0, _) = geo.pads
    d, h, w = geo.size
    return xp[:, d0:d0 + d, h0:h0 + h, w0:w0 + w] if geo.padded else xp


def _windows(padded, geo, out=None, writeable=False):
    """``padded`` [.., D, H, W, c] (a 5-D array, or one image's 4-D slab) as [.., od, oh, ow, kd, kh, kw, c]: the
    windows of ``out`` (default: every output pixel) pixels, which must lie inside ``padded``."""
    *lead, sd, sh, sw, sc = padded.strides
    (Sd, Sh, Sw), (Dd, Dh, Dw) = geo.strides, geo.dilations
    out = geo.out if out is None else out
    for size, o, s, k, dl in zip(padded.shape[-4:-1], out, geo.strides, geo.window, geo.dilations):
        assert o == 0 or (o - 1) * s + (k - 1) * dl < size, "windows past the end of the array"
    shape = (*padded.shape[:-4], *out, *geo.window, geo.c)
    return as_strided(padded, shape, (*lead, sd * Sd, sh * Sh, sw * Sw, sd * Dd, sh * Dh, sw * Dw, sc),
                      writeable=writeable)


# -- blocks and tasks -----------------------------------------------------------------------------------------
def _blocks(geo, row_bytes, chunks):
    """Blocks of output pixels as (image, d0, d1, h0, h1): whole planes d0:d1, or rows h0:h1 of plane d0."""
    od, oh, ow = geo.out
    rows = max(1, min(BLOCK_BYTES // max(row_bytes, 1), math.ceil(geo.n * od * oh * ow / chunks)))
    blocks = []
    for b in range(geo.n):
        if rows >= oh * ow:
            step = rows // (oh * ow)
            blocks += [(b, d, min(d + step, od), 0, oh) for d in range(0, od, step)]
        else:
            step = max(1, rows // ow)
            blocks += [(b, d, d + 1, h, min(h + step, oh)) for d in range(od) for h in range(0, oh, step)]
    return blocks


def _tasks(blocks, chunks):
    """The blocks cut into about ``chunks`` contiguous runs, none spanning two images."""
    tasks = []
    for lo, hi in blas.chunk_bounds(len(blocks), chunks):
        run = [blocks[lo]]
        for block in blocks[lo + 1:hi]:
            if block[0] != run[-1][0]:
                tasks.append(run)
                run = []
            run.append(block)
        tasks.append(run)
    return tasks


def _plan(geo, row_bytes):
    chunks = blas.n_chunks(geo.flops())
    blocks = _blocks(geo, row_bytes, chunks)
    return blocks, _tasks(blocks, chunks), chunks > 1


def _run(fn, tasks, parallel):
    if parallel and len(tasks) > 1:
        return blas.parallel_chunks(fn, len(tasks))
    with blas.single_threaded():
        return [fn(i) for i in range(len(tasks))]


def _product(lone):
    # A lone block is the whole op: blas.matmul splits it across threads itself.
    return blas.matmul if lone else np.matmul


# -- convolutions ---------------------------------------------------------------------------------------------
def _forward(xn, f, geo, ct):
    """The NDHWC convolution of ``xn`` (in the compute dtype ``ct``) with ``f`` [kd, kh, kw, c, o] over ``geo``."""
    o, k = geo.f_shape[4], geo.taps_count * geo.c
    if geo.empty or k == 0 or o == 0:
        return np.zeros(geo.out_shape(), ct)
    fmat = np.ascontiguousarray(f, dtype=ct).reshape(k, o)
    windows = _windows(_padded(xn, geo), geo)
    out = np.empty(geo.out_shape(), ct)
    blocks, tasks, parallel = _plan(geo, k * ct.itemsize)
    product = _product(len(blocks) == 1)

    def task(i):
        for b, d0, d1, h0, h1 in tasks[i]:
            cols = np.ascontiguousarray(windows[b, d0:d1, h0:h1]).reshape(-1, k)
            out[b, d0:d1, h0:h1] = product(cols, fmat).reshape(out[b, d0:d1, h0:h1].shape)

    _run(task, tasks, parallel)
    return out


def conv3d(x, f, *, strides, padding, data_format, dilations):
    """Conv3D: the cross-correlation of a 5-D ``x`` with ``f`` [kd, kh, kw, in_channels, out_channels]."""
    ct = _compute_dtype(x.dtype)
    xn = _ndhwc(x, data_format, ct)
    geo = conv3d_geometry(xn.shape, f.shape, strides, padding, data_format, dilations)
    return _from_ndhwc(_forward(xn, f, geo, ct), data_format, x.dtype)


def conv3d_backprop_filter(x, filter_sizes, dy, *, strides, padding, data_format, dilations):
    """Conv3DBackpropFilterV2: the gradient of Conv3D with respect to its filter (of shape ``filter_sizes``)."""
    f_shape = _sizes(filter_sizes)
    ct = _compute_dtype(x.dtype)
    xn = _ndhwc(x, data_format, ct)
    geo = conv3d_geometry(xn.shape, f_shape, strides, padding, data_format, dilations)
    dyn = _ndhwc(dy, data_format, ct)
    geo.check_out(dyn.shape)
    o, k = f_shape[4], geo.taps_count * geo.c
    if geo.empty or k == 0 or o == 0:
        return np.zeros(f_shape, x.dtype)
    windows = _windows(_padded(xn, geo), geo)
    blocks, tasks, parallel = _plan(geo, k * ct.itemsize)
    product = _product(len(blocks) == 1)

    def task(i):
        total = None
        for b, d0, d1, h0, h1 in tasks[i]:
            cols = np.ascontiguousarray(windows[b, d0:d1, h0:h1]).reshape(-1, k)
            part = product(cols.T, dyn[b, d0:d1, h0:h1].reshape(-1, o))
            total = part if total is None else np.add(total, part, out=total)
        return total

    parts = _run(task, tasks, parallel)
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total.reshape(f_shape).astype(x.dtype, copy=False)


def _unstrided_backprop_input(dyn, f, geo, ct):
    """The input gradient of a stride-1 convolution as a forward one: ``dy``, padded so that every input cell has a
    whole window, convolved (VALID, same dilations) with the filter flipped in space and transposed to
    [kd, kh, kw, o, c]. One product per block and no scattered adds."""
    pads = [(0, 0)]
    for (k, dl, (before, _), size, out) in zip(geo.window, geo.dilations, geo.pads, geo.size, geo.out):
        reach = (k - 1) * dl
        pads.append((reach - before, size + before - out))
    dyp = np.pad(dyn, pads + [(0, 0)])
    flipped = np.ascontiguousarray(np.transpose(f[::-1, ::-1, ::-1], (0, 1, 2, 4, 3)), dtype=ct)
    back = conv3d_geometry(dyp.shape, flipped.shape, [1] * 5, "VALID", "NDHWC", [1, *geo.dilations, 1])
    return _forward(dyp, flipped, back, ct)


def conv3d_backprop_input(input_sizes, f, dy, *, strides, padding, data_format, dilations):
    """Conv3DBackpropInputV2: the gradient of Conv3D with respect to its input (of shape ``input_sizes``)."""
    sizes = _sizes(input_sizes)
    ct = _compute_dtype(dy.dtype)
    geo = conv3d_geometry(to_ndhwc(sizes, data_format), f.shape, strides, padding, data_format, dilations)
    dyn = _ndhwc(dy, data_format, ct)
    geo.check_out(dyn.shape)
    o, k = geo.f_shape[4], geo.taps_count * geo.c
    dx = np.zeros(geo.padded_shape(), ct)
    if geo.empty or k == 0 or o == 0:
        return _from_ndhwc(_crop(dx, geo), data_format, dy.dtype)
    if geo.strides == (1, 1, 1):
        return _from_ndhwc(_unstrided_backprop_input(dyn, f, geo, ct), data_format, dy.dtype)
    fmat_t = np.ascontiguousarray(np.ascontiguousarray(f, dtype=ct).reshape(k, o).T)
    blocks, tasks, parallel = _plan(geo, k * ct.itemsize)
    product = _product(len(blocks) == 1)
    (Sd, Sh, _), (kd, kh, _), (Dd, Dh, _) = geo.strides, geo.window, geo.dilations

    def task(i):
        run = tasks[i]
        b, first, last = run[0][0], run[0][1] * Sd, (run[-1][2] - 1) * Sd + (kd - 1) * Dd + 1
        slab = np.zeros((last - first, *dx.shape[2:]), ct)  # the padded input planes this task's windows read
        for _, d0, d1, h0, h1 in run:
            back = product(dyn[b, d0:d1, h0:h1].reshape(-1, o), fmat_t)
            back = back.reshape(d1 - d0, h1 - h0, geo.out[2], *geo.window, geo.c)
            top, rows = d0 * Sd - first, (h1 - 1) * Sh + (kh - 1) * Dh + 1
            cells = _windows(slab[top:, h0 * Sh:rows], geo, (d1 - d0, h1 - h0, geo.out[2]), writeable=True)
            for tap in np.ndindex(*geo.window):
                cells[:, :, :, tap[0], tap[1], tap[2]] += back[:, :, :, tap[0], tap[1], tap[2]]
        return b, first, slab

    for b, first, slab in _run(task, tasks, parallel):
        dx[b, first:first + slab.shape[0]] += slab
    return _from_ndhwc(_crop(dx, geo), data_format, dy.dtype)


# -- pooling --------------------------------------------------------------------------------------------------
def _cells(padded, geo):
    """Per window cell (row-major), the [n, od, oh, ow, c] strided slice of ``padded`` it meets in every window."""
    return [padded[:, sd, sh, sw] for _, (sd, sh, sw) in geo.taps()]


def _max(xn, geo):
    lowest = np.iinfo(xn.dtype).min if xn.dtype.kind in "iu" else -np.inf
    cells = _cells(_padded(xn, geo, lowest), geo)
    top = cells[0].copy()
    for cell in cells[1:]:
        np.maximum(top, cell, out=top)
    return cells, top


def _first_max_hits(xn, geo):
    """Per window cell in order, (its [n, od, oh, ow, c] mask: whether it is its window's first maximum, its slices)."""
    cells, top = _max(xn, geo)
    pending = np.ones(top.shape, bool)  # windows whose maximum has not been found yet
    for cell, (tap, slices) in zip(cells, geo.taps()):
        hit = np.equal(cell, top)
        hit &= pending
        if geo.padded:  # padding holds the least value, which a window of real least values also tops
            hit &= _inside(geo, tap)
        pending ^= hit
        yield hit, slices


def max_pool3d(x, *, ksize, strides, padding, data_format):
    """MaxPool3D: the maximum of each window; padding never wins."""
    ct = _compute_dtype(x.dtype)
    xn = _ndhwc(x, data_format, ct)
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    out = np.zeros(geo.out_shape(), ct) if geo.empty else _max(xn, geo)[1]
    return _from_ndhwc(out, data_format, x.dtype)


def _inside(geo, tap):
    """[1, od, oh, ow, 1]: whether window cell ``tap`` lies in the real (unpadded) input, per window."""
    d, h, w = (np.asarray(v) for v in geo.inside(tap))
    return (d[:, None, None] & h[None, :, None] & w[None, None, :])[None, :, :, :, None]


def max_pool3d_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
    """MaxPool3DGrad: each window's gradient goes to its first maximum, in (depth, height, width) order."""
    ct = _compute_dtype(grad.dtype)
    xn = _ndhwc(orig_input, data_format, _compute_dtype(orig_input.dtype))
    g = _ndhwc(grad, data_format, ct)
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(g.shape, "grad")
    dx = np.zeros(geo.padded_shape(), ct)
    if not geo.empty:
        share = np.empty(g.shape, ct)
        for hit, (sd, sh, sw) in _first_max_hits(xn, geo):
            share.fill(0)
            np.copyto(share, g, where=hit)  # not g * hit: an inf or nan gradient must not reach the other cells
            dx[:, sd, sh, sw] += share
    return _from_ndhwc(_crop(dx, geo), data_format, grad.dtype)


def max_pool3d_grad_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
    """MaxPool3DGradGrad: per window, the cell of ``grad`` (shaped as ``orig_input``) at the window's first maximum."""
    ct = _compute_dtype(grad.dtype)
    xn = _ndhwc(orig_input, data_format, _compute_dtype(orig_input.dtype))
    g = _ndhwc(grad, data_format, ct)
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    if g.shape != xn.shape:
        raise ValueError(f"grad has shape {list(grad.shape)}, expected orig_input's {list(orig_input.shape)}")
    out = np.zeros(geo.out_shape(), ct)
    if not geo.empty:
        gp = _padded(g, geo)
        for hit, (sd, sh, sw) in _first_max_hits(xn, geo):
            np.copyto(out, gp[:, sd, sh, sw], where=hit)  # one hit per window
    return _from_ndhwc(out, data_format, grad.dtype)


def _counts(geo, dtype):
    """[1, od, oh, ow, 1]: how many real (unpadded) cells each window covers."""
    d, h, w = (np.asarray(v, dtype) for v in geo.valid_counts())
    return (d[:, None, None] * h[None, :, None] * w[None, None, :])[None, :, :, :, None]


def avg_pool3d(x, *, ksize, strides, padding, data_format):
    """AvgPool3D: the mean of each window over its real (unpadded) cells."""
    ct = _compute_dtype(x.dtype)
    xn = _ndhwc(x, data_format, ct)
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    if geo.empty:
        return _from_ndhwc(np.zeros(geo.out_shape(), ct), data_format, x.dtype)
    cells = _cells(_padded(xn, geo), geo)
    total = cells[0].copy()
    for cell in cells[1:]:
        total += cell
    total /= _counts(geo, ct)
    return _from_ndhwc(total, data_format, x.dtype)


def avg_pool3d_grad(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    """AvgPool3DGrad: each window's gradient shared equally among its real cells."""
    sizes = _sizes(orig_input_shape)
    ct = _compute_dtype(grad.dtype)
    geo = pool3d_geometry(to_ndhwc(sizes, data_format), ksize, strides, padding, data_format)
    g = _ndhwc(grad, data_format, ct)
    geo.check_out(g.shape, "grad")
    dx = np.zeros(geo.padded_shape(), ct)
    if not geo.empty:
        share = g / _counts(geo, ct)
        for _, (sd, sh, sw) in geo.taps():
            dx[:, sd, sh, sw] += share
    return _from_ndhwc(_crop(dx, geo), data_format, grad.dtype)


KERNELS = {
    "Conv3D": conv3d, "Conv3DBackpropInputV2": conv3d_backprop_input, "Conv3DBackpropFilterV2": conv3d_backprop_filter,
    "MaxPool3D": max_pool3d, "MaxPool3DGrad": max_pool3d_grad, "MaxPool3DGradGrad": max_pool3d_grad_grad,
    "AvgPool3D": avg_pool3d, "AvgPool3DGrad": avg_pool3d_grad,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
