"""Depthwise convolution reference kernels over an array namespace ``xp`` (the array API standard, 2023.12).

They reuse the window machinery of ``reference.conv`` (NHWC on a padded copy, one strided block per filter tap):

- forward: per tap, the input block [n, oh, ow, c, 1] times the tap's filter [c, multiplier], summed over taps;
- input gradient: per tap, ``dy`` [n, oh, ow, c, multiplier] times the tap's filter summed over the multiplier,
  placed back on the padded grid (``conv._placed_sum``) and cropped;
- filter gradient: per tap, the input block times ``dy``, summed over batch and pixels.
"""

from __future__ import annotations

from typing import Any, Callable

from ..geometry import WindowGeometry, conv2d_geometry, to_nhwc
from .common import host_ints
from .conv import _cropped, _empty_windows, _padded, _placed_sum, _tap_blocks
from .nn_support import bind, cast_like, computed, from_nhwc, nhwc


def _geometry(in_shape: Any, f_shape: Any, strides: list, padding: str, explicit_paddings: list, data_format: str,
              dilations: list) -> WindowGeometry:
    """A convolution geometry whose output has in_channels * multiplier channels (the depthwise output)."""
    kh, kw, c, m = (int(d) for d in f_shape)
    return conv2d_geometry(in_shape, (kh, kw, c, c * m), strides, padding, explicit_paddings, data_format, dilations)


def depthwise_conv2d(xp: Any, x: Any, f: Any, *, strides: list, padding: str, explicit_paddings: list,
                     data_format: str, dilations: list) -> Any:
    """DepthwiseConv2dNative: output channel ``c * m_count + m`` is input channel ``c`` filtered by ``f[:, :, c, m]``."""
    xn = computed(xp, nhwc(xp, x, data_format))
    geo = _geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
    c, m = f.shape[2], f.shape[3]
    if _empty_windows(geo) or c * m == 0:
        return cast_like(xp, from_nhwc(xp, xp.zeros(geo.out_shape(), dtype=xn.dtype, device=xn.device), data_format),
                         x)
    fc = computed(xp, f)
    total = None
    for (i, j, _, _), block in zip(geo.taps(), _tap_blocks(_padded(xp, xn, geo), geo)):
        term = xp.expand_dims(block, axis=4) * fc[i, j, :, :]
        total = term if total is None else total + term
    out = xp.reshape(total, geo.out_shape())
    return cast_like(xp, from_nhwc(xp, out, data_format), x)


def depthwise_conv2d_backprop_input(xp: Any, input_sizes: Any, f: Any, dy: Any, *, strides: list, padding: str,
                                    explicit_paddings: list, data_format: str, dilations: list) -> Any:
    """DepthwiseConv2dNativeBackpropInput: the gradient of the depthwise convolution with respect to its input."""
    sizes = host_ints(input_sizes)
    geo = _geometry(to_nhwc(sizes, data_format), f.shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = computed(xp, nhwc(xp, dy, data_format))
    geo.check_out(dyn.shape)
    c, m = f.shape[2], f.shape[3]
    if _empty_windows(geo) or c * m == 0:
        return xp.zeros(tuple(sizes), dtype=dy.dtype, device=dy.device)
    d5 = xp.reshape(dyn, (geo.n, geo.oh, geo.ow, c, m))
    fc = computed(xp, f)
    blocks = [xp.sum(d5 * fc[i, j, :, :], axis=4) for i, j, _, _ in geo.taps()]
    dx = _cropped(_placed_sum(xp, blocks, geo), geo)
    return cast_like(xp, from_nhwc(xp, dx, data_format), dy)


def depthwise_conv2d_backprop_filter(xp: Any, x: Any, filter_sizes: Any, dy: Any, *, strides: list, padding: str,
                                     explicit_paddings: list, data_format: str, dilations: list) -> Any:
    """DepthwiseConv2dNativeBackpropFilter: the gradient of the depthwise convolution with respect to its filter."""
    f_shape = tuple(host_ints(filter_sizes))
    xn = computed(xp, nhwc(xp, x, data_format))
    geo = _geometry(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
    dyn = computed(xp, nhwc(xp, dy, data_format))
    geo.check_out(dyn.shape)
    kh, kw, c, m = f_shape
    if _empty_windows(geo) or c * m == 0:
        return xp.zeros(f_shape, dtype=x.dtype, device=x.device)
    d5 = xp.reshape(dyn, (geo.n, geo.oh, geo.ow, c, m))
    taps = [xp.sum(xp.expand_dims(block, axis=4) * d5, axis=(0, 1, 2))
            for block in _tap_blocks(_padded(xp, xn, geo), geo)]
    return cast_like(xp, xp.reshape(xp.stack(taps, axis=0), f_shape), x)


def fused_depthwise_conv2d(xp: Any, x: Any, f: Any, bias: Any, *, strides: list, padding: str,
                           explicit_paddings: list, data_format: str, dilations: list, activation: str = "") -> Any:
    """_FusedDepthwiseConv2dNative: DepthwiseConv2dNative, plus ``bias`` (one per output channel), then
    ``activation`` ("", "Relu", "Relu6" or "Swish": ``y * sigmoid(y)``)."""
    channels = f.shape[2] * f.shape[3]
    if tuple(bias.shape) != (channels,):
        raise ValueError(f"_FusedDepthwiseConv2dNative: bias of shape {list(bias.shape)} must have one entry per "
                         f"output channel ({channels})")
    y = nhwc(xp, depthwise_conv2d(xp, x, f, strides=strides, padding=padding, explicit_paddings=explicit_paddings,
                                  data_format=data_format, dilations=dilations), data_format)
    y = y + xp.reshape(computed(xp, bias), (1, 1, 1, channels))
    if activation in ("Relu", "Relu6"):
        y = xp.maximum(y, xp.zeros_like(y))
    if activation == "Relu6":
        y = xp.minimum(y, xp.full_like(y, 6))
    if activation == "Swish":
        e = xp.exp(-xp.abs(y))  # the sigmoid without overflow
        y = y * xp.where(y >= 0, 1 / (1 + e), e / (1 + e))
    return cast_like(xp, from_nhwc(xp, y, data_format), x)


_KERNELS = {
    "_FusedDepthwiseConv2dNative": fused_depthwise_conv2d, "DepthwiseConv2dNative": depthwise_conv2d,
    "DepthwiseConv2dNativeBackpropInput": depthwise_conv2d_backprop_input,
    "DepthwiseConv2dNativeBackpropFilter": depthwise_conv2d_backprop_filter,
}


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the depthwise convolution ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> x, f = np.ones((1, 3, 3, 2)), np.ones((2, 2, 2, 1))
        >>> kernels(np)["DepthwiseConv2dNative"](x, f, strides=[1, 1, 1, 1], padding="VALID", explicit_paddings=[],
        ...                                      data_format="NHWC", dilations=[1, 1, 1, 1])[0, 0, 0].tolist()
        [4.0, 4.0]
    """
    return {op: bind(xp, fn) for op, fn in _KERNELS.items()}
