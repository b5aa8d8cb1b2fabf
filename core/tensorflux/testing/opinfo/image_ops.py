"""Op-info entries of the image ops: bilinear and nearest-neighbor resizing and their gradient ops (each
``align_corners`` / ``half_pixel_centers`` mode), SpaceToDepth / DepthToSpace (NHWC and NCHW), LRN and LRNGrad.

The references compute each output pixel from TF's definitions with Python scalars, pixel by pixel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tensorflux as tf
from tensorflux.extend import apply_op

from .base import ALL, FLOATING, NUMERIC, OpInfo

MODES = [{"align_corners": False, "half_pixel_centers": False}, {"align_corners": True, "half_pixel_centers": False},
         {"align_corners": False, "half_pixel_centers": True}]
SIZES = [[5, 7], [2, 3], [1, 1]]


def _scale(n_in: int, n_out: int, align_corners: bool) -> float:
    return (n_in - 1) / (n_out - 1) if align_corners and n_out > 1 else n_in / n_out


def _bilinear_taps(n_in: int, n_out: int, align_corners: bool, half_pixel_centers: bool) -> list:
    """Per output position: [(input index, weight), ...] of TF's bilinear resize."""
    s = np.float32(_scale(n_in, n_out, align_corners))
    taps = []
    for o in range(n_out):
        src = float((np.float32(o) + np.float32(0.5)) * s - np.float32(0.5)) if half_pixel_centers \
            else float(np.float32(o) * s)
        low, frac = math.floor(src), np.float32(src - math.floor(src))
        # TF's weights are float32: 1 - frac rounds there.
        taps.append([(max(low, 0), float(np.float32(1) - frac)), (min(math.ceil(src), n_in - 1), float(frac))])
    return taps


def _nearest(n_in: int, n_out: int, align_corners: bool, half_pixel_centers: bool) -> list:
    s = np.float32(_scale(n_in, n_out, align_corners))
    out = []
    for o in range(n_out):
        src = float((np.float32(o) + np.float32(0.5)) * s) if half_pixel_centers else float(np.float32(o) * s)
        i = min(math.floor(src + 0.5) if align_corners else math.floor(src), n_in - 1)
        out.append(max(i, 0) if half_pixel_centers else i)
    return out


def _resize_bilinear(x: np.ndarray, size: list, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    rows = _bilinear_taps(x.shape[1], size[0], align_corners, half_pixel_centers)
    cols = _bilinear_taps(x.shape[2], size[1], align_corners, half_pixel_centers)
    out = np.zeros((x.shape[0], size[0], size[1], x.shape[3]))
    for y, row_taps in enumerate(rows):
        for c, col_taps in enumerate(cols):
            out[:, y, c] = sum(wy * wx * x[:, iy, ix].astype(np.float64) for iy, wy in row_taps for ix, wx in col_taps)
    return out


def _resize_bilinear_grad(g: np.ndarray, image: np.ndarray, align_corners: bool,
                          half_pixel_centers: bool) -> np.ndarray:
    rows = _bilinear_taps(image.shape[1], g.shape[1], align_corners, half_pixel_centers)
    cols = _bilinear_taps(image.shape[2], g.shape[2], align_corners, half_pixel_centers)
    out, g = np.zeros(image.shape), g.astype(np.float64)
    for y, row_taps in enumerate(rows):
        for c, col_taps in enumerate(cols):
            for iy, wy in row_taps:
                for ix, wx in col_taps:
                    out[:, iy, ix] += wy * wx * g[:, y, c]
    return out


def _resize_nearest(x: np.ndarray, size: list, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    rows = _nearest(x.shape[1], size[0], align_corners, half_pixel_centers)
    cols = _nearest(x.shape[2], size[1], align_corners, half_pixel_centers)
    return x[:, rows][:, :, cols]


def _resize_nearest_grad(g: np.ndarray, size: list, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    rows = _nearest(size[0], g.shape[1], align_corners, half_pixel_centers)
    cols = _nearest(size[1], g.shape[2], align_corners, half_pixel_centers)
    out = np.zeros((g.shape[0], size[0], size[1], g.shape[3]), np.float64)
    for y, iy in enumerate(rows):
        for c, ix in enumerate(cols):
            out[:, iy, ix] += g[:, y, c]
    return out.astype(g.dtype)


def _raw(op: str, *inputs: Any, **attrs: Any) -> Any:
    """The op itself, from its inputs (the gradient ops have no public wrapper)."""
    return apply_op(op, *inputs, **attrs)[0]


RESIZE_ATTRS = [dict(mode, size=size) for mode in MODES for size in SIZES]
GRAD_ATTRS = [dict(mode, size=size) for mode in MODES for size in ([3, 4], [5, 2])]
RESIZE = [
    # The result is float32 whatever the input; its gradient is checked against TF in tests/core/ops.
    OpInfo("ResizeBilinear", lambda x, size, **mode: tf.image.resize_bilinear(x, size, **mode), _resize_bilinear,
           dtypes=NUMERIC, shapes=[(2, 3, 4, 2)], attrs=RESIZE_ATTRS, domain="coarse", differentiable=False),
    OpInfo("ResizeBilinearGrad", lambda g, x, **mode: _raw("ResizeBilinearGrad", g, x, **mode),
           _resize_bilinear_grad, dtypes=FLOATING, shapes=[((2, 5, 7, 2), (2, 3, 4, 2)), ((1, 2, 3, 1), (1, 4, 2, 1))],
           input_dtypes=(tf.float32, None), attrs=MODES, differentiable=False),
    OpInfo("ResizeNearestNeighbor", lambda x, size, **mode: tf.image.resize_nearest_neighbor(x, size, **mode),
           _resize_nearest, dtypes=NUMERIC, shapes=[(2, 3, 4, 2)], attrs=RESIZE_ATTRS, domain="distinct"),
    OpInfo("ResizeNearestNeighborGrad",
           lambda g, size, **mode: _raw("ResizeNearestNeighborGrad", g, np.array(size, np.int32), **mode),
           _resize_nearest_grad, dtypes=(tf.uint8, tf.int8, tf.int32) + FLOATING, shapes=[(2, 5, 7, 2)],
           attrs=GRAD_ATTRS, domain="coarse", differentiable=False),
]


def _space_to_depth(x: np.ndarray, block_size: int, data_format: str) -> np.ndarray:
    nhwc = np.transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x
    b, h, w, c = nhwc.shape
    bs = block_size
    out = np.empty((b, h // bs, w // bs, c * bs * bs), x.dtype)
    for n, i, j, k in np.ndindex(*nhwc.shape):
        out[n, i // bs, j // bs, ((i % bs) * bs + j % bs) * c + k] = nhwc[n, i, j, k]
    return np.transpose(out, (0, 3, 1, 2)) if data_format == "NCHW" else out


def _depth_to_space(x: np.ndarray, block_size: int, data_format: str) -> np.ndarray:
    nhwc = np.transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x
    b, h, w, c = nhwc.shape
    bs = block_size
    depth = c // (bs * bs)
    out = np.empty((b, h * bs, w * bs, depth), x.dtype)
    for n, i, j, k in np.ndindex(*nhwc.shape):
        block, channel = divmod(k, depth)
        out[n, i * bs + block // bs, j * bs + block % bs, channel] = nhwc[n, i, j, k]
    return np.transpose(out, (0, 3, 1, 2)) if data_format == "NCHW" else out


SPACE_DEPTH = [
    OpInfo("SpaceToDepth", lambda x, block_size, data_format: tf.space_to_depth(x, block_size,
                                                                                data_format=data_format),
           _space_to_depth, dtypes=ALL, shapes=[shape], domain="distinct", variant=data_format if nchw else "",
           attrs=[{"block_size": bs, "data_format": data_format}])
    for shape, bs, data_format, nchw in (((1, 4, 6, 2), 2, "NHWC", False), ((2, 6, 3, 1), 3, "NHWC", False),
                                         ((1, 2, 4, 6), 2, "NCHW", True))
] + [
    OpInfo("DepthToSpace", lambda x, block_size, data_format: tf.depth_to_space(x, block_size,
                                                                                data_format=data_format),
           _depth_to_space, dtypes=ALL, shapes=[shape], domain="distinct", variant=data_format if nchw else "",
           attrs=[{"block_size": bs, "data_format": data_format}])
    for shape, bs, data_format, nchw in (((1, 2, 3, 8), 2, "NHWC", False), ((2, 1, 2, 9), 3, "NHWC", False),
                                         ((1, 8, 2, 3), 2, "NCHW", True))
]


def _lrn_norms(x: np.ndarray, depth_radius: int, bias: float, alpha: float) -> np.ndarray:
    norms = np.empty(x.shape)
    depth = x.shape[-1]
    for index in np.ndindex(*x.shape):
        d = index[-1]
        window = x[index[:-1]][max(0, d - depth_radius):min(depth, d + depth_radius + 1)].astype(np.float64)
        norms[index] = bias + alpha * float(np.sum(window * window))
    return norms


def _lrn(x: np.ndarray, depth_radius: int, bias: float, alpha: float, beta: float) -> np.ndarray:
    return x / _lrn_norms(x, depth_radius, bias, alpha) ** beta


def _lrn_grad(g: np.ndarray, x: np.ndarray, y: np.ndarray, depth_radius: int, bias: float, alpha: float,
              beta: float) -> np.ndarray:
    norms = _lrn_norms(x, depth_radius, bias, alpha)
    out = np.zeros(x.shape)
    depth = x.shape[-1]
    for index in np.ndindex(*x.shape):  # output j = index[-1] depends on inputs k in its window
        j, row = index[-1], index[:-1]
        for k in range(max(0, j - depth_radius), min(depth, j + depth_radius + 1)):
            d = -2.0 * alpha * beta * x[row + (k,)] * y[index] / norms[index] + (norms[index] ** -beta if k == j else 0)
            out[row + (k,)] += d * g[index]
    return out


LRN_T = (tf.float16, tf.bfloat16, tf.float32)
LRN_ATTRS = [{"depth_radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75},
             {"depth_radius": 5, "bias": 2.0, "alpha": 1e-1, "beta": 0.5}, {"depth_radius": 0, "bias": 1.0,
                                                                             "alpha": 1.0, "beta": 1.0}]
LRN = [
    OpInfo("LRN", lambda x, **a: tf.nn.lrn(x, **a), _lrn, dtypes=LRN_T, shapes=[(1, 2, 2, 5), (2, 1, 3, 7)],
           attrs=LRN_ATTRS),
    OpInfo("LRNGrad", lambda g, x, y, **a: _raw("LRNGrad", g, x, y, **a), _lrn_grad, dtypes=LRN_T,
           shapes=[((1, 2, 2, 5),) * 3], attrs=LRN_ATTRS, differentiable=False),
]

INFOS = RESIZE + SPACE_DEPTH + LRN
