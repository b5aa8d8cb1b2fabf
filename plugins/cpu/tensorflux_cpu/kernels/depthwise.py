"""Depthwise convolution kernels (``DepthwiseConv2dNative`` and its input and filter gradients) as compiled loops.

A depthwise convolution does a few multiply-adds per input element (one per filter tap), so it is bound by memory,
not arithmetic: an im2col product would write kh * kw copies of the input. These loops read the input once per
tap from cache instead: for each output pixel they walk the taps that fall inside the image (padding is never
materialized) and add ``input[pixel, c] * filter[tap, c, m]`` into the output row, the channel loop innermost and
contiguous (NHWC), so it vectorizes. The forward pass and the filter gradient split output rows across the
plugin's threads; the input gradient splits the batch, since its writes to one image overlap.

With a multiplier of 1 (MobileNet's, EfficientNet's) the forward loop (``_forward_rows_m1``) also applies the
fused epilogue of ``_FusedDepthwiseConv2dNative`` (a bias, with a batch norm folded into it and the filter by the
fusion pass, and a relu/relu6 clamp) as it stores each pixel, and a 3x3 window inside the image is one sum of nine
products per channel, two pixels at a time; a swish activation follows each piece of rows while it is in cache.

float32 and float64 run in their own dtype (the multiplier-1 forward loop contracts multiply-adds into FMAs; nothing
else is relaxed); float16 and bfloat16 are computed in float32 and rounded once; NCHW is transposed to NHWC and back.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from tensorflux.extend import conv2d_geometry, to_nhwc

from .. import blas
from ..jit import compiled
from .conv_direct import _u
from .swish import fused_swish, swish_in_place

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))
# Multiply-adds below which a kernel runs on the calling thread alone (waking a helper costs tens of microseconds).
_PARALLEL_MACS = 1 << 20


@compiled
def _forward_rows(x, f, out, r0, r1, sh, sw, dh, dw, pt, pl):
    """Output rows ``r0:r1`` (flattened batch * height) of the depthwise convolution of NHWC ``x`` with ``f``
    [kh, kw, c, m] into ``out`` [n, oh, ow, c * m]."""
    _, h, w, c = x.shape
    kh, kw, _, m = f.shape
    oh, ow = out.shape[1], out.shape[2]
    for r in range(r0, r1):
        n, oy = r // oh, r % oh
        for ox in range(ow):
            o = out[n, oy, ox]
            o[:] = 0
            for i in range(kh):
                iy = oy * sh - pt + i * dh
                if iy < 0 or iy >= h:
                    continue
                for j in range(kw):
                    ix = ox * sw - pl + j * dw
                    if ix < 0 or ix >= w:
                        continue
                    xr = x[n, iy, ix]
                    fr = f[i, j]
                    if m == 1:
                        for k in range(c):
                            o[k] += xr[k] * fr[k, 0]
                    else:
                        for k in range(c):
                            v = xr[k]
                            for q in range(m):
                                o[k * m + q] += v * fr[k, q]


@compiled
def _clamp(v, lo, hi):
    """min(max(v, lo), hi) as selects LLVM can vectorize; a NaN passes through."""
    v = v if (v >= lo) | (v != v) else lo
    return v if (v <= hi) | (v != v) else hi


@compiled(fastmath={"contract"})
def _sum3x3(x1, f1, bias, b, k, c, a1, a2, v1, v2):
    """bias[k] plus the nine products of a 3x3 window whose tap (0, 0), channel 0, is at flat offset ``b``."""
    return (bias[_u(k)] + x1[_u(b + k)] * f1[_u(k)] + x1[_u(b + a1 + k)] * f1[_u(c + k)]
            + x1[_u(b + a2 + k)] * f1[_u(2 * c + k)] + x1[_u(b + v1 + k)] * f1[_u(3 * c + k)]
            + x1[_u(b + v1 + a1 + k)] * f1[_u(4 * c + k)] + x1[_u(b + v1 + a2 + k)] * f1[_u(5 * c + k)]
            + x1[_u(b + v2 + k)] * f1[_u(6 * c + k)] + x1[_u(b + v2 + a1 + k)] * f1[_u(7 * c + k)]
            + x1[_u(b + v2 + a2 + k)] * f1[_u(8 * c + k)])


@compiled(fastmath={"contract"})
def _forward_rows_m1(x, f, bias, out, r0, r1, sh, sw, dh, dw, pt, pl, lo, hi):
    """Output rows ``r0:r1`` (flattened batch * height) of the depthwise convolution of NHWC ``x`` with ``f`` [kh, kw, c]
    (multiplier 1), plus ``bias`` [c], clamped to ``[lo, hi]``, into ``out`` [n, oh, ow, c].

    Channels are the inner, vectorized loop. A 3x3 window inside the image is one sum of nine products per
    channel, two neighbouring pixels at a time (they share the filter's loads), stored once, clamped; other
    windows add one filter row at a time into the output (3 or 5 taps of a row inside the width spelled out,
    others tap by tap, taps in the padding skipped), then clamp it.
    """
    _, h, w, c = x.shape
    kh, kw = f.shape[0], f.shape[1]
    oh, ow = out.shape[1], out.shape[2]
    x1 = x.reshape(-1)
    f1 = f.reshape(-1)
    o1 = out.reshape(-1)
    three = kh == 3 and kw == 3
    a1, a2, a3, a4 = dw * c, 2 * dw * c, 3 * dw * c, 4 * dw * c
    v1, v2 = dh * w * c, 2 * dh * w * c
    step = sw * c
    # output columns whose window lies inside the width
    inner0 = min(ow, (pl + sw - 1) // sw)
    inner1 = max(inner0, min(ow, (w - 1 - (kw - 1) * dw + pl) // sw + 1))
    for r in range(r0, r1):
        n, oy = r // oh, r % oh
        y0 = oy * sh - pt
        i0 = min(kh, max(0, (dh - 1 - y0) // dh))
        i1 = max(i0, min(kh, (h - y0 + dh - 1) // dh))
        rows_inside = i0 == 0 and i1 == kh
        ox = 0
        while ox < ow:
            d = (r * ow + ox) * c
            x0 = ox * sw - pl
            inside = inner0 <= ox < inner1
            if three and rows_inside and inside:
                b = ((n * h + y0) * w + x0) * c
                if ox + 1 < inner1:
                    e = b + step
                    for k in range(c):
                        s = _sum3x3(x1, f1, bias, b, k, c, a1, a2, v1, v2)
                        t = _sum3x3(x1, f1, bias, e, k, c, a1, a2, v1, v2)
                        o1[_u(d + k)] = _clamp(s, lo, hi)
                        o1[_u(d + c + k)] = _clamp(t, lo, hi)
                    ox += 2
                    continue
                for k in range(c):
                    o1[_u(d + k)] = _clamp(_sum3x3(x1, f1, bias, b, k, c, a1, a2, v1, v2), lo, hi)
                ox += 1
                continue
            for k in range(c):
                o1[_u(d + k)] = bias[_u(k)]
            for i in range(i0, i1):
                b = ((n * h + y0 + i * dh) * w + x0) * c
                fb = i * kw * c
                if inside and kw == 3:
                    for k in range(c):
                        o1[_u(d + k)] += (x1[_u(b + k)] * f1[_u(fb + k)] + x1[_u(b + a1 + k)] * f1[_u(fb + c + k)]
                                          + x1[_u(b + a2 + k)] * f1[_u(fb + 2 * c + k)])
                elif inside and kw == 5:
                    for k in range(c):
                        o1[_u(d + k)] += (x1[_u(b + k)] * f1[_u(fb + k)] + x1[_u(b + a1 + k)] * f1[_u(fb + c + k)]
                                          + x1[_u(b + a2 + k)] * f1[_u(fb + 2 * c + k)]
                                          + x1[_u(b + a3 + k)] * f1[_u(fb + 3 * c + k)]
                                          + x1[_u(b + a4 + k)] * f1[_u(fb + 4 * c + k)])
                else:
                    for j in range(kw):
                        ix = x0 + j * dw
                        if ix < 0 or ix >= w:
                            continue
                        bj = b + j * dw * c
                        fj = fb + j * c
                        for k in range(c):
                            o1[_u(d + k)] += x1[_u(bj + k)] * f1[_u(fj + k)]
            for k in range(c):
                o1[_u(d + k)] = _clamp(o1[_u(d + k)], lo, hi)
            ox += 1


@compiled
def _backprop_input_images(f, dy, dx, n0, n1, sh, sw, dh, dw, pt, pl):
    """Images ``n0:n1`` of the input gradient ``dx`` [n, h, w, c] from ``dy`` [n, oh, ow, c * m]."""
    _, h, w, c = dx.shape
    kh, kw, _, m = f.shape
    oh, ow = dy.shape[1], dy.shape[2]
    for n in range(n0, n1):
        dx[n] = 0
        for oy in range(oh):
            for ox in range(ow):
                g = dy[n, oy, ox]
                for i in range(kh):
                    iy = oy * sh - pt + i * dh
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = ox * sw - pl + j * dw
                        if ix < 0 or ix >= w:
                            continue
                        d = dx[n, iy, ix]
                        fr = f[i, j]
                        if m == 1:
                            for k in range(c):
                                d[k] += g[k] * fr[k, 0]
                        else:
                            for k in range(c):
                                s = d[k]
                                for q in range(m):
                                    s += g[k * m + q] * fr[k, q]
                                d[k] = s


@compiled
def _backprop_filter_rows(x, dy, df, r0, r1, sh, sw, dh, dw, pt, pl):
    """The filter gradient ``df`` [kh, kw, c, m] summed over output rows ``r0:r1`` (flattened batch * height)."""
    _, h, w, c = x.shape
    kh, kw, _, m = df.shape
    oh, ow = dy.shape[1], dy.shape[2]
    df[:] = 0
    for r in range(r0, r1):
        n, oy = r // oh, r % oh
        for ox in range(ow):
            g = dy[n, oy, ox]
            for i in range(kh):
                iy = oy * sh - pt + i * dh
                if iy < 0 or iy >= h:
                    continue
                for j in range(kw):
                    ix = ox * sw - pl + j * dw
                    if ix < 0 or ix >= w:
                        continue
                    xr = x[n, iy, ix]
                    d = df[i, j]
                    if m == 1:
                        for k in range(c):
                            d[k, 0] += xr[k] * g[k]
                    else:
                        for k in range(c):
                            v = xr[k]
                            for q in range(m):
                                d[k, q] += v * g[k * m + q]


def _compute_dtype(dtype):
    return np.dtype(np.float32) if dtype in _LOW_PRECISION else np.dtype(dtype)


def _nhwc(x, data_format, dtype):
    x = np.transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x
    return np.ascontiguousarray(x, dtype=dtype)


def _from_nhwc(x, data_format, dtype):
    x = np.transpose(x, (0, 3, 1, 2)) if data_format == "NCHW" else x
    return np.ascontiguousarray(x).astype(dtype, copy=False)


def _geometry(in_shape, f_shape, strides, padding, explicit_paddings, data_format, dilations):
    kh, kw, c, m = (int(d) for d in f_shape)
    return conv2d_geometry(in_shape, (kh, kw, c, c * m), strides, padding, explicit_paddings, data_format, dilations)


def _loop_args(geo):
    return geo.sh, geo.sw, geo.dh, geo.dw, geo.pt, geo.pl


def _macs(geo):
    kh, kw, c, cm = geo.f_shape
    return geo.n * geo.oh * geo.ow * cm * kh * kw


def _chunks(total, geo):
    """Bounds splitting ``range(total)`` across the plugin's threads, or one chunk for small work."""
    if _macs(geo) < _PARALLEL_MACS or blas.THREADS == 1:
        return [(0, total)]
    return blas.chunk_bounds(total, blas.THREADS * 4)


def _run(loop, bounds, *arrays_then_scalars):
    """``loop(*arrays, start, stop, *scalars)`` per chunk of ``bounds``; the last argument is the scalars' tuple."""
    *arrays, scalars = arrays_then_scalars
    if len(bounds) == 1:
        loop(*arrays, *bounds[0], *scalars)
        return
    blas.parallel_chunks(lambda i: loop(*arrays, *bounds[i], *scalars), len(bounds))


def depthwise_conv2d(x, f, *, strides, padding, explicit_paddings, data_format, dilations):
    """Each input channel ``c`` cross-correlated with ``f[:, :, c, m]`` into output channel ``c * m_count + m``."""
    ct = _compute_dtype(x.dtype)
    xn = _nhwc(x, data_format, ct)
    fc = np.ascontiguousarray(f, dtype=ct)
    geo = _geometry(xn.shape, fc.shape, strides, padding, explicit_paddings, data_format, dilations)
    return _from_nhwc(_forward(xn, fc, None, geo), data_format, x.dtype)


def _forward(xn, fc, bias, geo, lo=-np.inf, hi=np.inf, swish=False):
    """The NHWC depthwise convolution ``geo`` of ``xn`` with ``fc`` (both in the compute dtype), plus ``bias`` (None:
    zeros), clamped to ``[lo, hi]``, then with ``swish`` times its sigmoid: a new array."""
    kh, kw, c, m = fc.shape
    rows = geo.n * geo.oh
    b = np.zeros(c * m, xn.dtype) if bias is None else np.ascontiguousarray(bias, xn.dtype)
    in_loop = swish and m == 1 and xn.dtype == np.float32  # applied to each piece of rows while in cache
    if m == 1 and _out_size(geo) and xn.size:
        out = np.empty(geo.out_shape(), xn.dtype)
        bounds = _chunks(rows, geo)
        if in_loop:  # pieces of about SWISH_PIECE_VALUES outputs
            per = max(1, SWISH_PIECE_VALUES // (geo.ow * c))
            bounds = [(s, min(s + per, e)) for s0, e in bounds for s in range(s0, e, per)]
        _run(_rows_then_swish if in_loop else _forward_rows_m1, bounds, xn, fc.reshape(kh, kw, c), b, out,
             (*_loop_args(geo), xn.dtype.type(lo), xn.dtype.type(hi)))
    else:
        out = np.zeros(geo.out_shape(), xn.dtype)
        if out.size and xn.size:
            _run(_forward_rows, _chunks(rows, geo), xn, fc, out, _loop_args(geo))
        if bias is not None:
            out += b
        if lo != -np.inf or hi != np.inf:
            np.clip(out, xn.dtype.type(lo), xn.dtype.type(hi), out=out)
        in_loop = False
    return fused_swish(out) if swish and not in_loop else out


# Outputs per piece of rows that the swish epilogue passes over right after the convolution: about a core's L2 cache.
SWISH_PIECE_VALUES = 1 << 16


def _rows_then_swish(x, f, bias, out, r0, r1, *scalars):
    """``_forward_rows_m1`` over rows ``r0:r1``, then ``y * sigmoid(y)`` over them while they are in cache."""
    _forward_rows_m1(x, f, bias, out, r0, r1, *scalars)
    row = out.shape[2] * out.shape[3]
    swish_in_place(out.reshape(-1), r0 * row, r1 * row)


def _out_size(geo) -> int:
    """The number of values of the output of ``geo``."""
    return int(np.prod(geo.out_shape()))


# The activations the fused kernel applies, as a clamp (Swish: none, then y * sigmoid(y)).
_CLAMPS = {"": (-np.inf, np.inf), "Relu": (0.0, np.inf), "Relu6": (0.0, 6.0), "Swish": (-np.inf, np.inf)}


def fused_depthwise_conv2d(x, f, bias, *, strides, padding, explicit_paddings, data_format, dilations, activation="",
                           filter_const=False):
    """depthwise_conv2d plus ``bias`` (1-D, one per output channel), then ``activation`` ("", "Relu", "Relu6" or
    "Swish", ``y * sigmoid(y)``), in one pass over the output (``_FusedDepthwiseConv2dNative``). ``filter_const``
    (the filter never changes) is accepted so that the fusion pass folds a zero ``Pad`` into the padding; the loops
    need nothing from it.

    Example:
        >>> x, f = np.ones((1, 3, 3, 2), np.float32), np.ones((3, 3, 2, 1), np.float32)
        >>> y = fused_depthwise_conv2d(x, f, np.float32([-5, 0]), strides=[1, 1, 1, 1], padding="SAME",
        ...                            explicit_paddings=[], data_format="NHWC", dilations=[1, 1, 1, 1],
        ...                            activation="Relu6")
        >>> y[0, 1].tolist()
        [[1.0, 6.0], [4.0, 6.0], [1.0, 6.0]]
    """
    if activation not in _CLAMPS:
        raise ValueError(f"_FusedDepthwiseConv2dNative: activation must be one of {sorted(_CLAMPS)}, got {activation!r}")
    channels = int(f.shape[2]) * int(f.shape[3])
    if bias.shape != (channels,):
        raise ValueError(f"_FusedDepthwiseConv2dNative: bias of shape {list(bias.shape)} must have one entry per "
                         f"output channel ({channels})")
    ct = _compute_dtype(x.dtype)
    xn = _nhwc(x, data_format, ct)
    fc = np.ascontiguousarray(f, dtype=ct)
    geo = _geometry(xn.shape, fc.shape, strides, padding, explicit_paddings, data_format, dilations)
    lo, hi = _CLAMPS[activation]
    return _from_nhwc(_forward(xn, fc, bias, geo, lo, hi, activation == "Swish"), data_format, x.dtype)


def depthwise_conv2d_backprop_input(input_sizes, f, dy, *, strides, padding, explicit_paddings, data_format,
                                    dilations):
    """The gradient of the depthwise convolution with respect to its input, of shape ``input_sizes``."""
    sizes = [int(s) for s in np.reshape(input_sizes, -1)]
    ct = _compute_dtype(dy.dtype)
    in_shape = to_nhwc(sizes, data_format)
    geo = _geometry(in_shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format, ct)
    geo.check_out(dyn.shape)
    dx = np.zeros(in_shape, ct)
    if dx.size and dyn.size:
        _run(_backprop_input_images, _chunks(geo.n, geo), np.ascontiguousarray(f, dtype=ct), dyn, dx,
             _loop_args(geo))
    return _from_nhwc(dx, data_format, dy.dtype)


def depthwise_conv2d_backprop_filter(x, filter_sizes, dy, *, strides, padding, explicit_paddings, data_format,
                                     dilations):
    """The gradient of the depthwise convolution with respect to its filter, of shape ``filter_sizes``."""
    f_shape = tuple(int(s) for s in np.reshape(filter_sizes, -1))
    ct = _compute_dtype(x.dtype)
    xn = _nhwc(x, data_format, ct)
    geo = _geometry(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format, ct)
    geo.check_out(dyn.shape)
    if not (xn.size and dyn.size):
        return np.zeros(f_shape, x.dtype)
    bounds = _chunks(geo.n * geo.oh, geo)
    parts = [np.empty(f_shape, ct) for _ in bounds]

    def rows(i):
        _backprop_filter_rows(xn, dyn, parts[i], *bounds[i], *_loop_args(geo))

    if len(bounds) == 1:
        rows(0)
    else:
        blas.parallel_chunks(rows, len(bounds))
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total.astype(x.dtype, copy=False)


KERNELS = {
    "_FusedDepthwiseConv2dNative": fused_depthwise_conv2d, "DepthwiseConv2dNative": depthwise_conv2d,
    "DepthwiseConv2dNativeBackpropInput": depthwise_conv2d_backprop_input,
    "DepthwiseConv2dNativeBackpropFilter": depthwise_conv2d_backprop_filter,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
