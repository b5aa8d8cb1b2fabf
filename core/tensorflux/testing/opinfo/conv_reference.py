"""Numpy references of 2-D convolution and pooling (NHWC), their gradients and their fused compositions.

Written for clarity, one window offset at a time, not speed. Geometry follows TensorFlow: VALID
keeps whole windows; SAME gives ``ceil(size / stride)`` outputs with the padding split evenly and the
odd pixel at the end; EXPLICIT takes the padding as given.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def out_size(size: int, k: int, stride: int, dilation: int, padding: str, pads: tuple = (0, 0)) -> tuple:
    """``(outputs, pad_before, pad_after)`` of one spatial dimension.

    Example:
        >>> out_size(7, 3, 2, 1, "SAME")
        (4, 1, 1)
        >>> out_size(7, 3, 2, 1, "VALID")
        (3, 0, 0)
    """
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, total // 2, total - total // 2
    if padding == "VALID":
        return (size - eff) // stride + 1, 0, 0
    return (size + pads[0] + pads[1] - eff) // stride + 1, pads[0], pads[1]


def _geometry(x_shape: tuple, window: tuple, strides: tuple, dilations: tuple, padding: str,
              explicit: tuple) -> tuple:
    (oh, pt, pb), (ow, pl, pr) = (out_size(x_shape[1 + i], window[i], strides[i], dilations[i], padding, explicit[i])
                                  for i in range(2))
    return oh, ow, ((0, 0), (pt, pb), (pl, pr), (0, 0))


def _taps(window: tuple, strides: tuple, dilations: tuple, oh: int, ow: int) -> list:
    """For each window offset (row-major), the slices of the padded input that it reads for every output."""
    return [(i, j, (slice(None), slice(i * dilations[0], i * dilations[0] + (oh - 1) * strides[0] + 1, strides[0]),
                    slice(j * dilations[1], j * dilations[1] + (ow - 1) * strides[1] + 1, strides[1]), slice(None)))
            for i in range(window[0]) for j in range(window[1])]


def _nhwc(values: Any, data_format: str) -> tuple:
    """4-element NHWC/NCHW attr values as (height, width)."""
    return (values[2], values[3]) if data_format == "NCHW" else (values[1], values[2])


def _to_nhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def _from_nhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.transpose(x, (0, 3, 1, 2)) if data_format == "NCHW" else x


def _explicit(explicit_paddings: list, data_format: str) -> tuple:
    if not explicit_paddings:
        return (0, 0), (0, 0)
    pairs = [tuple(explicit_paddings[2 * d: 2 * d + 2]) for d in range(4)]
    return (pairs[2], pairs[3]) if data_format == "NCHW" else (pairs[1], pairs[2])


def conv2d(x: np.ndarray, f: np.ndarray, strides: list, padding: str, dilations: list = (1, 1, 1, 1),
           data_format: str = "NHWC", explicit_paddings: list = ()) -> np.ndarray:
    """Cross-correlation of ``x`` with filter ``f`` [height, width, in, out], as ``tf.nn.conv2d``.

    Example:
        >>> import numpy as np
        >>> conv2d(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)), [1, 1, 1, 1], "VALID")[0, :, :, 0].tolist()
        [[4.0, 4.0], [4.0, 4.0]]
    """
    st, dl = _nhwc(strides, data_format), _nhwc(dilations, data_format)
    x = _to_nhwc(x, data_format)
    oh, ow, pads = _geometry(x.shape, f.shape[:2], st, dl, padding, _explicit(explicit_paddings, data_format))
    xp = np.pad(x, pads)
    out = np.zeros((x.shape[0], oh, ow, f.shape[3]), np.result_type(x, f))
    for i, j, window in _taps(f.shape[:2], st, dl, oh, ow):
        out += xp[window] @ f[i, j]
    return _from_nhwc(out, data_format)


def conv2d_backprop_input(f: np.ndarray, dy: np.ndarray, input_sizes: list, strides: list, padding: str,
                          dilations: list = (1, 1, 1, 1), data_format: str = "NHWC",
                          explicit_paddings: list = ()) -> np.ndarray:
    """The gradient of ``conv2d`` with respect to its input: each output's gradient spread back over its window.

    Example:
        >>> import numpy as np
        >>> f, dy = np.ones((2, 2, 1, 1)), np.ones((1, 2, 2, 1))
        >>> dx = conv2d_backprop_input(f, dy, [1, 3, 3, 1], [1, 1, 1, 1], "VALID")
        >>> dx[0, :, :, 0].tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    st, dl = _nhwc(strides, data_format), _nhwc(dilations, data_format)
    x_shape = tuple(_to_nhwc(np.empty(input_sizes, bool), data_format).shape)
    dy = _to_nhwc(dy, data_format)
    oh, ow, pads = _geometry(x_shape, f.shape[:2], st, dl, padding, _explicit(explicit_paddings, data_format))
    dxp = np.zeros(tuple(n + a + b for n, (a, b) in zip(x_shape, pads)), np.result_type(f, dy))
    for i, j, window in _taps(f.shape[:2], st, dl, oh, ow):
        dxp[window] += dy @ f[i, j].T
    h, w = x_shape[1:3]
    return _from_nhwc(dxp[:, pads[1][0]: pads[1][0] + h, pads[2][0]: pads[2][0] + w], data_format)


def conv2d_backprop_filter(x: np.ndarray, dy: np.ndarray, filter_sizes: list, strides: list, padding: str,
                           dilations: list = (1, 1, 1, 1), data_format: str = "NHWC",
                           explicit_paddings: list = ()) -> np.ndarray:
    """The gradient of ``conv2d`` with respect to its filter: each offset's input window against the output gradient.

    Example:
        >>> import numpy as np
        >>> x, dy = np.ones((1, 3, 3, 1)), np.ones((1, 2, 2, 1))
        >>> df = conv2d_backprop_filter(x, dy, [2, 2, 1, 1], [1, 1, 1, 1], "VALID")
        >>> df[:, :, 0, 0].tolist()
        [[4.0, 4.0], [4.0, 4.0]]
    """
    st, dl = _nhwc(strides, data_format), _nhwc(dilations, data_format)
    x, dy = _to_nhwc(x, data_format), _to_nhwc(dy, data_format)
    oh, ow, pads = _geometry(x.shape, filter_sizes[:2], st, dl, padding, _explicit(explicit_paddings, data_format))
    xp = np.pad(x, pads)
    df = np.zeros(tuple(filter_sizes), np.result_type(x, dy))
    for i, j, window in _taps(filter_sizes[:2], st, dl, oh, ow):
        df[i, j] = np.einsum("nhwc,nhwo->co", xp[window], dy)
    return df


def _pool_geometry(x: np.ndarray, ksize: list, strides: list, padding: str) -> tuple:
    return _geometry(x.shape, (ksize[1], ksize[2]), (strides[1], strides[2]), (1, 1), padding, ((0, 0), (0, 0)))


def max_pool(x: np.ndarray, ksize: list, strides: list, padding: str, data_format: str = "NHWC") -> np.ndarray:
    """The largest element of each window (padding never wins).

    Example:
        >>> import numpy as np
        >>> max_pool(np.arange(16.0).reshape(1, 4, 4, 1), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    return _pool(x, ksize, strides, padding, data_format, "max")


def avg_pool(x: np.ndarray, ksize: list, strides: list, padding: str, data_format: str = "NHWC") -> np.ndarray:
    """The mean of each window's input elements (padding is not counted).

    Example:
        >>> import numpy as np
        >>> avg_pool(np.arange(3.0).reshape(1, 1, 3, 1), [1, 1, 2, 1], [1, 1, 2, 1], "SAME")[0, 0, :, 0].tolist()
        [0.5, 2.0]
    """
    return _pool(x, ksize, strides, padding, data_format, "avg")


def _pool(x: np.ndarray, ksize: list, strides: list, padding: str, data_format: str, how: str) -> np.ndarray:
    ksize, strides = _as_nhwc4(ksize, data_format), _as_nhwc4(strides, data_format)
    x = _to_nhwc(x, data_format)
    oh, ow, pads = _pool_geometry(x, ksize, strides, padding)
    xp, valid = np.pad(x, pads), np.pad(np.ones(x.shape, bool), pads)
    shape = (x.shape[0], oh, ow, x.shape[3])
    total, count = np.zeros(shape, x.dtype), np.zeros(shape)
    best, seen = np.zeros(shape, x.dtype), np.zeros(shape, bool)
    for _, _, window in _taps((ksize[1], ksize[2]), (strides[1], strides[2]), (1, 1), oh, ow):
        cell, ok = xp[window], valid[window]
        total, count = total + np.where(ok, cell, 0), count + ok
        better = ok & (~seen | (cell > best))
        best, seen = np.where(better, cell, best), seen | ok
    return _from_nhwc(best if how == "max" else total / count, data_format)


def _as_nhwc4(values: list, data_format: str) -> list:
    return [values[0], values[2], values[3], values[1]] if data_format == "NCHW" else list(values)


def max_pool_grad(x: np.ndarray, grad: np.ndarray, ksize: list, strides: list, padding: str) -> np.ndarray:
    """Each output's gradient routed to the first largest element of its window, in row-major order.

    Example:
        >>> import numpy as np
        >>> x, g = np.array([1.0, 3.0, 3.0]).reshape(1, 1, 3, 1), np.ones((1, 1, 2, 1))
        >>> max_pool_grad(x, g, [1, 1, 2, 1], [1, 1, 1, 1], "VALID")[0, 0, :, 0].tolist()
        [0.0, 2.0, 0.0]
    """
    oh, ow, pads = _pool_geometry(x, ksize, strides, padding)
    xp, valid = np.pad(x, pads), np.pad(np.ones(x.shape, bool), pads)
    shape = (x.shape[0], oh, ow, x.shape[3])
    best, seen, where = np.zeros(shape, x.dtype), np.zeros(shape, bool), np.zeros(shape + (2,), np.int64)
    for i, j, window in _taps((ksize[1], ksize[2]), (strides[1], strides[2]), (1, 1), oh, ow):
        cell, ok = xp[window], valid[window]
        better = ok & (~seen | (cell > best))
        best, seen = np.where(better, cell, best), seen | ok
        where[better] = (i, j)
    dxp = np.zeros(xp.shape, np.result_type(grad, x))
    n, r, c, ch = np.indices(shape)
    np.add.at(dxp, (n, r * strides[1] + where[..., 0], c * strides[2] + where[..., 1], ch), grad)
    return dxp[:, pads[1][0]: pads[1][0] + x.shape[1], pads[2][0]: pads[2][0] + x.shape[2]]


def avg_pool_grad(grad: np.ndarray, input_sizes: list, ksize: list, strides: list, padding: str) -> np.ndarray:
    """Each output's gradient shared equally among its window's input elements.

    Example:
        >>> import numpy as np
        >>> avg_pool_grad(np.ones((1, 1, 1, 1)), [1, 1, 2, 1], [1, 1, 2, 1], [1, 1, 2, 1], "VALID")[0, 0, :, 0].tolist()
        [0.5, 0.5]
    """
    x = np.zeros(tuple(input_sizes))
    oh, ow, pads = _pool_geometry(x, ksize, strides, padding)
    valid = np.pad(np.ones(x.shape, bool), pads)
    count = np.zeros(grad.shape)
    taps = _taps((ksize[1], ksize[2]), (strides[1], strides[2]), (1, 1), oh, ow)
    for _, _, window in taps:
        count = count + valid[window]
    dxp = np.zeros(valid.shape, grad.dtype)
    for _, _, window in taps:
        dxp[window] += np.where(valid[window], grad / count, 0)
    return dxp[:, pads[1][0]: pads[1][0] + x.shape[1], pads[2][0]: pads[2][0] + x.shape[2]]


def fused_conv2d(x: np.ndarray, f: np.ndarray, bias: np.ndarray, strides: list, padding: str,
                 activation: str = "", pool: str = "", **conv_attrs: Any) -> np.ndarray:
    """``_FusedConv2D``: conv2d, plus the per-channel bias, then relu (``activation='Relu'``), then a 2x2
    stride-2 max pool (``pool='MaxPool2x2'``).

    Example:
        >>> import numpy as np
        >>> x, f, b = np.ones((1, 2, 2, 1)), np.ones((1, 1, 1, 1)), np.array([-3.0])
        >>> fused_conv2d(x, f, b, [1, 1, 1, 1], "SAME", activation="Relu", pool="MaxPool2x2").tolist()
        [[[[0.0]]]]
    """
    y = conv2d(x, f, strides, padding, **conv_attrs) + bias
    if activation == "Relu":
        y = np.maximum(y, 0)
    if pool == "MaxPool2x2":
        y = max_pool(y, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    return y


def fused_max_pool_grad(x: np.ndarray, grad: np.ndarray, ksize: list, strides: list, padding: str,
                        activation: str = "") -> np.ndarray:
    """``_FusedMaxPoolGrad``: max_pool_grad, then relu's gradient at ``x`` (``activation='Relu'``).

    Example:
        >>> import numpy as np
        >>> x, g = np.array([-1.0, -2.0]).reshape(1, 1, 2, 1), np.ones((1, 1, 1, 1))
        >>> fused_max_pool_grad(x, g, [1, 1, 2, 1], [1, 1, 1, 1], "VALID", activation="Relu")[0, 0, :, 0].tolist()
        [0.0, 0.0]
    """
    dx = max_pool_grad(x, grad, ksize, strides, padding)
    return dx * (x > 0) if activation == "Relu" else dx
