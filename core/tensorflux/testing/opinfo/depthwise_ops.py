"""Op-info entries of the depthwise convolution ``DepthwiseConv2dNative`` and its two gradient ops.

The numpy references expand the depthwise filter [kh, kw, c, m] into the block-diagonal filter of an ordinary
convolution [kh, kw, c, c * m] (zero but for ``[:, :, c, c * m + q] = f[:, :, c, q]``) and use the convolution
references of ``conv_reference``: a depthwise convolution is exactly that convolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from . import conv_reference as ref
from .base import FLOATING, OpInfo
from .conv_ops import _conv_out, _padding_arg
from .nn_ops import _op, np_sigmoid


def expanded_filter(f: np.ndarray) -> np.ndarray:
    """The block-diagonal convolution filter [kh, kw, c, c * m] equivalent to the depthwise filter ``f``.

    Example:
        >>> import numpy as np
        >>> expanded_filter(np.ones((1, 1, 2, 1)))[0, 0].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    kh, kw, c, m = f.shape
    full = np.zeros((kh, kw, c, c * m), f.dtype)
    for k in range(c):
        full[:, :, k, k * m:(k + 1) * m] = f[:, :, k, :]
    return full


def np_depthwise(x: np.ndarray, f: np.ndarray, strides: list, padding: str, dilations: list = (1, 1, 1, 1),
                 data_format: str = "NHWC", explicit_paddings: list = ()) -> np.ndarray:
    """The depthwise convolution of ``x`` with ``f`` [kh, kw, c, m], as ``tf.nn.depthwise_conv2d_native``.

    Example:
        >>> import numpy as np
        >>> np_depthwise(np.ones((1, 3, 3, 2)), np.ones((2, 2, 2, 1)), [1, 1, 1, 1], "VALID")[0, 0, 0].tolist()
        [4.0, 4.0]
    """
    return ref.conv2d(x, expanded_filter(f), strides, padding, dilations, data_format, explicit_paddings)


def np_depthwise_backprop_input(f: np.ndarray, dy: np.ndarray, input_sizes: list, **attrs: Any) -> np.ndarray:
    """The gradient of ``np_depthwise`` with respect to its input."""
    return ref.conv2d_backprop_input(expanded_filter(f), dy, input_sizes, **attrs)


def np_depthwise_backprop_filter(x: np.ndarray, dy: np.ndarray, filter_sizes: list, **attrs: Any) -> np.ndarray:
    """The gradient of ``np_depthwise`` with respect to its filter: the block diagonal of the convolution's."""
    kh, kw, c, m = filter_sizes
    full = ref.conv2d_backprop_filter(x, dy, [kh, kw, c, c * m], **attrs)
    return np.stack([full[:, :, k, k * m:(k + 1) * m] for k in range(c)], axis=2)


def _depthwise(x: Any, f: Any, strides: list, padding: str, dilations: list = (1, 1, 1, 1),
               data_format: str = "NHWC", explicit_paddings: list = ()) -> Any:
    return tf.nn.depthwise_conv2d_native(x, f, strides, _padding_arg(padding, explicit_paddings, data_format),
                                         data_format=data_format, dilations=list(dilations))


def _attrs(padding: str, strides: tuple, dilations: tuple) -> dict:
    return {"strides": [1, *strides, 1], "padding": padding, "dilations": [1, *dilations, 1]}


# (padding, strides, dilations) over height and width.
CASES = [("SAME", (1, 1), (1, 1)), ("VALID", (1, 1), (1, 1)), ("SAME", (2, 2), (1, 1)), ("VALID", (2, 1), (1, 1)),
         ("SAME", (1, 1), (2, 2)), ("SAME", (3, 2), (1, 2))]
X_SHAPE, F_SHAPE, F1_SHAPE = (2, 7, 6, 3), (3, 2, 3, 2), (3, 3, 3, 1)
_EXPLICIT = {"strides": [1, 2, 1, 1], "padding": "EXPLICIT", "dilations": [1, 1, 1, 1],
             "explicit_paddings": [0, 0, 1, 2, 2, 1, 0, 0]}
_NCHW = {"strides": [1, 1, 2, 2], "padding": "SAME", "dilations": [1, 1, 1, 1], "data_format": "NCHW"}
_NCHW_X = (2, 3, 7, 6)

FORWARD = [
    OpInfo("DepthwiseConv2dNative", _depthwise, np_depthwise, dtypes=FLOATING, shapes=[(X_SHAPE, F_SHAPE)],
           attrs=[_attrs(*c) for c in CASES] + [_EXPLICIT]),
    # A multiplier of 1, MobileNet's: each output channel is its input channel's.
    OpInfo("DepthwiseConv2dNative", _depthwise, np_depthwise, dtypes=FLOATING, variant="multiplier 1",
           shapes=[(X_SHAPE, F1_SHAPE), ((1, 4, 4, 5), (3, 3, 5, 1)), ((0, 4, 4, 2), (3, 3, 2, 1))],
           attrs=[_attrs("SAME", (1, 1), (1, 1)), _attrs("SAME", (2, 2), (1, 1))]),
    OpInfo("DepthwiseConv2dNative", _depthwise, np_depthwise, dtypes=FLOATING, variant="NCHW",
           shapes=[(_NCHW_X, F_SHAPE)], attrs=[_NCHW]),
]


def _out_shape(x_shape: tuple, f_shape: tuple, attrs: dict) -> tuple:
    kh, kw, c, m = f_shape
    return _conv_out(x_shape, (kh, kw, c, c * m), attrs)


def _backprop_input(f: Any, dy: Any, input_sizes: list, **attrs: Any) -> Any:
    return _op("DepthwiseConv2dNativeBackpropInput", np.array(input_sizes, np.int32), f, dy, **attrs)


def _backprop_filter(x: Any, dy: Any, filter_sizes: list, **attrs: Any) -> Any:
    return _op("DepthwiseConv2dNativeBackpropFilter", x, np.array(filter_sizes, np.int32), dy, **attrs)


BACKPROP = []
# The small input keeps most within the gradient check's size; one case has the forward entries' geometry.
for _x, _f, _cases in (((1, 5, 4, 2), (3, 2, 2, 2), [_attrs(*c) for c in CASES[:4]] + [_EXPLICIT]),
                       (X_SHAPE, F_SHAPE, [_attrs(*CASES[5])])):
    for _attrs_case in _cases:
        _dy = _out_shape(_x, _f, _attrs_case)
        _label = "x".join(map(str, _x)) + "," + ("EXPLICIT" if _attrs_case["padding"] == "EXPLICIT" else
                                                 f"{_attrs_case['padding']},s{_attrs_case['strides'][1]}"
                                                 f"{_attrs_case['strides'][2]}")
        BACKPROP += [
            OpInfo("DepthwiseConv2dNativeBackpropInput", _backprop_input, np_depthwise_backprop_input, dtypes=FLOATING,
                   shapes=[(_f, _dy)], attrs=[{"input_sizes": list(_x), **_attrs_case}], variant=_label),
            OpInfo("DepthwiseConv2dNativeBackpropFilter", _backprop_filter, np_depthwise_backprop_filter,
                   dtypes=FLOATING, shapes=[(_x, _dy)], attrs=[{"filter_sizes": list(_f), **_attrs_case}],
                   variant=_label),
        ]
_dy = _out_shape(_NCHW_X, F_SHAPE, _NCHW)
BACKPROP += [
    OpInfo("DepthwiseConv2dNativeBackpropInput", _backprop_input, np_depthwise_backprop_input, dtypes=FLOATING,
           shapes=[(F_SHAPE, _dy)], attrs=[{"input_sizes": list(_NCHW_X), **_NCHW}], variant="NCHW"),
    OpInfo("DepthwiseConv2dNativeBackpropFilter", _backprop_filter, np_depthwise_backprop_filter, dtypes=FLOATING,
           shapes=[(_NCHW_X, _dy)], attrs=[{"filter_sizes": list(F_SHAPE), **_NCHW}], variant="NCHW"),
]



def _np_fused(x: np.ndarray, f: np.ndarray, b: np.ndarray, activation: str, bias_op: str = "", **attrs: Any) -> np.ndarray:
    """_FusedDepthwiseConv2dNative: the depthwise convolution, plus the bias, then the activation."""
    y = np_depthwise(x, f, **attrs) + b
    if activation == "Swish":
        return y * np_sigmoid(y)
    if activation:
        y = np.maximum(y, 0)
    return np.minimum(y, 6) if activation == "Relu6" else y


def _unfused(x: Any, f: Any, b: Any, activation: str, bias_op: str, **attrs: Any) -> Any:
    """DepthwiseConv2dNative, a bias add and the activation as separate ops: the graph the fusion pass rewrites."""
    y = _depthwise(x, f, **attrs)
    y = tf.nn.bias_add(y, b) if bias_op == "BiasAdd" else tf.add(y, b)
    return {"Relu": tf.nn.relu, "Relu6": tf.nn.relu6}.get(activation, tf.identity)(y)


_ACTIVATIONS = ("", "Relu", "Relu6")
FUSED = [
    OpInfo("_FusedDepthwiseConv2dNative", lambda x, f, b, **a: _op("_FusedDepthwiseConv2dNative", x, f, b, **a),
           _np_fused, dtypes=FLOATING, shapes=[(X_SHAPE, F1_SHAPE, (3,)), (X_SHAPE, F_SHAPE, (6,))],
           attrs=[{**_attrs("SAME", (1, 1), (1, 1)), "activation": a} for a in (*_ACTIVATIONS, "Swish")]
           + [{**_attrs("VALID", (2, 1), (1, 1)), "activation": "Relu6"}, {**_EXPLICIT, "activation": "Relu"}],
           differentiable=False),
    OpInfo("_FusedDepthwiseConv2dNative", _unfused, _np_fused, dtypes=FLOATING, variant="graph pass",
           shapes=[(X_SHAPE, F1_SHAPE, (3,))], differentiable=False,
           attrs=[{**_attrs("SAME", (2, 2), (1, 1)), "activation": a, "bias_op": op} for a in _ACTIVATIONS
                  for op in ("BiasAdd", "AddV2")]),
]

INFOS = FORWARD + BACKPROP + FUSED

__all__ = ["CASES", "INFOS", "expanded_filter", "np_depthwise", "np_depthwise_backprop_filter",
           "np_depthwise_backprop_input"]
