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

A fused variant (``_FusedConv2D``: convolution, then bias, then an optional residual input, then relu or
relu6) applies its epilogue to each chunk while it is still in cache.

Float32 forward convolutions (and the stride-1 input gradient, a forward convolution) take the first that
applies (``_method``):

- 5x5 stride-1 filters on 16 or more channels (``winograd.applies``): Winograd F(4x4, 5x5) (``winograd4``)
  where its 4x4 tiles do not waste too much on a small output (``winograd4.beats_f2``), else F(2x2, 5x5)
  (``winograd``); the filter gradient always F(4x4, 5x5);
- 3x3 stride-1 filters on 16 or more channels with enough 4x4 output tiles (``winograd3``, F(4x4, 3x3)), when
  the filter is a plan constant (its transform is then kept) or the tiles are many enough to pay for it;
- other 3x3 stride-1 constant filters (a frozen model's) on many channels with few 2x2 output tiles (7x7 and 8x8
  images at a small batch: ``winograd2``, F(2x2, 3x3));
- 1x3, 1x5, 1x7 filters and their transposes, stride 1 (``winograd1d``, F(m, r) along the one axis);
- filters that fit the core's cache on few input channels (a first layer), or with a fused max pool:
  compiled direct loops (``conv_direct``; also the filter gradient);
- everything else, 1x1 and strided convolutions included: blocks of output pixels whose patches are gathered
  into a cache-sized buffer (1x1 at stride 1: read in place) and multiplied by BLAS (``conv_gemm``), or, for a
  filter the graph promises constant, by a compiled product with the filter packed once (``packed_gemm``).

The chunked im2col path above stays for other dtypes, and for a fused max pool no compiled kernel applies.
``_FusedScaleShift`` (an inference batch norm no convolution absorbed, then relu) is one compiled pass
(``conv_gemm.scale_shift``).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import as_strided

from tensorflux.extend import conv2d_geometry, to_nhwc

from .. import blas
from . import conv_direct, conv_gemm, winograd, winograd1d, winograd2, winograd3, winograd4

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


# Convolutions on at most this many input channels take the direct kernels (where they apply) rather than
# gathered patches and BLAS: their patch rows are runs of a few values (a first layer's 7x7 on RGB: 5.1 ms
# direct against 7.0 ms gathered, ResNet-50's stem at batch 2).
DIRECT_MAX_CHANNELS = 8
_INF = float("inf")


def _method(geo, ct, pool=False, constant=False):
    """Which kernel computes the float32 forward convolution ``geo``: a module with ``forward``, or None for the
    chunked im2col path (other dtypes, and a fused max pool that no compiled kernel applies here)."""
    if np.dtype(ct) != np.float32:
        return None
    if winograd.applies(geo, ct):
        return winograd4 if winograd4.beats_f2(geo) else winograd
    if not pool and winograd3.applies(geo, ct) and (constant or winograd3.amortized(geo)):
        return winograd3
    if not pool and winograd2.applies(geo, ct, constant):
        return winograd2
    if not pool and winograd1d.applies(geo, ct):
        return winograd1d
    if conv_direct.applies(geo, ct) and (pool or geo.in_shape[3] <= DIRECT_MAX_CHANNELS):
        return conv_direct
    return None if pool else conv_gemm


def _fast_forward(xn, f, bias, geo, ct, relu=False, pool=False, side=None, hi=_INF, constant=False):
    """The convolution through Winograd, the direct kernels or gathered BLAS products where one applies (float32),
    finished with ``max(conv + bias + side, 0 if relu else -inf)`` clamped to ``hi``; else None."""
    method = _method(geo, ct, pool, constant)
    if method is None:
        return None
    xf, ff = xn.astype(ct, copy=False), f.astype(ct, copy=False)
    lo = 0.0 if relu else -_INF
    if method is conv_gemm:
        return conv_gemm.forward(xf, ff, geo, conv_gemm.Epilogue(bias, side, lo, hi), constant)
    if method is winograd2:
        return winograd2.forward(xf, ff, geo, conv_gemm.Epilogue(bias, side, lo, hi))
    if method is winograd3:
        return winograd3.forward(xf, ff, geo, bias, side, lo, hi, constant=constant)
    if method is winograd1d:
        return winograd1d.forward(xf, ff, geo, conv_gemm.Epilogue(bias, side, lo, hi), constant)
    if side is None and hi == _INF:
        return method.forward(xf, ff, bias, geo, relu=relu, pool=pool)
    # These kernels apply bias and relu only: the residual input and the clamp follow in one pass.
    out = method.forward(xf, ff, bias, geo)
    conv_gemm.Epilogue(None, side, lo, hi).finish(out)
    return out


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


# The activations a fused convolution applies: the lower and upper clamp.
_CLAMPS = {"": (-_INF, _INF), "Relu": (0.0, _INF), "Relu6": (0.0, 6.0)}


def fused_conv2d(x, f, bias, side=None, *, strides, padding, explicit_paddings, data_format, dilations, activation,
                 pool="", residual=False, filter_const=False):
    """conv2d, plus ``bias`` (1-D, one per output channel), plus ``side`` (None, or a residual input of the output's
    shape), then ``activation`` ("", "Relu" or "Relu6"), then with ``pool="MaxPool2x2"`` a 2x2 stride-2 max pool
    (the output's height and width must be even), per chunk while in cache.

    ``residual`` says that ``side`` is given (the fusion pass passes it only to kernels that take it).
    ``filter_const`` is the graph's promise that ``f`` never changes (a frozen model's constant): kernels that
    transform the filter (Winograd F(4x4, 3x3)) then do it once and keep the result while the array lives.
    """
    if residual and side is None:
        raise ValueError("fused conv2d: residual=True but no added input was given")
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    if bias.shape != (f.shape[3],):
        raise ValueError(f"bias of shape {list(bias.shape)} must have one entry per output channel ({f.shape[3]})")
    if activation not in _CLAMPS:
        raise ValueError(f"fused conv2d: activation must be one of {sorted(_CLAMPS)}, got {activation!r}")
    ct = _compute_dtype(x.dtype)
    if side is not None:
        side = _nhwc(side, data_format)
        if tuple(side.shape) != geo.out_shape():
            raise ValueError(f"fused conv2d: the added input has shape {list(side.shape)}, expected the output's "
                             f"{list(geo.out_shape())}")
        side = side.astype(ct, copy=False)
    lo, hi = _CLAMPS[activation]
    if pool and (geo.oh % 2 or geo.ow % 2 or data_format != "NHWC" or side is not None or hi != _INF):
        raise ValueError(f"a fused 2x2 max pool needs an NHWC output of even height and width, after no added input "
                         f"and at most a relu, got {geo.oh}x{geo.ow} ({data_format})")
    b = bias.astype(ct, copy=False)
    out = _fast_forward(xn, f, b, geo, ct, relu=lo == 0, pool=bool(pool), side=side, hi=hi, constant=filter_const)
    if out is not None:
        return _from_nhwc(out.astype(x.dtype, copy=False), data_format)
    zero, six = ct.type(0), ct.type(6)

    def epilogue(chunk):
        np.add(chunk, b, out=chunk)
        if activation:
            np.maximum(chunk, zero, out=chunk)
        if activation == "Relu6":
            np.minimum(chunk, six, out=chunk)

    f2 = f.astype(ct, copy=False).reshape(int(np.prod(f.shape[:3])), f.shape[3])
    if side is None:
        out = _conv_forward(xn.astype(ct, copy=False), f2, geo, ct, epilogue, pool=bool(pool))
    else:  # other dtypes: the residual input before the activation, over the whole output
        out = _conv_forward(xn.astype(ct, copy=False), f2, geo, ct, lambda chunk: np.add(chunk, b, out=chunk))
        out += side
        if activation:
            np.maximum(out, zero, out=out)
        if activation == "Relu6":
            np.minimum(out, six, out=out)
    return _from_nhwc(out.astype(x.dtype, copy=False), data_format)


def fused_scale_shift(x, scale, offset, *, activation, donated=()):
    """``x * scale + offset`` (``scale`` and ``offset`` 1-D, along the last axis), then ``activation`` ("", "Relu" or
    "Relu6"): an inference batch norm that no convolution absorbed, in one pass (float32; into ``x`` if donated)."""
    if activation not in _CLAMPS:
        raise ValueError(f"fused scale-shift: activation must be one of {sorted(_CLAMPS)}, got {activation!r}")
    channels = x.shape[-1] if x.ndim else None
    if scale.shape != (channels,) or offset.shape != (channels,):
        raise ValueError(f"fused scale-shift: scale {list(scale.shape)} and offset {list(offset.shape)} must have one "
                         f"entry per channel of x {list(x.shape)}")
    lo, hi = _CLAMPS[activation]
    if x.dtype == np.float32:
        into = x if 0 in donated and x.flags.c_contiguous and x.flags.writeable else None
        return conv_gemm.scale_shift(x, scale, offset, lo, hi, out=into)
    y = x * scale + offset
    if activation:
        y = np.clip(y, x.dtype.type(lo), x.dtype.type(hi)) if activation == "Relu6" else np.maximum(y, x.dtype.type(0))
    return y.astype(x.dtype, copy=False)


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
    "_FusedConv2D": fused_conv2d, "_FusedScaleShift": fused_scale_shift,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
