"""Depthwise convolution kernels (``DepthwiseConv2dNative`` and its input and filter gradients) as compiled loops.

A depthwise convolution does a few multiply-adds per input element (one per filter tap), so it is bound by memory,
not arithmetic: an im2col product would write kh * kw copies of the input. These loops read the input once per
tap from cache instead: for each output pixel they walk the taps that fall inside the image (padding is never
materialized) and add ``input[pixel, c] * filter[tap, c, m]`` into the output row, the channel loop innermost and
contiguous (NHWC), so it vectorizes. The forward pass and the filter gradient split output rows across the
plugin's threads; the input gradient splits the batch, since its writes to one image overlap.

float32 and float64 run in their own dtype (no fastmath); float16 and bfloat16 are computed in float32 and
rounded once; NCHW is transposed to NHWC and back.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from tensorflux.extend import conv2d_geometry, to_nhwc

from .. import blas
from ..jit import compiled

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
    out = np.zeros(geo.out_shape(), ct)
    if out.size and xn.size:
        rows = geo.n * geo.oh
        _run(_forward_rows, _chunks(rows, geo), xn, fc, out, _loop_args(geo))
    return _from_nhwc(out, data_format, x.dtype)


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
    "DepthwiseConv2dNative": depthwise_conv2d, "DepthwiseConv2dNativeBackpropInput": depthwise_conv2d_backprop_input,
    "DepthwiseConv2dNativeBackpropFilter": depthwise_conv2d_backprop_filter,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
