"""3-D convolution and pooling reference kernels over an array namespace ``xp`` (the array API standard, 2023.12).

The 2-D kernels of ``reference.conv`` with one more spatial axis, on the same machinery: NDHWC (NCDHW is permuted
in and out) on a padded copy of the input, one strided block per window cell (``Window3D.taps``).

- Conv3D is im2col: the blocks stacked into a column matrix [pixels, kd * kh * kw * c] times the filter as a
  matrix [kd * kh * kw * c, out_channels]; its filter gradient is the transposed column matrix times ``dy``.
- Gradients that scatter (the input gradient, the pooling gradients) *place* each cell's block on the padded
  grid (``conv._spread`` along depth, height and width) and sum the placed blocks, then crop the padding.
- MaxPool3DGrad routes each window's gradient to its first maximum in (depth, height, width) row-major order;
  MaxPool3DGradGrad picks, per window, the cell of its (input-shaped) gradient at that first maximum.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..geometry3d import Window3D, conv3d_geometry, pool3d_geometry, to_ndhwc
from .common import host_ints
from .conv import _lowest, _pad_axis, _spread
from .nn_support import bind, cast_like, computed


# -- layout and window machinery -----------------------------------------------------------------------------
def _ndhwc(xp: Any, x: Any, data_format: str) -> Any:
    return xp.permute_dims(x, (0, 2, 3, 4, 1)) if data_format == "NCDHW" else x


def _from_ndhwc(xp: Any, x: Any, data_format: str) -> Any:
    return xp.permute_dims(x, (0, 4, 1, 2, 3)) if data_format == "NCDHW" else x


def _padded(xp: Any, x: Any, geo: Window3D, fill: Any = 0) -> Any:
    for axis, (before, after) in zip((1, 2, 3), geo.pads):
        x = _pad_axis(xp, x, axis, before, after, fill)
    return x


def _cropped(x: Any, geo: Window3D) -> Any:
    (d0, _), (h0, _), (w0, _) = geo.pads
    d, h, w = geo.size
    return x[:, d0:d0 + d, h0:h0 + h, w0:w0 + w, :]


def _tap_blocks(padded: Any, geo: Window3D) -> list:
    """Per window cell (row-major), the [n, od, oh, ow, c] block of the ``padded`` input it meets in every window."""
    return [padded[:, sd, sh, sw, :] for _, (sd, sh, sw) in geo.taps()]


def _placed_sum(xp: Any, blocks: list, geo: Window3D) -> Any:
    """The padded NDHWC grid with each cell's block added where that cell reads: the transpose of ``_tap_blocks``."""
    _, dp, hp, wp, _ = geo.padded_shape()
    total = None
    for block, (_, (sd, sh, sw)) in zip(blocks, geo.taps()):
        placed = _spread(xp, _spread(xp, _spread(xp, block, 1, sd, dp), 2, sh, hp), 3, sw, wp)
        total = placed if total is None else total + placed
    return total


def _zeros(xp: Any, shape: tuple, like: Any) -> Any:
    return xp.zeros(tuple(shape), dtype=like.dtype, device=like.device)


def _columns(xp: Any, xn: Any, geo: Window3D) -> Any:
    """im2col of the NDHWC ``xn``: [n * od * oh * ow, kd * kh * kw * c], cells row-major, channels fastest."""
    stacked = xp.stack(_tap_blocks(_padded(xp, xn, geo), geo), axis=4)
    od, oh, ow = geo.out
    return xp.reshape(stacked, (geo.n * od * oh * ow, geo.taps_count * geo.c))


# -- convolutions ---------------------------------------------------------------------------------------------
def conv3d(xp: Any, x: Any, f: Any, *, strides: list, padding: str, data_format: str, dilations: list) -> Any:
    """Conv3D: TF's cross-correlation of a 5-D ``x`` with ``f`` [kd, kh, kw, in_channels, out_channels]."""
    xn = computed(xp, _ndhwc(xp, x, data_format))
    geo = conv3d_geometry(xn.shape, f.shape, strides, padding, data_format, dilations)
    o = geo.f_shape[4]
    if geo.empty or geo.c == 0:
        out = _zeros(xp, geo.out_shape(), xn)
    else:
        kernel = xp.reshape(computed(xp, f), (geo.taps_count * geo.c, o))
        out = xp.reshape(xp.matmul(_columns(xp, xn, geo), kernel), geo.out_shape())
    return cast_like(xp, _from_ndhwc(xp, out, data_format), x)


def conv3d_backprop_input(xp: Any, input_sizes: Any, f: Any, dy: Any, *, strides: list, padding: str,
                          data_format: str, dilations: list) -> Any:
    """Conv3DBackpropInputV2: the gradient of Conv3D with respect to its input (of shape ``input_sizes``)."""
    sizes = host_ints(input_sizes)
    geo = conv3d_geometry(to_ndhwc(sizes, data_format), f.shape, strides, padding, data_format, dilations)
    dyn = computed(xp, _ndhwc(xp, dy, data_format))
    geo.check_out(dyn.shape)
    if geo.empty or geo.c == 0:
        return _zeros(xp, sizes, dy)
    o, taps = geo.f_shape[4], geo.taps_count
    # Per window and cell, what flows back to the input cell it read: dy @ filter^T.
    back = xp.matmul(xp.reshape(dyn, (-1, o)), xp.matrix_transpose(xp.reshape(computed(xp, f), (-1, o))))
    back = xp.reshape(back, (*geo.out_shape(taps), geo.c))
    dx = _cropped(_placed_sum(xp, [back[:, :, :, :, t, :] for t in range(taps)], geo), geo)
    return cast_like(xp, _from_ndhwc(xp, dx, data_format), dy)


def conv3d_backprop_filter(xp: Any, x: Any, filter_sizes: Any, dy: Any, *, strides: list, padding: str,
                           data_format: str, dilations: list) -> Any:
    """Conv3DBackpropFilterV2: the gradient of Conv3D with respect to its filter (of shape ``filter_sizes``)."""
    f_shape = tuple(host_ints(filter_sizes))
    xn = computed(xp, _ndhwc(xp, x, data_format))
    geo = conv3d_geometry(xn.shape, f_shape, strides, padding, data_format, dilations)
    dyn = computed(xp, _ndhwc(xp, dy, data_format))
    geo.check_out(dyn.shape)
    if geo.empty or geo.c == 0:
        return _zeros(xp, f_shape, x)
    df = xp.matmul(xp.matrix_transpose(_columns(xp, xn, geo)), xp.reshape(dyn, (-1, f_shape[4])))
    return cast_like(xp, xp.reshape(df, f_shape), x)


# -- pooling --------------------------------------------------------------------------------------------------
def _max_blocks(xp: Any, xn: Any, geo: Window3D) -> tuple[list, Any]:
    """(the cell blocks of the input padded with the least value, their maximum): padding never wins."""
    blocks = _tap_blocks(_padded(xp, xn, geo, _lowest(xp, xn.dtype)), geo)
    return blocks, functools.reduce(xp.maximum, blocks)


def max_pool3d(xp: Any, x: Any, *, ksize: list, strides: list, padding: str, data_format: str) -> Any:
    """MaxPool3D: the maximum of each window."""
    xn = _ndhwc(xp, x, data_format)
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    out = _zeros(xp, geo.out_shape(), xn) if geo.empty else _max_blocks(xp, xn, geo)[1]
    return _from_ndhwc(xp, out, data_format)


def _first_max_hits(xp: Any, xn: Any, geo: Window3D) -> list:
    """Per window cell, a [n, od, oh, ow, c] mask: whether that cell is its window's first maximum (row-major)."""
    blocks, top = _max_blocks(xp, xn, geo)
    # Padding holds the least value, which real cells may hold too (-inf): it is never a window's maximum.
    real = _tap_blocks(_padded(xp, xp.ones(xn.shape, dtype=xp.bool, device=xn.device), geo, False), geo)
    routed = xp.zeros(top.shape, dtype=xp.bool, device=top.device)
    hits = []
    for block, inside in zip(blocks, real):
        hit = xp.logical_and(xp.logical_and(block == top, inside), xp.logical_not(routed))
        routed = xp.logical_or(routed, hit)
        hits.append(hit)
    return hits


def max_pool3d_grad(xp: Any, orig_input: Any, orig_output: Any, grad: Any, *, ksize: list, strides: list,
                    padding: str, data_format: str) -> Any:
    """MaxPool3DGrad: each window's gradient goes to the window's first maximum in row-major order."""
    xn, g = _ndhwc(xp, orig_input, data_format), computed(xp, _ndhwc(xp, grad, data_format))
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(g.shape, "grad")
    if geo.empty:
        return xp.zeros(orig_input.shape, dtype=grad.dtype, device=grad.device)
    zeros = xp.zeros_like(g)
    shares = [xp.where(hit, g, zeros) for hit in _first_max_hits(xp, xn, geo)]
    dx = _cropped(_placed_sum(xp, shares, geo), geo)
    return cast_like(xp, _from_ndhwc(xp, dx, data_format), grad)


def max_pool3d_grad_grad(xp: Any, orig_input: Any, orig_output: Any, grad: Any, *, ksize: list, strides: list,
                         padding: str, data_format: str) -> Any:
    """MaxPool3DGradGrad: per window, the cell of ``grad`` (input-shaped) at the window's first maximum."""
    xn, g = _ndhwc(xp, orig_input, data_format), computed(xp, _ndhwc(xp, grad, data_format))
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    if tuple(g.shape) != tuple(xn.shape):
        raise ValueError(f"grad has shape {list(grad.shape)}, expected orig_input's {list(orig_input.shape)}")
    if geo.empty:
        return xp.zeros(orig_output.shape, dtype=grad.dtype, device=grad.device)
    blocks = _tap_blocks(_padded(xp, g, geo), geo)
    zeros = xp.zeros_like(blocks[0])
    picked = functools.reduce(xp.add, [xp.where(hit, block, zeros)
                                       for hit, block in zip(_first_max_hits(xp, xn, geo), blocks)])
    return cast_like(xp, _from_ndhwc(xp, picked, data_format), grad)


def _valid_counts(xp: Any, geo: Window3D, like: Any) -> Any:
    """[1, od, oh, ow, 1]: how many real (unpadded) cells each window covers, in ``like``'s dtype."""
    ds, hs, ws = geo.valid_counts()
    counts = xp.asarray([[[d * h * w for w in ws] for h in hs] for d in ds], dtype=like.dtype, device=like.device)
    return xp.reshape(counts, (1, *geo.out, 1))


def avg_pool3d(xp: Any, x: Any, *, ksize: list, strides: list, padding: str, data_format: str) -> Any:
    """AvgPool3D: the mean of each window over its real (unpadded) cells, as TF."""
    xn = computed(xp, _ndhwc(xp, x, data_format))
    geo = pool3d_geometry(xn.shape, ksize, strides, padding, data_format)
    if geo.empty:
        out = _zeros(xp, geo.out_shape(), xn)
    else:
        out = functools.reduce(xp.add, _tap_blocks(_padded(xp, xn, geo), geo)) / _valid_counts(xp, geo, xn)
    return cast_like(xp, _from_ndhwc(xp, out, data_format), x)


def avg_pool3d_grad(xp: Any, orig_input_shape: Any, grad: Any, *, ksize: list, strides: list, padding: str,
                    data_format: str) -> Any:
    """AvgPool3DGrad: each window's gradient shared equally among its real cells."""
    sizes = host_ints(orig_input_shape)
    geo = pool3d_geometry(to_ndhwc(sizes, data_format), ksize, strides, padding, data_format)
    g = computed(xp, _ndhwc(xp, grad, data_format))
    geo.check_out(g.shape, "grad")
    if geo.empty:
        return _zeros(xp, sizes, grad)
    share = g / _valid_counts(xp, geo, g)
    dx = _cropped(_placed_sum(xp, [share] * geo.taps_count, geo), geo)
    return cast_like(xp, _from_ndhwc(xp, dx, data_format), grad)


_KERNELS = {
    "Conv3D": conv3d, "Conv3DBackpropInputV2": conv3d_backprop_input, "Conv3DBackpropFilterV2": conv3d_backprop_filter,
    "MaxPool3D": max_pool3d, "MaxPool3DGrad": max_pool3d_grad, "MaxPool3DGradGrad": max_pool3d_grad_grad,
    "AvgPool3D": avg_pool3d, "AvgPool3DGrad": avg_pool3d_grad,
}


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the 3-D convolution and pooling ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(8.0).reshape(1, 2, 2, 2, 1)
        >>> kernels(np)["MaxPool3D"](x, ksize=[1, 2, 2, 2, 1], strides=[1, 2, 2, 2, 1], padding="VALID",
        ...                          data_format="NDHWC").ravel().tolist()
        [7.0]
    """
    return {op: bind(xp, fn) for op, fn in _KERNELS.items()}
