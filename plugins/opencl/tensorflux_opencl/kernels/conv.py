"""Convolution and pooling, NHWC (NCHW is transposed in and out).

conv2d is im2col followed by the packed gemm; its filter gradient is ``columns^T @ dy`` and its input
gradient ``dy @ filter^T`` followed by col2im, which gathers (no atomics): each input cell sums the
column entries that read it. Pooling gradients gather the same way, one work-item per input cell.
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import conv2d_geometry, host_value, pool2d_geometry, to_nhwc

from ..device import ctype
from ._common import i32, launch_1d
from .array import permuted_copy, zeros_like
from .matmul import TM, gemm

_GEO = "int H, int W, int C, int OH, int OW, int KH, int KW, int sh, int sw, int dh, int dw, int pt, int pl"


def _source(dtype: np.dtype) -> str:
    t = ctype(dtype)
    return f"""
typedef {t} T;
#define TM {TM}
#define ISNAN(v) ((v) != (v))  /* not isnan(): PoCL keeps builtins as calls */
// im2col straight into the gemm's row panels: A = columns [P, Q] (P pixels, Q = KH*KW*C), one work-item per pixel.
__kernel void im2col_packed(__global T* ap, __global const T* x, int n, int P, {_GEO}) {{
  int p = get_global_id(0); if (p >= n) return;
  int Q = KH * KW * C;
  __global T* dst = ap + (size_t)(p / TM) * Q * TM + p % TM;
  if (p >= P) {{ for (int q = 0; q < Q; q++) dst[(size_t)q * TM] = 0; return; }}
  int ow = p % OW; int t = p / OW; int oh = t % OH; int b = t / OH;
  int q = 0;
  for (int ki = 0; ki < KH; ki++) {{ int h = oh * sh - pt + ki * dh;
    for (int kj = 0; kj < KW; kj++) {{ int w = ow * sw - pl + kj * dw;
      if (h >= 0 && h < H && w >= 0 && w < W) {{
        __global const T* src = x + (((size_t)b * H + h) * W + w) * C;
        for (int c = 0; c < C; c++, q++) dst[(size_t)q * TM] = src[c];
      }} else {{ for (int c = 0; c < C; c++, q++) dst[(size_t)q * TM] = 0; }} }} }}
}}
// The transposed columns [Q, P] in row panels (for the filter gradient): one work-item per (pixel, panel),
// writing the panel's TM consecutive entries for that pixel.
__kernel void im2col_packed_t(__global T* ap, __global const T* x, int P, {_GEO}) {{
  int p = get_global_id(0), qb = get_global_id(1); if (p >= P) return;
  int ow = p % OW; int t = p / OW; int oh = t % OH; int b = t / OH;
  int q = qb * TM; int c = q % C; int kk = q / C; int kj = kk % KW; int ki = kk / KW;
  __global T* dst = ap + ((size_t)qb * P + p) * TM;
  for (int r = 0; r < TM; r++) {{
    T v = 0;
    int h = oh * sh - pt + ki * dh, w = ow * sw - pl + kj * dw;
    if (ki < KH && h >= 0 && h < H && w >= 0 && w < W) v = x[(((size_t)b * H + h) * W + w) * C + c];
    dst[r] = v;
    if (++c == C) {{ c = 0; if (++kj == KW) {{ kj = 0; ki++; }} }}
  }}
}}
// The kernels below run over a 3-D range (channel, column, batch * row): one division per work-item.
#define DECODE(ROWS) int c = get_global_id(0); int w_ = get_global_id(1); int z_ = get_global_id(2); \
  int b = z_ / ROWS; int h_ = z_ % ROWS;
// Window rows [lo, hi] of stride s, size k, dilation 1 that cover input row x (padding before: pad).
#define COVER(x, pad, k, s, OUT, lo, hi) int lo = (x) + (pad) - (k) + 1; lo = lo <= 0 ? 0 : (lo + (s) - 1) / (s); \
  int hi = min((OUT) - 1, ((x) + (pad)) / (s));
__kernel void col2im(__global T* dx, __global const T* cols, {_GEO}) {{
  DECODE(H) int h = h_, w = w_;
  T acc = 0;
  if (dh == 1 && dw == 1) {{
    COVER(h, pt, KH, sh, OH, oh0, oh1) COVER(w, pl, KW, sw, OW, ow0, ow1)
    for (int oh = oh0; oh <= oh1; oh++) {{ int ki = h + pt - oh * sh;
      for (int ow = ow0; ow <= ow1; ow++) {{ int kj = w + pl - ow * sw;
        acc += cols[(((((size_t)b * OH + oh) * OW + ow) * KH + ki) * KW + kj) * C + c]; }} }}
  }} else {{
    for (int ki = 0; ki < KH; ki++) {{
      int hh = h + pt - ki * dh; if (hh < 0 || hh % sh) continue; int oh = hh / sh; if (oh >= OH) continue;
      for (int kj = 0; kj < KW; kj++) {{
        int ww = w + pl - kj * dw; if (ww < 0 || ww % sw) continue; int ow = ww / sw; if (ow >= OW) continue;
        acc += cols[(((((size_t)b * OH + oh) * OW + ow) * KH + ki) * KW + kj) * C + c]; }} }}
  }}
  dx[(((size_t)b * H + h) * W + w) * C + c] = acc;
}}
__kernel void max_pool(__global T* z, __global const T* x, {_GEO}) {{
  DECODE(OH) int oh = h_, ow = w_;
  T best = -INFINITY;
  for (int ki = 0; ki < KH; ki++) {{ int h = oh * sh - pt + ki; if (h < 0 || h >= H) continue;
    for (int kj = 0; kj < KW; kj++) {{ int w = ow * sw - pl + kj; if (w < 0 || w >= W) continue;
      T v = x[(((size_t)b * H + h) * W + w) * C + c]; if ((v > best || ISNAN(v)) && !ISNAN(best)) best = v; }} }}
  z[(((size_t)b * OH + oh) * OW + ow) * C + c] = best;
}}
// The input cell of window (oh, ow) that gets its gradient: the first (row-major) equal to the window's max.
inline int first_max(__global const T* x, T m, int b, int c, int oh, int ow, {_GEO}) {{
  int first = -1;  // no early return: straight-line code lets PoCL vectorize across work-items
  for (int ki = 0; ki < KH; ki++) {{ int hh = oh * sh - pt + ki; if (hh < 0 || hh >= H) continue;
    for (int kj = 0; kj < KW; kj++) {{ int ww = ow * sw - pl + kj; if (ww < 0 || ww >= W) continue;
      T v = x[(((size_t)b * H + hh) * W + ww) * C + c];
      if (first < 0 && (v == m || (ISNAN(v) && ISNAN(m)))) first = hh * W + ww; }} }}
  return first;
}}
#define GEO_ARGS H, W, C, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl
// Overlapping windows: each input cell gathers from the windows that cover it.
__kernel void max_pool_grad(__global T* dx, __global const T* x, __global const T* y, __global const T* g, {_GEO}) {{
  DECODE(H) int h = h_, w = w_;
  COVER(h, pt, KH, sh, OH, oh0, oh1) COVER(w, pl, KW, sw, OW, ow0, ow1)
  T acc = 0;
  for (int oh = oh0; oh <= oh1; oh++) for (int ow = ow0; ow <= ow1; ow++) {{
    size_t o = (((size_t)b * OH + oh) * OW + ow) * C + c;
    if (first_max(x, y[o], b, c, oh, ow, GEO_ARGS) == h * W + w) acc += g[o]; }}
  dx[(((size_t)b * H + h) * W + w) * C + c] = acc;
}}
// Disjoint windows (stride >= window): each window writes its cells; dx is zeroed first unless they tile it.
__kernel void max_pool_grad_disjoint(__global T* dx, __global const T* x, __global const T* y, __global const T* g,
                                     {_GEO}) {{
  DECODE(OH) int oh = h_, ow = w_;
  size_t o = (((size_t)b * OH + oh) * OW + ow) * C + c;
  int first = first_max(x, y[o], b, c, oh, ow, GEO_ARGS);
  T gv = g[o];
  for (int ki = 0; ki < KH; ki++) {{ int hh = oh * sh - pt + ki; if (hh < 0 || hh >= H) continue;
    for (int kj = 0; kj < KW; kj++) {{ int ww = ow * sw - pl + kj; if (ww < 0 || ww >= W) continue;
      dx[(((size_t)b * H + hh) * W + ww) * C + c] = hh * W + ww == first ? gv : (T)0; }} }}
}}
inline int count_(int start, int k, int size) {{ return min(start + k, size) - max(start, 0); }}
__kernel void avg_pool(__global T* z, __global const T* x, {_GEO}) {{
  DECODE(OH) int oh = h_, ow = w_;
  T acc = 0;
  for (int ki = 0; ki < KH; ki++) {{ int h = oh * sh - pt + ki; if (h < 0 || h >= H) continue;
    for (int kj = 0; kj < KW; kj++) {{ int w = ow * sw - pl + kj; if (w < 0 || w >= W) continue;
      acc += x[(((size_t)b * H + h) * W + w) * C + c]; }} }}
  z[(((size_t)b * OH + oh) * OW + ow) * C + c] = acc / (T)(count_(oh * sh - pt, KH, H) * count_(ow * sw - pl, KW, W));
}}
__kernel void avg_pool_grad(__global T* dx, __global const T* g, {_GEO}) {{
  DECODE(H) int h = h_, w = w_;
  COVER(h, pt, KH, sh, OH, oh0, oh1) COVER(w, pl, KW, sw, OW, ow0, ow1)
  T acc = 0;
  for (int oh = oh0; oh <= oh1; oh++) for (int ow = ow0; ow <= ow1; ow++)
    acc += g[(((size_t)b * OH + oh) * OW + ow) * C + c]
           / (T)(count_(oh * sh - pt, KH, H) * count_(ow * sw - pl, KW, W));
  dx[(((size_t)b * H + h) * W + w) * C + c] = acc;
}}
"""


def program(device, dtype):
    """The convolution and pooling program for ``dtype`` on ``device``."""
    dtype = np.dtype(dtype)
    return device.kernels(("conv", dtype), lambda: _source(dtype))


def _nhwc(x, data_format):
    return permuted_copy(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def _from_nhwc(x, data_format):
    return permuted_copy(x, (0, 3, 1, 2)) if data_format == "NCHW" else x


def _sizes_nhwc(sizes, data_format):
    return to_nhwc(np.reshape(host_value(sizes), -1), data_format)


def _args(geo):
    """The kernels' geometry arguments (``_GEO``)."""
    return [i32(v) for v in (geo.h, geo.w, geo.c, geo.oh, geo.ow, geo.kh, geo.kw, geo.sh, geo.sw, geo.dh, geo.dw,
                             geo.pt, geo.pl)]


def _packed_columns(x, geo, transposed: bool):
    """im2col of ``x`` in the gemm's row-panel layout: the columns [P, Q], or their transpose [Q, P]."""
    dev = x.device
    rows, depth = geo.n * geo.oh * geo.ow, geo.kh * geo.kw * geo.c
    if transposed:
        panels = -(-depth // TM)
        packed = dev.empty((panels * TM * rows,), x.dtype)
        dev.launch(program(dev, x.dtype).im2col_packed_t, (-(-rows // 64) * 64, panels), (64, 1), packed.buffer,
                   x.buffer, i32(rows), *_args(geo))
    else:
        n = -(-rows // TM) * TM
        packed = dev.empty((n * depth,), x.dtype)
        launch_1d(dev, program(dev, x.dtype).im2col_packed, n, packed.buffer, x.buffer, i32(n), i32(rows), *_args(geo))
    return packed, rows, depth


def _launch3(dev, kernel, shape, *args):
    """Launch over (channel, column, batch * row) of an NHWC ``shape``; nothing for an empty one."""
    n, h, w, c = shape
    if n * h * w * c:
        dev.launch(kernel, (c, w, n * h), _local3(c, w), *args)


def _local3(c: int, w: int) -> tuple:
    """A work-group of up to 256 items that divides (c, w, *): PoCL's own choice is often tiny, and each
    work-group costs about a microsecond to schedule."""
    lc = 1
    while lc < 64 and c % (lc * 2) == 0:
        lc *= 2
    lw = max(d for d in range(1, w + 1) if w % d == 0 and lc * d <= 256)
    return (lc, lw, 1)


def conv2d(x, f, *, strides, padding, explicit_paddings, data_format, dilations):
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    packed, rows, depth = _packed_columns(xn, geo, transposed=False)
    out = gemm(xn, f.view((depth, f.shape[3])), rows, f.shape[3], depth, packed_a=packed)
    return _from_nhwc(out.view(geo.out_shape(f.shape[3])), data_format)


def fused_conv2d(x, f, bias, *, strides, padding, explicit_paddings, data_format, dilations, activation):
    """conv2d, plus ``bias`` (one per output channel), then ``activation`` ("Relu" or ""), in the gemm's epilogue."""
    if bias.shape != (f.shape[3],):
        raise ValueError(f"bias of shape {list(bias.shape)} must have one entry per output channel ({f.shape[3]})")
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    packed, rows, depth = _packed_columns(xn, geo, transposed=False)
    out = gemm(xn, f.view((depth, f.shape[3])), rows, f.shape[3], depth, packed_a=packed, bias=bias,
               relu=activation == "Relu")
    return _from_nhwc(out.view(geo.out_shape(f.shape[3])), data_format)


def conv2d_backprop_input(input_sizes, f, dy, *, strides, padding, explicit_paddings, data_format, dilations):
    in_shape = _sizes_nhwc(input_sizes, data_format)
    geo = conv2d_geometry(in_shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format)
    geo.check_out(dyn.shape)
    rows, depth = geo.n * geo.oh * geo.ow, geo.kh * geo.kw * geo.c
    dcols = gemm(dyn.view((rows, f.shape[3])), f.view((depth, f.shape[3])), rows, depth, f.shape[3],
                 transpose_b=True)
    dev = dy.device
    dx = dev.empty(in_shape, dy.dtype)
    _launch3(dev, program(dev, dy.dtype).col2im, in_shape, dx.buffer, dcols.buffer, *_args(geo))
    return _from_nhwc(dx, data_format)


def conv2d_backprop_filter(x, filter_sizes, dy, *, strides, padding, explicit_paddings, data_format, dilations):
    f_shape = tuple(int(v) for v in np.reshape(host_value(filter_sizes), -1))
    xn = _nhwc(x, data_format)
    geo = conv2d_geometry(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format)
    geo.check_out(dyn.shape)
    packed, rows, depth = _packed_columns(xn, geo, transposed=True)
    df = gemm(xn, dyn.view((rows, f_shape[3])), depth, f_shape[3], rows, packed_a=packed)
    return df.view(f_shape)


# -- pooling -------------------------------------------------------------------------------------------
def _pool(name, x, ksize, strides, padding, data_format):
    xn = _nhwc(x, data_format)
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    dev = x.device
    out = dev.empty(geo.out_shape(geo.c), x.dtype)
    _launch3(dev, getattr(program(dev, x.dtype), name), out.shape, out.buffer, xn.buffer, *_args(geo))
    return _from_nhwc(out, data_format)


def max_pool(x, *, ksize, strides, padding, data_format):
    return _pool("max_pool", x, ksize, strides, padding, data_format)


def avg_pool(x, *, ksize, strides, padding, data_format):
    return _pool("avg_pool", x, ksize, strides, padding, data_format)


def max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
    xn, yn, gn = (_nhwc(v, data_format) for v in (orig_input, orig_output, grad))
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(gn.shape, "grad")
    dev = grad.device
    prog = program(dev, grad.dtype)
    if geo.sh >= geo.kh and geo.sw >= geo.kw:
        tiles = geo.sh == geo.kh and geo.sw == geo.kw and geo.oh * geo.sh - geo.pt >= geo.h and \
            geo.ow * geo.sw - geo.pl >= geo.w
        dx = dev.empty(xn.shape, grad.dtype) if tiles else zeros_like(xn)
        _launch3(dev, prog.max_pool_grad_disjoint, gn.shape, dx.buffer, xn.buffer, yn.buffer, gn.buffer, *_args(geo))
    else:
        dx = dev.empty(xn.shape, grad.dtype)
        _launch3(dev, prog.max_pool_grad, xn.shape, dx.buffer, xn.buffer, yn.buffer, gn.buffer, *_args(geo))
    return _from_nhwc(dx, data_format)


def avg_pool_grad(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    in_shape = _sizes_nhwc(orig_input_shape, data_format)
    gn = _nhwc(grad, data_format)
    geo = pool2d_geometry(in_shape, ksize, strides, padding, data_format)
    geo.check_out(gn.shape, "grad")
    dev = grad.device
    dx = dev.empty(in_shape, grad.dtype)
    _launch3(dev, program(dev, grad.dtype).avg_pool_grad, in_shape, dx.buffer, gn.buffer, *_args(geo))
    return _from_nhwc(dx, data_format)


KERNELS = {
    "Conv2D": conv2d, "Conv2DBackpropInput": conv2d_backprop_input, "Conv2DBackpropFilter": conv2d_backprop_filter,
    "MaxPool": max_pool, "MaxPoolGrad": max_pool_grad, "AvgPool": avg_pool, "AvgPoolGrad": avg_pool_grad,
}


def register(registrar, dtypes: dict) -> None:
    """Convolutions and pooling for float dtypes, and the fused conv when core defines it."""
    registrar.kernels("opencl", KERNELS, dtypes=dtypes["f"])
    try:
        registrar.kernel("_FusedConv2D", "opencl", fused_conv2d, dtypes=dtypes["f"])
    except KeyError:  # a core without the fusion pass defines no _FusedConv2D
        pass
