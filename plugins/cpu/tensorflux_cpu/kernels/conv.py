"""Convolution and pooling kernels.

conv2d is im2col (a strided window view, one copy) followed by one BLAS matmul; its input gradient
scatters the column matrix back with one strided add per filter tap. Pooling reduces over strided
views, one vectorized step per window position. Everything runs in NHWC; NCHW is transposed in and out.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import as_strided

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))


def _compute_dtype(dtype):
    return np.dtype(np.float32) if dtype in _LOW_PRECISION else dtype


def _geometry(size, k, stride, dilation, padding, pads=(0, 0), what="input"):
    """(output size, pad before, pad after) of one spatial dimension, as TF computes them."""
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, total // 2, total - total // 2
    before, after = pads if padding == "EXPLICIT" else (0, 0)
    if size + before + after < eff:
        raise ValueError(f"{what} of size {size} (padded {size + before + after}) is smaller than the window of "
                         f"size {eff}; {padding} padding gives no output")
    return (size + before + after - eff) // stride + 1, before, after


def _nhwc(x, data_format):
    return np.transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def _from_nhwc(x, data_format):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))) if data_format == "NCHW" else x


def _hw(values, data_format):
    """The (height, width) entries of a 4-element strides/ksize/dilations list or shape."""
    return (values[2], values[3]) if data_format == "NCHW" else (values[1], values[2])


def _explicit(explicit_paddings, data_format):
    if not explicit_paddings:
        return (0, 0), (0, 0)
    p = list(explicit_paddings)
    h, w = (2, 3) if data_format == "NCHW" else (1, 2)
    return (p[2 * h], p[2 * h + 1]), (p[2 * w], p[2 * w + 1])


class _Conv:
    """The geometry of one NHWC convolution: output size and padding per spatial dimension."""

    def __init__(self, in_shape, f_shape, strides, padding, explicit_paddings, data_format, dilations):
        n, h, w, c = in_shape
        kh, kw, fc, o = f_shape
        if fc != c:
            raise ValueError(f"input depth {c} does not match filter in_channels {fc} (filter shape {list(f_shape)})")
        self.sh, self.sw = _hw(strides, data_format)
        self.dh, self.dw = _hw(dilations, data_format)
        ph, pw = _explicit(explicit_paddings, data_format)
        self.oh, self.pt, self.pb = _geometry(h, kh, self.sh, self.dh, padding, ph, "input height")
        self.ow, self.pl, self.pr = _geometry(w, kw, self.sw, self.dw, padding, pw, "input width")
        self.in_shape, self.f_shape = (n, h, w, c), (kh, kw, c, o)

    def padded(self, x):
        if self.pt or self.pb or self.pl or self.pr:
            return np.pad(x, ((0, 0), (self.pt, self.pb), (self.pl, self.pr), (0, 0)))
        return x

    def columns(self, x):
        """im2col: [N*OH*OW, KH*KW*C], one copy of a strided window view of the padded input."""
        xp = self.padded(x)
        n, _, _, c = x.shape
        kh, kw = self.f_shape[:2]
        s = xp.strides
        view = as_strided(xp, shape=(n, self.oh, self.ow, kh, kw, c),
                          strides=(s[0], s[1] * self.sh, s[2] * self.sw, s[1] * self.dh, s[2] * self.dw, s[3]),
                          writeable=False)
        return view.reshape(n * self.oh * self.ow, kh * kw * c)

    def check_out(self, dy):
        n, _, _, _ = self.in_shape
        want = (n, self.oh, self.ow, self.f_shape[3])
        if dy.shape != want:
            raise ValueError(f"out_backprop has shape {list(dy.shape)}, expected {list(want)} for input "
                             f"{list(self.in_shape)} and filter {list(self.f_shape)}")


def conv2d(x, f, *, strides, padding, explicit_paddings, data_format, dilations):
    xn = _nhwc(x, data_format)
    geo = _Conv(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    ct = _compute_dtype(x.dtype)
    cols = geo.columns(xn.astype(ct, copy=False))
    out = cols @ f.astype(ct, copy=False).reshape(-1, f.shape[3])
    out = out.reshape(xn.shape[0], geo.oh, geo.ow, f.shape[3]).astype(x.dtype, copy=False)
    return _from_nhwc(out, data_format)


def conv2d_backprop_input(input_sizes, f, dy, *, strides, padding, explicit_paddings, data_format, dilations):
    sizes = [int(s) for s in input_sizes]
    in_shape = (sizes[0], sizes[2], sizes[3], sizes[1]) if data_format == "NCHW" else tuple(sizes)
    geo = _Conv(in_shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format)
    geo.check_out(dyn)
    ct = _compute_dtype(dy.dtype)
    n, h, w, c = in_shape
    kh, kw, _, o = f.shape
    dcols = (dyn.astype(ct, copy=False).reshape(-1, o) @ f.astype(ct, copy=False).reshape(-1, o).T)
    dcols = dcols.reshape(n, geo.oh, geo.ow, kh, kw, c)
    dxp = np.zeros((n, h + geo.pt + geo.pb, w + geo.pl + geo.pr, c), dtype=ct)
    for i in range(kh):
        r0 = i * geo.dh
        for j in range(kw):
            c0 = j * geo.dw
            dxp[:, r0:r0 + (geo.oh - 1) * geo.sh + 1:geo.sh, c0:c0 + (geo.ow - 1) * geo.sw + 1:geo.sw, :] += \
                dcols[:, :, :, i, j, :]
    dx = dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w, :].astype(dy.dtype)
    return _from_nhwc(dx, data_format)


def conv2d_backprop_filter(x, filter_sizes, dy, *, strides, padding, explicit_paddings, data_format, dilations):
    f_shape = tuple(int(s) for s in filter_sizes)
    xn = _nhwc(x, data_format)
    geo = _Conv(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = _nhwc(dy, data_format)
    geo.check_out(dyn)
    ct = _compute_dtype(x.dtype)
    cols = geo.columns(xn.astype(ct, copy=False))
    df = cols.T @ dyn.astype(ct, copy=False).reshape(-1, f_shape[3])
    return df.reshape(f_shape).astype(x.dtype, copy=False)


# -- pooling -------------------------------------------------------------------------------------
class _Pool:
    def __init__(self, in_shape, ksize, strides, padding, data_format):
        n, h, w, c = in_shape
        self.kh, self.kw = _hw(ksize, data_format)
        self.sh, self.sw = _hw(strides, data_format)
        self.oh, self.pt, self.pb = _geometry(h, self.kh, self.sh, 1, padding, what="input height")
        self.ow, self.pl, self.pr = _geometry(w, self.kw, self.sw, 1, padding, what="input width")
        self.shape = (n, h, w, c)

    def padded(self, x, fill):
        if self.pt or self.pb or self.pl or self.pr:
            return np.pad(x, ((0, 0), (self.pt, self.pb), (self.pl, self.pr), (0, 0)), constant_values=fill)
        return x

    def windows(self):
        """For each window position (row-major), the strided slice of the padded input it reads."""
        for i in range(self.kh):
            for j in range(self.kw):
                yield (slice(None), slice(i, i + (self.oh - 1) * self.sh + 1, self.sh),
                       slice(j, j + (self.ow - 1) * self.sw + 1, self.sw), slice(None))

    def counts(self, dtype):
        """How many real (unpadded) cells each output window covers: [1, OH, OW, 1]."""
        _, h, w, _ = self.shape

        def valid(out, stride, pad, k, size):
            start = np.arange(out) * stride - pad
            return np.minimum(start + k, size) - np.maximum(start, 0)

        rows = valid(self.oh, self.sh, self.pt, self.kh, h)
        cols = valid(self.ow, self.sw, self.pl, self.kw, w)
        return (rows[:, None] * cols[None, :]).astype(dtype)[None, :, :, None]

    def check_out(self, g):
        want = (self.shape[0], self.oh, self.ow, self.shape[3])
        if g.shape != want:
            raise ValueError(f"grad has shape {list(g.shape)}, expected {list(want)} for input {list(self.shape)}")


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" or dtype in _LOW_PRECISION else np.iinfo(dtype).min


def _max_pool_nhwc(geo, xn):
    xp = geo.padded(xn, _lowest(xn.dtype))
    out = None
    for window in geo.windows():
        out = xp[window].copy() if out is None else np.maximum(out, xp[window], out=out)
    return xp, out


def max_pool(x, *, ksize, strides, padding, data_format):
    xn = _nhwc(x, data_format)
    _, out = _max_pool_nhwc(_Pool(xn.shape, ksize, strides, padding, data_format), xn)
    return _from_nhwc(out, data_format)


def max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
    """Each output's gradient goes to the first maximum of its window in row-major order, as TF's CPU kernel."""
    xn, g = _nhwc(orig_input, data_format), _nhwc(grad, data_format)
    geo = _Pool(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(g)
    xp, out = _max_pool_nhwc(geo, xn)
    ct = _compute_dtype(grad.dtype)
    gc = g.astype(ct, copy=False)
    dxp = np.zeros(xp.shape, dtype=ct)
    routed = np.zeros(out.shape, dtype=bool)
    zero = ct.type(0)
    for window in geo.windows():
        hit = (xp[window] == out) & ~routed
        dxp[window] += np.where(hit, gc, zero)
        routed |= hit
    _, h, w, _ = xn.shape
    return _from_nhwc(dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w, :].astype(grad.dtype), data_format)


def avg_pool(x, *, ksize, strides, padding, data_format):
    xn = _nhwc(x, data_format)
    geo = _Pool(xn.shape, ksize, strides, padding, data_format)
    ct = _compute_dtype(x.dtype)
    xp = geo.padded(xn.astype(ct, copy=False), 0)
    total = None
    for window in geo.windows():
        total = xp[window].copy() if total is None else np.add(total, xp[window], out=total)
    return _from_nhwc((total / geo.counts(ct)).astype(x.dtype, copy=False), data_format)


def avg_pool_grad(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    sizes = [int(s) for s in orig_input_shape]
    in_shape = (sizes[0], sizes[2], sizes[3], sizes[1]) if data_format == "NCHW" else tuple(sizes)
    geo = _Pool(in_shape, ksize, strides, padding, data_format)
    g = _nhwc(grad, data_format)
    geo.check_out(g)
    ct = _compute_dtype(grad.dtype)
    share = g.astype(ct, copy=False) / geo.counts(ct)
    n, h, w, c = in_shape
    dxp = np.zeros((n, h + geo.pt + geo.pb, w + geo.pl + geo.pr, c), dtype=ct)
    for window in geo.windows():
        dxp[window] += share
    return _from_nhwc(dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w, :].astype(grad.dtype), data_format)


KERNELS = {
    "Conv2D": conv2d, "Conv2DBackpropInput": conv2d_backprop_input, "Conv2DBackpropFilter": conv2d_backprop_filter,
    "MaxPool": max_pool, "MaxPoolGrad": max_pool_grad, "AvgPool": avg_pool, "AvgPoolGrad": avg_pool_grad,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
