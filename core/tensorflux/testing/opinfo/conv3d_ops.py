"""Op-info entries of the 3-D convolution and pooling ops (``Conv3D`` and its two gradient ops, ``MaxPool3D``,
``MaxPool3DGrad``, ``MaxPool3DGradGrad``, ``AvgPool3D``, ``AvgPool3DGrad``) and their numpy references.

The references walk the output one window at a time (NDHWC; NCDHW is transposed in and out): a convolution
output is its window of the zero-padded input contracted with the filter; a pool reduces the part of its window
inside the input (so padding never counts); gradients add each window's share back where it came from. Written
for clarity, not speed; the cases are small.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

import tensorflux as tf

from .base import FLOATING, OpInfo
from .conv_reference import out_size
from .nn_ops import _op

MAX_POOL_T = (tf.float16, tf.bfloat16, tf.float32)  # TF's MaxPool3D and MaxPool3DGrad take no float64


# -- numpy references -----------------------------------------------------------------------------------------
def _spatial(values: Any, data_format: str) -> tuple:
    """The (depth, height, width) entries of a 5-element attr."""
    return tuple(values[2:]) if data_format == "NCDHW" else tuple(values[1:4])


def _to_ndhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.transpose(x, (0, 2, 3, 4, 1)) if data_format == "NCDHW" else x


def _from_ndhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.transpose(x, (0, 4, 1, 2, 3)) if data_format == "NCDHW" else x


def _windows(size: tuple, window: tuple, strides: tuple, dilations: tuple, padding: str) -> tuple:
    """(output sizes, padding before per axis, [(output index, (slice per spatial axis of the padded input))])."""
    axes = [out_size(size[a], window[a], strides[a], dilations[a], padding) for a in range(3)]
    outs, before = tuple(a[0] for a in axes), tuple(a[1] for a in axes)
    where = [(o, tuple(slice(i * s, i * s + (k - 1) * dl + 1, dl) for i, s, k, dl in zip(o, strides, window, dilations)))
             for o in itertools.product(*(range(n) for n in outs))]
    return outs, before, where


def _pad(x: np.ndarray, window: tuple, strides: tuple, dilations: tuple, padding: str) -> np.ndarray:
    pads = [(0, 0)]
    for a in range(3):
        _, b, e = out_size(x.shape[1 + a], window[a], strides[a], dilations[a], padding)
        pads.append((b, e))
    return np.pad(x, pads + [(0, 0)])


def np_conv3d(x: np.ndarray, f: np.ndarray, strides: list, padding: str, dilations: list = (1, 1, 1, 1, 1),
              data_format: str = "NDHWC") -> np.ndarray:
    """Cross-correlation of a 5-D ``x`` with ``f`` [kd, kh, kw, in, out], as ``tf.nn.conv3d``.

    Example:
        >>> import numpy as np
        >>> np_conv3d(np.ones((1, 3, 3, 3, 1)), np.ones((2, 2, 2, 1, 1)), [1] * 5, "VALID")[0, :, :, :, 0].tolist()
        [[[8.0, 8.0], [8.0, 8.0]], [[8.0, 8.0], [8.0, 8.0]]]
    """
    st, dl, win = _spatial(strides, data_format), _spatial(dilations, data_format), f.shape[:3]
    x = _to_ndhwc(x, data_format)
    outs, _, where = _windows(x.shape[1:4], win, st, dl, padding)
    xp = _pad(x, win, st, dl, padding)
    out = np.zeros((x.shape[0], *outs, f.shape[4]), np.result_type(x, f))
    for (d, h, w), (sd, sh, sw) in where:
        out[:, d, h, w] = np.tensordot(xp[:, sd, sh, sw], f, axes=4)
    return _from_ndhwc(out, data_format)


def np_conv3d_backprop_input(f: np.ndarray, dy: np.ndarray, input_sizes: list, strides: list, padding: str,
                             dilations: list = (1, 1, 1, 1, 1), data_format: str = "NDHWC") -> np.ndarray:
    """The gradient of ``np_conv3d`` with respect to its input: each output's gradient spread over its window."""
    st, dl, win = _spatial(strides, data_format), _spatial(dilations, data_format), f.shape[:3]
    x_shape = _to_ndhwc(np.empty(input_sizes, bool), data_format).shape
    dy = _to_ndhwc(dy, data_format)
    _, before, where = _windows(x_shape[1:4], win, st, dl, padding)
    dxp = _pad(np.zeros(x_shape, np.result_type(f, dy)), win, st, dl, padding)
    for (d, h, w), (sd, sh, sw) in where:
        dxp[:, sd, sh, sw] += np.tensordot(dy[:, d, h, w], f, axes=([1], [4]))
    (b0, b1, b2), (s0, s1, s2) = before, x_shape[1:4]
    return _from_ndhwc(dxp[:, b0:b0 + s0, b1:b1 + s1, b2:b2 + s2], data_format)


def np_conv3d_backprop_filter(x: np.ndarray, dy: np.ndarray, filter_sizes: list, strides: list, padding: str,
                              dilations: list = (1, 1, 1, 1, 1), data_format: str = "NDHWC") -> np.ndarray:
    """The gradient of ``np_conv3d`` with respect to its filter: each window against its output's gradient."""
    st, dl, win = _spatial(strides, data_format), _spatial(dilations, data_format), tuple(filter_sizes[:3])
    x, dy = _to_ndhwc(x, data_format), _to_ndhwc(dy, data_format)
    _, _, where = _windows(x.shape[1:4], win, st, dl, padding)
    xp = _pad(x, win, st, dl, padding)
    df = np.zeros(tuple(filter_sizes), np.result_type(x, dy))
    for (d, h, w), (sd, sh, sw) in where:
        df += np.tensordot(xp[:, sd, sh, sw], dy[:, d, h, w], axes=([0], [0]))
    return df


def _pool_windows(shape: tuple, ksize: list, strides: list, padding: str, data_format: str) -> tuple:
    """(output sizes, [(output index, (slice per spatial axis of the *unpadded* input))]): windows cut to the input."""
    k, s = _spatial(ksize, data_format), _spatial(strides, data_format)
    outs, before, where = _windows(shape[1:4], k, s, (1, 1, 1), padding)
    cut = [(o, tuple(slice(max(sl.start - b, 0), min(sl.stop - b, n)) for sl, b, n in zip(sls, before, shape[1:4])))
           for o, sls in where]
    return outs, cut


def np_max_pool3d(x: np.ndarray, ksize: list, strides: list, padding: str, data_format: str = "NDHWC") -> np.ndarray:
    """The largest element of each window, as ``tf.nn.max_pool3d``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(8.0).reshape(1, 2, 2, 2, 1)
        >>> np_max_pool3d(x, [1, 2, 2, 2, 1], [1, 1, 1, 1, 1], "SAME")[0, :, :, :, 0].tolist()
        [[[7.0, 7.0], [7.0, 7.0]], [[7.0, 7.0], [7.0, 7.0]]]
    """
    x = _to_ndhwc(x, data_format)
    outs, cut = _pool_windows(x.shape, ksize, strides, padding, data_format)
    out = np.zeros((x.shape[0], *outs, x.shape[4]), x.dtype)
    for (d, h, w), (sd, sh, sw) in cut:
        out[:, d, h, w] = x[:, sd, sh, sw].max(axis=(1, 2, 3))
    return _from_ndhwc(out, data_format)


def np_avg_pool3d(x: np.ndarray, ksize: list, strides: list, padding: str, data_format: str = "NDHWC") -> np.ndarray:
    """The mean of each window over the input cells it covers (padding left out), as ``tf.nn.avg_pool3d``."""
    x = _to_ndhwc(x, data_format)
    outs, cut = _pool_windows(x.shape, ksize, strides, padding, data_format)
    out = np.zeros((x.shape[0], *outs, x.shape[4]), x.dtype)
    for (d, h, w), (sd, sh, sw) in cut:
        out[:, d, h, w] = x[:, sd, sh, sw].mean(axis=(1, 2, 3))
    return _from_ndhwc(out, data_format)


def np_max_pool3d_grad(x: np.ndarray, grad: np.ndarray, ksize: list, strides: list, padding: str,
                       data_format: str = "NDHWC") -> np.ndarray:
    """The gradient of ``np_max_pool3d``: each window's gradient to its first maximum in row-major order."""
    x, grad = _to_ndhwc(x, data_format), _to_ndhwc(grad, data_format)
    _, cut = _pool_windows(x.shape, ksize, strides, padding, data_format)
    dx = np.zeros(x.shape, grad.dtype)
    for (d, h, w), (sd, sh, sw) in cut:
        for n, c in itertools.product(range(x.shape[0]), range(x.shape[4])):
            window = x[n, sd, sh, sw, c]
            i, j, k = np.unravel_index(np.argmax(window), window.shape)  # argmax: the first of equal maxima
            dx[n, sd.start + i, sh.start + j, sw.start + k, c] += grad[n, d, h, w, c]
    return _from_ndhwc(dx, data_format)


def np_max_pool3d_grad_grad(x: np.ndarray, grad: np.ndarray, ksize: list, strides: list, padding: str,
                            data_format: str = "NDHWC") -> np.ndarray:
    """The gradient of ``np_max_pool3d_grad`` with respect to its ``grad``: per window, the cell of ``grad`` (shaped
    as ``x``) at the window's first maximum."""
    x, grad = _to_ndhwc(x, data_format), _to_ndhwc(grad, data_format)
    outs, cut = _pool_windows(x.shape, ksize, strides, padding, data_format)
    out = np.zeros((x.shape[0], *outs, x.shape[4]), grad.dtype)
    for (d, h, w), (sd, sh, sw) in cut:
        for n, c in itertools.product(range(x.shape[0]), range(x.shape[4])):
            window = x[n, sd, sh, sw, c]
            out[n, d, h, w, c] = grad[n, sd, sh, sw, c][np.unravel_index(np.argmax(window), window.shape)]
    return _from_ndhwc(out, data_format)


def np_avg_pool3d_grad(grad: np.ndarray, input_sizes: list, ksize: list, strides: list, padding: str,
                       data_format: str = "NDHWC") -> np.ndarray:
    """The gradient of ``np_avg_pool3d``: each window's gradient shared among the input cells it covers."""
    grad = _to_ndhwc(grad, data_format)
    x_shape = _to_ndhwc(np.empty(input_sizes, bool), data_format).shape
    _, cut = _pool_windows(x_shape, ksize, strides, padding, data_format)
    dx = np.zeros(x_shape, grad.dtype)
    for (d, h, w), (sd, sh, sw) in cut:
        cells = (sd.stop - sd.start) * (sh.stop - sh.start) * (sw.stop - sw.start)
        dx[:, sd, sh, sw] += (grad[:, d, h, w] / cells)[:, None, None, None, :]
    return _from_ndhwc(dx, data_format)


# -- cases ----------------------------------------------------------------------------------------------------
def _conv3d(x: Any, f: Any, strides: list, padding: str, dilations: list = (1, 1, 1, 1, 1),
            data_format: str = "NDHWC") -> Any:
    return tf.nn.conv3d(x, f, strides=strides, padding=padding, dilations=list(dilations), data_format=data_format)


def _conv_attrs(padding: str, strides: tuple, dilations: tuple = (1, 1, 1)) -> dict:
    return {"strides": [1, *strides, 1], "padding": padding, "dilations": [1, *dilations, 1]}


def _label(attrs: dict) -> str:
    if attrs.get("data_format") == "NCDHW":
        return "NCDHW"
    s, d = _spatial(attrs["strides"], "NDHWC"), _spatial(attrs.get("dilations", [1] * 5), "NDHWC")
    return f"{attrs['padding']},s{''.join(map(str, s))},d{''.join(map(str, d))}"


def _conv_out(x_shape: tuple, f_shape: tuple, attrs: dict) -> tuple:
    """The output shape of a Conv3D of input ``x_shape`` and filter ``f_shape`` (in ``attrs``' data format)."""
    fmt = attrs.get("data_format", "NDHWC")
    size, st, dl = (_spatial(v, fmt) for v in (x_shape, attrs["strides"], attrs.get("dilations", [1] * 5)))
    outs = tuple(out_size(size[a], f_shape[a], st[a], dl[a], attrs["padding"])[0] for a in range(3))
    return (x_shape[0], f_shape[4], *outs) if fmt == "NCDHW" else (x_shape[0], *outs, f_shape[4])


# (padding, strides, dilations) over depth, height and width.
CONV_CASES = [("SAME", (1, 1, 1)), ("VALID", (1, 1, 1)), ("SAME", (2, 1, 2)), ("VALID", (1, 2, 1), (2, 1, 1)),
              ("SAME", (1, 1, 1), (1, 2, 2))]
X_SHAPE, F_SHAPE = (2, 4, 5, 6, 3), (2, 3, 2, 3, 4)
SMALL_X, SMALL_F = (1, 3, 4, 4, 2), (2, 2, 3, 2, 3)  # within the gradient check's size
_NCDHW = {"strides": [1, 1, 1, 2, 2], "padding": "SAME", "dilations": [1, 1, 1, 1, 1], "data_format": "NCDHW"}
_NCDHW_X = (2, 3, 4, 5, 6)

CONV = [
    OpInfo("Conv3D", _conv3d, np_conv3d, dtypes=FLOATING, shapes=[(X_SHAPE, F_SHAPE)],
           attrs=[_conv_attrs(*c) for c in CONV_CASES]),
    # float64 only: the small shapes are for the gradient checks.
    OpInfo("Conv3D", _conv3d, np_conv3d, dtypes=(tf.float64,), variant="small", shapes=[(SMALL_X, SMALL_F)],
           attrs=[_conv_attrs(*c) for c in CONV_CASES]),
    OpInfo("Conv3D", _conv3d, np_conv3d, dtypes=FLOATING, variant="NCDHW", shapes=[(_NCDHW_X, F_SHAPE)],
           attrs=[_NCDHW]),
    OpInfo("Conv3D", _conv3d, np_conv3d, dtypes=(tf.float32,), variant="empty", attrs=[_conv_attrs("SAME", (1, 1, 1))],
           shapes=[((0, 4, 5, 6, 3), F_SHAPE), ((1, 3, 4, 4, 0), (2, 2, 2, 0, 3)), (SMALL_X, (2, 2, 2, 2, 0))]),
]


def _backprop_input(f: Any, dy: Any, input_sizes: list, **attrs: Any) -> Any:
    return _op("Conv3DBackpropInputV2", np.array(input_sizes, np.int32), f, dy, **attrs)


def _backprop_filter(x: Any, dy: Any, filter_sizes: list, **attrs: Any) -> Any:
    return _op("Conv3DBackpropFilterV2", x, np.array(filter_sizes, np.int32), dy, **attrs)


for _x, _f, _attrs in [(SMALL_X, SMALL_F, _conv_attrs(*c)) for c in CONV_CASES[:4]] + [(_NCDHW_X, F_SHAPE, _NCDHW)]:
    _dy = _conv_out(_x, _f, _attrs)
    CONV += [
        OpInfo("Conv3DBackpropInputV2", _backprop_input, np_conv3d_backprop_input, dtypes=FLOATING,
               shapes=[(_f, _dy)], attrs=[{"input_sizes": list(_x), **_attrs}], variant=_label(_attrs)),
        OpInfo("Conv3DBackpropFilterV2", _backprop_filter, np_conv3d_backprop_filter, dtypes=FLOATING,
               shapes=[(_x, _dy)], attrs=[{"filter_sizes": list(_f), **_attrs}], variant=_label(_attrs)),
    ]


def _max_pool3d(x: Any, ksize: list, strides: list, padding: str, data_format: str = "NDHWC") -> Any:
    return tf.nn.max_pool3d(x, ksize, strides, padding, data_format=data_format)


def _avg_pool3d(x: Any, ksize: list, strides: list, padding: str, data_format: str = "NDHWC") -> Any:
    return tf.nn.avg_pool3d(x, ksize, strides, padding, data_format=data_format)


def _pool_attrs(padding: str, ksize: tuple, strides: tuple) -> dict:
    return {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1], "padding": padding}


def _pool_out(x_shape: tuple, attrs: dict) -> tuple:
    """The output shape of a 3-D pool of input ``x_shape`` (in ``attrs``' data format)."""
    fmt = attrs.get("data_format", "NDHWC")
    size, k, st = (_spatial(v, fmt) for v in (x_shape, attrs["ksize"], attrs["strides"]))
    outs = tuple(out_size(size[a], k[a], st[a], 1, attrs["padding"])[0] for a in range(3))
    return (*x_shape[:2], *outs) if fmt == "NCDHW" else (x_shape[0], *outs, x_shape[4])


# (padding, ksize, strides) over depth, height and width.
POOL_CASES = [("VALID", (2, 2, 2), (2, 2, 2)), ("SAME", (3, 2, 3), (2, 1, 2)), ("SAME", (2, 3, 3), (1, 2, 1))]
POOL_X = (2, 5, 4, 5, 2)
_POOL_NCDHW = {"ksize": [1, 1, 2, 3, 3], "strides": [1, 1, 2, 2, 1], "padding": "SAME", "data_format": "NCDHW"}

POOL = [
    OpInfo("MaxPool3D", _max_pool3d, np_max_pool3d, dtypes=MAX_POOL_T, shapes=[POOL_X, (1, 3, 3, 2, 2)],
           attrs=[_pool_attrs(*c) for c in POOL_CASES], large_values=True),
    OpInfo("MaxPool3D", _max_pool3d, np_max_pool3d, dtypes=MAX_POOL_T, shapes=[(2, 3, 5, 4, 5)], attrs=[_POOL_NCDHW],
           variant="NCDHW"),
    OpInfo("AvgPool3D", _avg_pool3d, np_avg_pool3d, dtypes=FLOATING, shapes=[POOL_X, (1, 3, 3, 2, 2)],
           attrs=[_pool_attrs(*c) for c in POOL_CASES]),
    OpInfo("AvgPool3D", _avg_pool3d, np_avg_pool3d, dtypes=FLOATING, shapes=[(2, 3, 5, 4, 5)], attrs=[_POOL_NCDHW],
           variant="NCDHW"),
]


def _max_pool3d_grad(x: Any, grad: Any, **attrs: Any) -> Any:
    pool = {k: attrs[k] for k in ("ksize", "strides", "padding", "data_format") if k in attrs}
    return _op("MaxPool3DGrad", x, _max_pool3d(x, **pool), grad, **attrs)


def _avg_pool3d_grad(grad: Any, input_sizes: list, **attrs: Any) -> Any:
    return _op("AvgPool3DGrad", np.array(input_sizes, np.int32), grad, **attrs)


for _attrs, _x in [(_pool_attrs(*c), POOL_X) for c in POOL_CASES] + [(_POOL_NCDHW, (2, 3, 5, 4, 5))]:
    _grad = _pool_out(_x, _attrs)
    _variant = "NCDHW" if "data_format" in _attrs else \
        f"{_attrs['padding']},k{''.join(map(str, _attrs['ksize'][1:4]))},s{''.join(map(str, _attrs['strides'][1:4]))}"
    # Coarse values tie often: the gradient goes to the first largest element of each window.
    POOL += [
        OpInfo("MaxPool3DGrad", _max_pool3d_grad, np_max_pool3d_grad, dtypes=MAX_POOL_T, shapes=[(_x, _grad)],
               attrs=[_attrs], domain=("coarse", "any"), variant=_variant, differentiable=False),
        OpInfo("AvgPool3DGrad", _avg_pool3d_grad, np_avg_pool3d_grad, dtypes=FLOATING, shapes=[_grad],
               attrs=[{"input_sizes": list(_x), **_attrs}], variant=_variant),
    ]



def _separable_max_pool3d(x: Any, ksize: list, strides: list, padding: str) -> Any:
    """MaxPool3D of an NDHWC ``x`` of any numeric dtype (MaxPool3D takes floats of 32 bits or fewer): a box's maximum
    is the maximum over depth of the maxima over height and width, so two 2-D max pools make it exactly."""
    n, d, h, w, c = x.shape.as_list()
    planes = tf.nn.max_pool(tf.reshape(x, [n * d, h, w, c]), [1, *ksize[2:4], 1], [1, *strides[2:4], 1], padding)
    oh, ow = planes.shape.as_list()[1:3]
    rows = tf.nn.max_pool(tf.reshape(planes, [n, d, oh * ow, c]), [1, ksize[1], 1, 1], [1, strides[1], 1, 1], padding)
    return tf.reshape(rows, [n, rows.shape.as_list()[1], oh, ow, c])


def _max_pool3d_grad_grad(x: Any, grad: Any, **attrs: Any) -> Any:
    return _op("MaxPool3DGradGrad", x, _separable_max_pool3d(x, **attrs), grad, **attrs)


_GRAD_GRAD_X = (1, 5, 4, 5, 2)
POOL += [
    # Not differentiable here: its gradient, MaxPool3DGrad, takes no float64 (TF's neither); the third-order
    # gradients are checked against TF in tests/core/ops/test_conv3d_ops.py.
    OpInfo("MaxPool3DGradGrad", _max_pool3d_grad_grad, np_max_pool3d_grad_grad, dtypes=FLOATING,
           shapes=[(_GRAD_GRAD_X, _GRAD_GRAD_X)], attrs=[_pool_attrs(*c) for c in POOL_CASES], differentiable=False),
    OpInfo("MaxPool3DGradGrad", _max_pool3d_grad_grad, np_max_pool3d_grad_grad, dtypes=(tf.float32, tf.int32),
           shapes=[(_GRAD_GRAD_X, _GRAD_GRAD_X)], attrs=[_pool_attrs(*c) for c in POOL_CASES[1:]],
           domain=("coarse", "any"), variant="ties", differentiable=False),
]

INFOS = CONV + POOL

__all__ = ["CONV_CASES", "INFOS", "POOL_CASES", "np_avg_pool3d", "np_avg_pool3d_grad", "np_conv3d",
           "np_conv3d_backprop_filter", "np_conv3d_backprop_input", "np_max_pool3d", "np_max_pool3d_grad",
           "np_max_pool3d_grad_grad"]
