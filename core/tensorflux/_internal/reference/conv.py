"""Convolution and pooling reference kernels over an array namespace ``xp`` (the array API standard, 2023.12).

They favour clarity over speed. Everything runs in NHWC (NCHW is permuted in and out) on a padded copy of
the input, built by concatenation; the geometry (output size, padding, window taps) is
``tensorflux.extend``'s, shared with every device.

- A convolution is im2col: one strided slice of the padded input per filter tap, stacked into a column
  matrix [pixels, taps * channels], times the filter as a matrix [taps * channels, out_channels].
- The standard has no scatter, so gradients that would scatter (a convolution's input gradient, the pooling
  gradients) *place* each tap's block on the padded grid instead (zeros interleaved for the stride, zeros
  concatenated for the offset) and sum the placed blocks; the padding is then cropped off.
- MaxPoolGrad routes each window's gradient to its first maximum in row-major order, as TF's CPU kernel.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

from ..geometry import WindowGeometry, conv2d_geometry, pool2d_geometry, to_nhwc
from .common import axis_slice, host_ints
from .nn_support import bind, cast_like, computed, from_nhwc, is_integral, nhwc


# -- window machinery ------------------------------------------------------------------------------------------
def _full(xp: Any, shape: tuple, fill: Any, like: Any) -> Any:
    return xp.full(shape, fill, dtype=like.dtype, device=like.device)


def _pad_axis(xp: Any, x: Any, axis: int, before: int, after: int, fill: Any = 0) -> Any:
    """``x`` with ``before`` and ``after`` cells of ``fill`` added along ``axis``."""
    if not (before or after):
        return x
    parts = []
    for count in (before, after):
        shape = list(x.shape)
        shape[axis] = count
        parts.append(_full(xp, tuple(shape), fill, x))
    return xp.concat([parts[0], x, parts[1]], axis=axis)


def _padded(xp: Any, x: Any, geo: WindowGeometry, fill: Any = 0) -> Any:
    """The NHWC ``x`` with ``geo``'s padding around height and width, filled with ``fill``."""
    return _pad_axis(xp, _pad_axis(xp, x, 1, geo.pt, geo.pb, fill), 2, geo.pl, geo.pr, fill)


def _cropped(x: Any, geo: WindowGeometry) -> Any:
    """The unpadded part of a padded NHWC ``x``."""
    return x[:, geo.pt:geo.pt + geo.h, geo.pl:geo.pl + geo.w, :]


def _tap_blocks(padded: Any, geo: WindowGeometry) -> list:
    """Per window tap (row-major), the [n, oh, ow, c] block of the ``padded`` input it meets in every window."""
    return [padded[:, rows, cols, :] for _, _, rows, cols in geo.taps()]


def _spread(xp: Any, x: Any, axis: int, at: slice, size: int) -> Any:
    """``x``'s entries along ``axis`` moved to positions ``at.start``, ``at.start + at.step``, ... of a zero axis
    of ``size``: step - 1 zeros interleaved after each entry, then zeros before and after."""
    count = x.shape[axis]
    if at.step > 1 and count > 1:
        zeros = xp.zeros_like(x)
        stacked = xp.stack([x] + [zeros] * (at.step - 1), axis=axis + 1)  # each entry, then step - 1 zeros
        shape = x.shape[:axis] + (count * at.step,) + x.shape[axis + 1:]
        x = xp.reshape(stacked, shape)[axis_slice(len(shape), axis, 0, (count - 1) * at.step + 1)]
    return _pad_axis(xp, x, axis, at.start, size - at.start - x.shape[axis])


def _placed_sum(xp: Any, blocks: list, geo: WindowGeometry) -> Any:
    """The padded NHWC grid with each tap's [n, oh, ow, c] block (``blocks`` in ``geo.taps()`` order) added at
    the cells that tap reads: the transpose of ``_tap_blocks``."""
    _, hp, wp, _ = geo.padded_shape()
    total = None
    for block, (_, _, rows, cols) in zip(blocks, geo.taps()):
        placed = _spread(xp, _spread(xp, block, 1, rows, hp), 2, cols, wp)
        total = placed if total is None else total + placed
    return total


def _empty_windows(geo: WindowGeometry) -> bool:
    return geo.n * geo.oh * geo.ow == 0


def _lowest(xp: Any, dtype: Any) -> Any:
    """The fill that never wins a max: the least integer, or -inf."""
    return xp.iinfo(dtype).min if is_integral(xp, dtype) else -math.inf


def _valid_counts(xp: Any, geo: WindowGeometry, like: Any) -> Any:
    """[1, oh, ow, 1]: how many real (unpadded) cells each window covers, in ``like``'s dtype."""
    rows, cols = geo.valid_counts()
    counts = xp.asarray([[r * c for c in cols] for r in rows], dtype=like.dtype, device=like.device)
    return xp.reshape(counts, (1, geo.oh, geo.ow, 1))


# -- convolutions ---------------------------------------------------------------------------------------------
def _columns(xp: Any, x: Any, geo: WindowGeometry) -> Any:
    """im2col of the NHWC ``x``: [n * oh * ow, kh * kw * c], taps row-major, channels fastest."""
    stacked = xp.stack(_tap_blocks(_padded(xp, x, geo), geo), axis=3)
    return xp.reshape(stacked, (geo.n * geo.oh * geo.ow, geo.kh * geo.kw * geo.c))


def _forward(xp: Any, x: Any, f: Any, geo: WindowGeometry) -> Any:
    """The NHWC convolution of ``x`` (computed dtype) with ``f`` [kh, kw, c, o], [n, oh, ow, o]."""
    o = f.shape[3]
    if _empty_windows(geo):
        return xp.zeros(geo.out_shape(o), dtype=x.dtype, device=x.device)
    out = xp.matmul(_columns(xp, x, geo), xp.reshape(f, (geo.kh * geo.kw * geo.c, o)))
    return xp.reshape(out, geo.out_shape(o))


def conv2d(xp: Any, x: Any, f: Any, *, strides: list, padding: str, explicit_paddings: list, data_format: str,
           dilations: list) -> Any:
    """Conv2D: TF's cross-correlation of a 4-D ``x`` with ``f`` [kh, kw, in_channels, out_channels]."""
    xn = computed(xp, nhwc(xp, x, data_format))
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    return cast_like(xp, from_nhwc(xp, _forward(xp, xn, computed(xp, f), geo), data_format), x)


def conv2d_backprop_input(xp: Any, input_sizes: Any, f: Any, dy: Any, *, strides: list, padding: str,
                          explicit_paddings: list, data_format: str, dilations: list) -> Any:
    """Conv2DBackpropInput: the gradient of Conv2D with respect to its input (of shape ``input_sizes``)."""
    sizes = host_ints(input_sizes)
    geo = conv2d_geometry(to_nhwc(sizes, data_format), f.shape, strides, padding, explicit_paddings, data_format,
                          dilations)
    dyn = computed(xp, nhwc(xp, dy, data_format))
    geo.check_out(dyn.shape)
    if _empty_windows(geo) or geo.c == 0:
        return xp.zeros(tuple(sizes), dtype=dy.dtype, device=dy.device)
    o = f.shape[3]
    taps = geo.kh * geo.kw
    # Per window and tap, what flows back to the input cell the tap read: dy @ filter^T.
    back = xp.matmul(xp.reshape(dyn, (-1, o)), xp.matrix_transpose(xp.reshape(computed(xp, f), (-1, o))))
    back = xp.reshape(back, (geo.n, geo.oh, geo.ow, taps, geo.c))
    dx = _cropped(_placed_sum(xp, [back[:, :, :, t, :] for t in range(taps)], geo), geo)
    return cast_like(xp, from_nhwc(xp, dx, data_format), dy)


def conv2d_backprop_filter(xp: Any, x: Any, filter_sizes: Any, dy: Any, *, strides: list, padding: str,
                           explicit_paddings: list, data_format: str, dilations: list) -> Any:
    """Conv2DBackpropFilter: the gradient of Conv2D with respect to its filter (of shape ``filter_sizes``)."""
    f_shape = tuple(host_ints(filter_sizes))
    xn = computed(xp, nhwc(xp, x, data_format))
    geo = conv2d_geometry(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = computed(xp, nhwc(xp, dy, data_format))
    geo.check_out(dyn.shape)
    if _empty_windows(geo):
        return xp.zeros(f_shape, dtype=x.dtype, device=x.device)
    df = xp.matmul(xp.matrix_transpose(_columns(xp, xn, geo)), xp.reshape(dyn, (-1, f_shape[3])))
    return cast_like(xp, xp.reshape(df, f_shape), x)


def _max2x2(xp: Any, y: Any) -> Any:
    """The 2x2 stride-2 max pool of an NHWC ``y`` of even height and width."""
    h, w = y.shape[1], y.shape[2]
    corners = [y[:, a:h:2, b:w:2, :] for a in (0, 1) for b in (0, 1)]
    return functools.reduce(xp.maximum, corners)


def fused_conv2d(xp: Any, x: Any, f: Any, bias: Any, *, strides: list, padding: str, explicit_paddings: list,
                 data_format: str, dilations: list, activation: str, pool: str = "") -> Any:
    """_FusedConv2D: Conv2D, plus ``bias`` (one per output channel), then ``activation`` ("Relu" or ""), then
    with ``pool="MaxPool2x2"`` a 2x2 stride-2 max pool (NHWC, even output height and width)."""
    xn = computed(xp, nhwc(xp, x, data_format))
    geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    if tuple(bias.shape) != (f.shape[3],):
        raise ValueError(f"bias of shape {list(bias.shape)} must have one entry per output channel ({f.shape[3]})")
    if pool and (geo.oh % 2 or geo.ow % 2 or data_format != "NHWC"):
        raise ValueError(f"a fused 2x2 max pool needs an NHWC output of even height and width, got "
                         f"{geo.oh}x{geo.ow} ({data_format})")
    y = _forward(xp, xn, computed(xp, f), geo) + xp.reshape(computed(xp, bias), (1, 1, 1, f.shape[3]))
    if activation == "Relu":
        y = xp.maximum(y, xp.zeros_like(y))
    if pool:
        y = _max2x2(xp, y)
    return cast_like(xp, from_nhwc(xp, y, data_format), x)


def fused_scale_shift(xp: Any, x: Any, scale: Any, offset: Any, *, activation: str = "") -> Any:
    """_FusedScaleShift: ``x * scale + offset`` along the last axis, then ``activation`` ("", "Relu" or "Relu6")."""
    channels = x.shape[-1]
    if tuple(scale.shape) != (channels,) or tuple(offset.shape) != (channels,):
        raise ValueError(f"scale {list(scale.shape)} and offset {list(offset.shape)} must have one entry per channel "
                         f"of the last axis ({channels})")
    y = x * scale + offset
    if activation in ("Relu", "Relu6"):
        y = xp.maximum(y, xp.zeros_like(y))
    if activation == "Relu6":
        y = xp.minimum(y, xp.full_like(y, 6))
    return y


# -- pooling --------------------------------------------------------------------------------------------------
def _max_pool_nhwc(xp: Any, xn: Any, geo: WindowGeometry) -> tuple[list, Any]:
    """(the tap blocks of the padded input, their maximum): padding never wins, a nan makes the maximum nan."""
    blocks = _tap_blocks(_padded(xp, xn, geo, _lowest(xp, xn.dtype)), geo)
    return blocks, functools.reduce(xp.maximum, blocks)


def max_pool(xp: Any, x: Any, *, ksize: list, strides: list, padding: str, data_format: str) -> Any:
    """MaxPool: the maximum of each window."""
    xn = nhwc(xp, x, data_format)
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    if _empty_windows(geo):
        return from_nhwc(xp, xp.zeros(geo.out_shape(), dtype=x.dtype, device=x.device), data_format)
    return from_nhwc(xp, _max_pool_nhwc(xp, xn, geo)[1], data_format)


def max_pool_grad(xp: Any, orig_input: Any, orig_output: Any, grad: Any, *, ksize: list, strides: list,
                  padding: str, data_format: str) -> Any:
    """MaxPoolGrad: each window's gradient goes to the first maximum of the window in row-major order."""
    xn, g = nhwc(xp, orig_input, data_format), computed(xp, nhwc(xp, grad, data_format))
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(g.shape, "grad")
    if _empty_windows(geo):
        return xp.zeros(orig_input.shape, dtype=grad.dtype, device=grad.device)
    blocks, top = _max_pool_nhwc(xp, xn, geo)
    # Padding holds the dtype's least value, which real cells may hold too (0 for uint8): it never takes a share.
    real = _tap_blocks(_padded(xp, xp.ones(xn.shape, dtype=xp.bool, device=xn.device), geo, False), geo)
    routed = xp.zeros(top.shape, dtype=xp.bool, device=top.device)
    zeros = xp.zeros_like(g)
    shares = []
    for block, inside in zip(blocks, real):
        hit = xp.logical_and(xp.logical_and(block == top, inside), xp.logical_not(routed))
        routed = xp.logical_or(routed, hit)
        shares.append(xp.where(hit, g, zeros))
    dx = _cropped(_placed_sum(xp, shares, geo), geo)
    return cast_like(xp, from_nhwc(xp, dx, data_format), grad)


def fused_max_pool_grad(xp: Any, orig_input: Any, orig_output: Any, grad: Any, *, ksize: list, strides: list,
                        padding: str, data_format: str, activation: str) -> Any:
    """_FusedMaxPoolGrad: MaxPoolGrad, then with ``activation="Relu"`` ReluGrad at ``orig_input`` (the pool's
    input is the relu's output): the gradient survives only where ``orig_input > 0``."""
    dx = max_pool_grad(xp, orig_input, orig_output, grad, ksize=ksize, strides=strides, padding=padding,
                       data_format=data_format)
    return xp.where(orig_input > 0, dx, xp.zeros_like(dx)) if activation == "Relu" else dx


def avg_pool(xp: Any, x: Any, *, ksize: list, strides: list, padding: str, data_format: str) -> Any:
    """AvgPool: the mean of each window over its real (unpadded) cells, as TF."""
    xn = computed(xp, nhwc(xp, x, data_format))
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    if _empty_windows(geo):
        return from_nhwc(xp, xp.zeros(geo.out_shape(), dtype=x.dtype, device=x.device), data_format)
    total = functools.reduce(xp.add, _tap_blocks(_padded(xp, xn, geo), geo))
    return cast_like(xp, from_nhwc(xp, total / _valid_counts(xp, geo, xn), data_format), x)


def avg_pool_grad(xp: Any, orig_input_shape: Any, grad: Any, *, ksize: list, strides: list, padding: str,
                  data_format: str) -> Any:
    """AvgPoolGrad: each window's gradient shared equally among its real cells."""
    sizes = host_ints(orig_input_shape)
    geo = pool2d_geometry(to_nhwc(sizes, data_format), ksize, strides, padding, data_format)
    g = computed(xp, nhwc(xp, grad, data_format))
    geo.check_out(g.shape, "grad")
    if _empty_windows(geo):
        return xp.zeros(tuple(sizes), dtype=grad.dtype, device=grad.device)
    share = g / _valid_counts(xp, geo, g)
    dx = _cropped(_placed_sum(xp, [share] * (geo.kh * geo.kw), geo), geo)
    return cast_like(xp, from_nhwc(xp, dx, data_format), grad)


_KERNELS = {
    "Conv2D": conv2d, "Conv2DBackpropInput": conv2d_backprop_input, "Conv2DBackpropFilter": conv2d_backprop_filter,
    "_FusedConv2D": fused_conv2d, "_FusedScaleShift": fused_scale_shift, "MaxPool": max_pool, "MaxPoolGrad": max_pool_grad,
    "_FusedMaxPoolGrad": fused_max_pool_grad, "AvgPool": avg_pool, "AvgPoolGrad": avg_pool_grad,
}


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the convolution and pooling ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
        >>> kernels(np)["MaxPool"](x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID",
        ...                        data_format="NHWC")[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    return {op: bind(xp, fn) for op, fn in _KERNELS.items()}
