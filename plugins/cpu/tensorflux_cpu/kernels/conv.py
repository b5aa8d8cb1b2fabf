"""Convolution kernels: chunked im2col into a cache-sized buffer, then one BLAS sgemm per chunk.

All three kernels run in NHWC (NCHW is transposed in and out) and walk the batch in chunks: each
chunk pads a few images into a small zeroed buffer, copies their patches into a column buffer that
stays in cache (``[images*OH*OW, KH*KW*C]``, a strided window view and one copy), and multiplies it
by the filter. Chunks are spread over the plugin's threads (``blas.parallel_chunks``).

- conv2d: ``columns @ filter``, written straight into the output.
- the filter gradient: ``columns.T @ out_backprop``, summed over chunks.
- the input gradient: for stride 1 it is the forward convolution of the padded ``out_backprop`` with
  the flipped, transposed filter (no scatter); other strides scatter ``out_backprop @ filter.T`` back
  with one strided add per filter tap.

A fused variant (``_FusedConv2D``: convolution, then bias, then relu) applies the bias and the
activation to each chunk while it is still in cache.

Float32 convolutions skip im2col where a faster method applies (``_fast_forward``): 5x5 stride-1
filters on 16 or more channels (``winograd.applies``) go through Winograd's F(4x4, 5x5) (``winograd4``:
the forward direction and the stride-1 input gradient where its 4x4 tiles do not waste too much on a small
output, ``winograd4.beats_f2``, else F(2x2, 5x5), ``winograd``; the filter gradient always), and other
filters that fit the core's cache through compiled direct loops (``conv_direct``; also the filter gradient).
The im2col path stays for everything else (other dtypes, 1x1 and very large filters).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import as_strided

from tensorflux.extend import conv2d_geometry, to_nhwc

from .. import blas
from . import conv_direct, winograd, winograd4

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))
# Target size of one chunk's column buffer: a few images, about the size of a core's L2 cache (measured best).
_CHUNK_BYTES = 1 << 21
# Inputs with at most this many channels are copied into columns plane by plane.
_PLANAR_CHANNELS = 4


def _compute_dtype(dtype):
    return np.dtype(np.float32) if dtype in _LOW_PRECISION else dtype


def _nhwc(x, data_format):
    return np.transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def _from_nhwc(x, data_format):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))) if data_format == "NCHW" else x


class _Columns:
    """A reusable per-chunk workspace: a zero-bordered padded input buffer and an im2col buffer."""

    def __init__(self, geo, images, dtype):
        _, h, w, c = geo.in_shape
        kh, kw = geo.f_shape[:2]
        self.geo, self.h, self.w, self.images = geo, h, w, images
        self.scratch = None  # a fused kernel's per-chunk output buffer, made on first use
        self.pad = bool(geo.pt or geo.pb or geo.pl or geo.pr)
        hp, wp = h + geo.pt + geo.pb, w + geo.pl + geo.pr
        self.padded = np.zeros((images, hp, wp, c), dtype) if self.pad else None
        self.direct = (kh == kw == 1 and geo.sh == geo.sw == 1 and not self.pad)
        # With few channels a patch row is a handful of scattered values: copying one [b, OH, OW] plane per
        # filter tap and channel into a transposed buffer is much faster, and BLAS reads it transposed.
        self.planar = not self.direct and c <= _PLANAR_CHANNELS
        rows, k = images * geo.oh * geo.ow, kh * kw * c
        self.cols = None if self.direct else np.empty((k, rows) if self.planar else (rows, k), dtype)

    def of(self, x):
        """The column matrix [b*OH*OW, KH*KW*C] of the images ``x`` ([b, H, W, C], b <= chunk size)."""
        geo = self.geo
        b, _, _, c = x.shape
        if self.direct:
            return x.reshape(b * geo.oh * geo.ow, c)
        if self.pad:
            xp = self.padded[:b]
            xp[:, geo.pt:geo.pt + self.h, geo.pl:geo.pl + self.w] = x
        else:
            xp = x
        kh, kw = geo.f_shape[:2]
        if self.planar:
            rows = b * geo.oh * geo.ow
            for i in range(kh):
                r = i * geo.dh
                for j in range(kw):
                    q = j * geo.dw
                    taps = xp[:, r:r + (geo.oh - 1) * geo.sh + 1:geo.sh, q:q + (geo.ow - 1) * geo.sw + 1:geo.sw]
                    for ch in range(c):
                        np.copyto(self.cols[(i * kw + j) * c + ch, :rows].reshape(b, geo.oh, geo.ow), taps[..., ch])
            return self.cols[:, :rows].T
        s = xp.strides
        view = as_strided(xp, shape=(b, geo.oh, geo.ow, kh, kw, c),
                          strides=(s[0], s[1] * geo.sh, s[2] * geo.sw, s[1] * geo.dh, s[2] * geo.dw, s[3]),
                          writeable=False)
        cols = self.cols[:b * geo.oh * geo.ow]
        np.copyto(cols.reshape(view.shape), view)
        return cols


def _plan_chunks(geo, itemsize):
    """(images per inner chunk, [(start, stop)] outer chunks of the batch, one per parallel task)."""
    n = geo.in_shape[0]
    kh, kw, c, _ = geo.f_shape
    per_image = geo.oh * geo.ow * kh * kw * c * itemsize
    inner = int(max(1, min(n, _CHUNK_BYTES // max(per_image, 1))))
    tasks = blas.n_chunks(geo.flops(), per_thread=4)
    return inner, blas.chunk_bounds(n, max(1, min(tasks, -(-n // inner))))


def _run_chunks(geo, dtype, body, summed=False):
    """Call ``body(columns_workspace, start, stop)`` over the batch, in inner chunks, across threads.

    Returns the bodies' results, or with ``summed`` one sum of them per parallel task.
    """
    inner, outer = _plan_chunks(geo, np.dtype(dtype).itemsize)

    def task(i):
        start, stop = outer[i]
        ws = _Columns(geo, min(inner, stop - start), dtype)
        results = []
        for s in range(start, stop, inner):
            r = body(ws, s, min(s + inner, stop))
            if summed and results:
                results[0] += r
            else:
                results.append(r)
        return results

    return [r for part in blas.parallel_chunks(task, len(outer)) for r in part]


def _conv_forward(xn, f2, geo, ct, epilogue=None, pool=False):
    """NHWC convolution of ``xn`` with the [KH*KW*C, O] matrix ``f2``; ``epilogue(out_chunk)`` runs per chunk.

    With ``pool`` each chunk is max-pooled 2x2 (stride 2; even output sizes) in cache, and only the pooled
    result is stored.
    """
    n = xn.shape[0]
    o = f2.shape[1]
    if pool:
        out = np.empty((n, geo.oh // 2, geo.ow // 2, o), ct)
    else:
        out = np.empty((n, geo.oh, geo.ow, o), ct)
    if out.size == 0:
        return out

    def body(ws, s, e):
        if pool:
            if ws.scratch is None:
                ws.scratch = np.empty((ws.images * geo.oh * geo.ow, o), ct)
            dst = ws.scratch[:(e - s) * geo.oh * geo.ow]
        else:
            dst = out[s:e].reshape(-1, o)
        np.matmul(ws.of(xn[s:e]), f2, out=dst)
        if epilogue is not None:
            epilogue(dst)
        if pool:
            full = dst.reshape(e - s, geo.oh, geo.ow, o)
            top = out[s:e]
            np.maximum(full[:, 0::2, 0::2], full[:, 0::2, 1::2], out=top)
            np.maximum(top, full[:, 1::2, 0::2], out=top)
            np.maximum(top, full[:, 1::2, 1::2], out=top)

    _run_chunks(geo, ct, body)
    return out


def _fast_forward(xn, f, bias, geo, ct, relu=False, pool=False):
    """The convolution through Winograd or the direct kernels where one applies (float32), else None."""
    if winograd.applies(geo, ct):
        method = winograd4 if winograd4.beats_f2(geo) else winograd
    elif conv_direct.applies(geo, ct):
        method = conv_direct
    else:
        return None
    return method.forward(xn.astype(ct, copy=False), f.astype(ct, copy=False), bias, geo, relu=relu, pool=pool)


def conv2d(x, f, *, strides, padding, explicit_paddings, data_format, dilations):
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    ct = _compute_dtype(x.dtype)
    out = _fast_forward(xn, f, None, geo, ct)
    if out is not None:
        return _from_nhwc(out.astype(x.dtype, copy=False), data_format)
    f2 = f.astype(ct, copy=False).reshape(int(np.prod(f.shape[:3])), f.shape[3])
    out = _conv_forward(xn.astype(ct, copy=False), f2, geo, ct)
    return _from_nhwc(out.astype(x.dtype, copy=False), data_format)


def fused_conv2d(x, f, bias, *, strides, padding, explicit_paddings, data_format, dilations, activation, pool=""):
    """conv2d, plus ``bias`` (1-D, one per output channel), then ``activation`` ("Relu" or ""), then with
    ``pool="MaxPool2x2"`` a 2x2 stride-2 max pool (the output's height and width must be even), per chunk."""
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    if bias.shape != (f.shape[3],):
        raise ValueError(f"bias of shape {list(bias.shape)} must have one entry per output channel ({f.shape[3]})")
    ct = _compute_dtype(x.dtype)
    b = bias.astype(ct, copy=False)
    zero = ct.type(0)

    def epilogue(chunk):
        np.add(chunk, b, out=chunk)
        if activation == "Relu":
            np.maximum(chunk, zero, out=chunk)

    if pool and (geo.oh % 2 or geo.ow % 2 or data_format != "NHWC"):
        raise ValueError(f"a fused 2x2 max pool needs an NHWC output of even height and width, got "
                         f"{geo.oh}x{geo.ow} ({data_format})")
    out = _fast_forward(xn, f, b, geo, ct, relu=activation == "Relu", pool=bool(pool))
    if out is not None:
        return _from_nhwc(out.astype(x.dtype, copy=False), data_format)
    f2 = f.astype(ct, copy=False).reshape(int(np.prod(f.shape[:3])), f.shape[3])
    out = _conv_forward(xn.astype(ct, copy=False), f2, geo, ct, epilogue, pool=bool(pool))
    return _from_nhwc(out.astype(x.dtype, copy=False), data_format)


def conv2d_backprop_input(input_sizes, f, dy, *, strides, padding, explicit_paddings, data_format, dilations):
    sizes = [int(s) for s in input_sizes]
    in_shape = to_nhwc(sizes, data_format)
    geo = conv2d_geometry(in_shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format)
    geo.check_out(dyn.shape)
    if dyn.size == 0 or f.size == 0:  # no products: nothing flows back (and no geometry to build)
        return np.zeros(sizes, dy.dtype)
    ct = _compute_dtype(dy.dtype)
    kh, kw, _, o = f.shape
    before_h, after_h = kh - 1 - geo.pt, kh - 1 - geo.pb
    before_w, after_w = kw - 1 - geo.pl, kw - 1 - geo.pr
    if geo.sh == geo.sw == geo.dh == geo.dw == 1 and min(before_h, after_h, before_w, after_w) >= 0:
        # Stride 1: the transposed convolution is the forward one, with the filter flipped and its channels swapped.
        flipped = np.ascontiguousarray(f.astype(ct, copy=False)[::-1, ::-1].transpose(0, 1, 3, 2))
        back = conv2d_geometry(dyn.shape, flipped.shape, [1, 1, 1, 1], "EXPLICIT",
                               [0, 0, before_h, after_h, before_w, after_w, 0, 0], "NHWC", [1, 1, 1, 1])
        dx = _fast_forward(dyn, flipped, None, back, ct)
        if dx is not None:
            return _from_nhwc(dx.astype(dy.dtype, copy=False), data_format)
        dx = _conv_forward(dyn.astype(ct, copy=False), flipped.reshape(kh * kw * o, flipped.shape[3]), back, ct)
        return _from_nhwc(dx.astype(dy.dtype, copy=False), data_format)
    n, h, w, c = in_shape
    dcols = blas.matmul(dyn.astype(ct, copy=False).reshape(-1, o), f.astype(ct, copy=False).reshape(-1, o).T)
    dcols = dcols.reshape(n, geo.oh, geo.ow, kh, kw, c)
    dxp = np.zeros(geo.padded_shape(), dtype=ct)
    for i, j, rows, cols in geo.taps():
        dxp[:, rows, cols, :] += dcols[:, :, :, i, j, :]
    dx = dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w, :].astype(dy.dtype)
    return _from_nhwc(dx, data_format)


def conv2d_backprop_filter(x, filter_sizes, dy, *, strides, padding, explicit_paddings, data_format, dilations):
    f_shape = tuple(int(s) for s in filter_sizes)
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format)
    geo.check_out(dyn.shape)
    if dyn.size == 0 or xn.size == 0:
        return np.zeros(f_shape, x.dtype)
    ct = _compute_dtype(x.dtype)
    xc, dyc = xn.astype(ct, copy=False), dyn.astype(ct, copy=False)
    if winograd.applies(geo, ct):
        return winograd4.filter_grad(xc, dyc, geo).astype(x.dtype, copy=False)
    if conv_direct.applies(geo, ct):
        return conv_direct.filter_grad(xc, dyc, geo).astype(x.dtype, copy=False)
    o = f_shape[3]

    def body(ws, s, e):
        return np.matmul(ws.of(xc[s:e]).T, dyc[s:e].reshape(-1, o))

    parts = _run_chunks(geo, ct, body, summed=True)
    df = np.zeros((int(np.prod(f_shape[:3])), o), ct)
    for p in parts:
        df += p
    return df.reshape(f_shape).astype(x.dtype, copy=False)


KERNELS = {
    "Conv2D": conv2d, "Conv2DBackpropInput": conv2d_backprop_input, "Conv2DBackpropFilter": conv2d_backprop_filter,
    "_FusedConv2D": fused_conv2d,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
