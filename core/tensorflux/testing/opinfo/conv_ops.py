"""Op-info entries of convolution and pooling, their gradient ops, and the fused ops ``_FusedConv2D``,
``_FusedMaxPoolGrad`` and ``_FusedScaleShift`` (built directly, and from their unfused composition, which the fusion graph pass
rewrites where the device has the fused kernel); each is checked against the composition of the unfused
ops' numpy references.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from . import conv_reference as ref
from .base import FLOATING, OpInfo
from .nn_ops import _op

# (padding, strides, dilations) over height and width.
CONV_CASES = [
    ("SAME", (1, 1), (1, 1)), ("VALID", (1, 1), (1, 1)), ("SAME", (2, 2), (1, 1)), ("VALID", (2, 1), (1, 1)),
    ("SAME", (1, 1), (2, 2)), ("VALID", (1, 1), (2, 1)), ("SAME", (3, 2), (1, 2)),
]
X_SHAPE, F_SHAPE = (2, 7, 6, 3), (3, 2, 3, 4)


def _conv_attrs(padding: str, strides: tuple, dilations: tuple) -> dict:
    return {"strides": [1, *strides, 1], "padding": padding, "dilations": [1, *dilations, 1]}


def _conv_label(attrs: dict) -> str:
    s, d = attrs["strides"], attrs["dilations"]
    return f"{attrs['padding']},s{s[1]}{s[2]},d{d[1]}{d[2]}"


def _padding_arg(padding: str, explicit_paddings: list, data_format: str) -> Any:
    if padding != "EXPLICIT":
        return padding
    return [list(explicit_paddings[2 * d: 2 * d + 2]) for d in range(4)]


def _conv2d(x: Any, f: Any, strides: list, padding: str, dilations: list = (1, 1, 1, 1), data_format: str = "NHWC",
            explicit_paddings: list = ()) -> Any:
    return tf.nn.conv2d(x, f, strides=strides, padding=_padding_arg(padding, explicit_paddings, data_format),
                        dilations=list(dilations), data_format=data_format)


def _conv_out(x_shape: tuple, f_shape: tuple, attrs: dict) -> tuple:
    """The output shape of an NHWC convolution (or NCHW when ``attrs`` says so)."""
    nchw = attrs.get("data_format") == "NCHW"
    h, w = (x_shape[2], x_shape[3]) if nchw else (x_shape[1], x_shape[2])
    s = attrs["strides"][2:] if nchw else attrs["strides"][1:3]
    d = attrs.get("dilations", [1, 1, 1, 1])
    d = d[2:] if nchw else d[1:3]
    pads = attrs.get("explicit_paddings") or [0] * 8
    pads = (pads[4:6], pads[6:8]) if nchw else (pads[2:4], pads[4:6])
    oh = ref.out_size(h, f_shape[0], s[0], d[0], attrs["padding"], pads[0])[0]
    ow = ref.out_size(w, f_shape[1], s[1], d[1], attrs["padding"], pads[1])[0]
    return (x_shape[0], f_shape[3], oh, ow) if nchw else (x_shape[0], oh, ow, f_shape[3])


_NCHW = {"strides": [1, 1, 2, 2], "padding": "SAME", "dilations": [1, 1, 1, 1], "data_format": "NCHW"}
_EXPLICIT = {"strides": [1, 1, 1, 1], "padding": "EXPLICIT", "dilations": [1, 1, 1, 1],
             "explicit_paddings": [0, 0, 1, 2, 2, 1, 0, 0]}
_NCHW_X = (2, 3, 7, 6)

CONV = [
    OpInfo("Conv2D", _conv2d, ref.conv2d, dtypes=FLOATING, shapes=[(X_SHAPE, F_SHAPE)],
           attrs=[_conv_attrs(*c) for c in CONV_CASES] + [_EXPLICIT]),
    OpInfo("Conv2D", _conv2d, ref.conv2d, dtypes=FLOATING, variant="small",
           shapes=[((1, 4, 4, 2), (3, 3, 2, 3)), ((2, 5, 3, 1), (2, 2, 1, 2)), ((0, 4, 4, 2), (3, 3, 2, 3))],
           attrs=[_conv_attrs("SAME", (1, 1), (1, 1)), _conv_attrs("VALID", (1, 1), (1, 1))]),
    OpInfo("Conv2D", _conv2d, ref.conv2d, dtypes=FLOATING, variant="NCHW", shapes=[(_NCHW_X, F_SHAPE)], attrs=[_NCHW]),
]
for _attrs in [_conv_attrs(*c) for c in CONV_CASES] + [_EXPLICIT, _NCHW]:
    _x = _NCHW_X if _attrs.get("data_format") == "NCHW" else X_SHAPE
    _dy = _conv_out(_x, F_SHAPE, _attrs)
    _label = "NCHW" if _x is _NCHW_X else ("EXPLICIT" if _attrs["padding"] == "EXPLICIT" else _conv_label(_attrs))
    CONV += [
        OpInfo("Conv2DBackpropInput",
               lambda f, dy, input_sizes, **a: _op("Conv2DBackpropInput", np.array(input_sizes, np.int32), f, dy, **a),
               ref.conv2d_backprop_input, dtypes=FLOATING, shapes=[(F_SHAPE, _dy)],
               attrs=[{"input_sizes": list(_x), **_attrs}], variant=_label),
        OpInfo("Conv2DBackpropFilter",
               lambda x, dy, filter_sizes, **a: _op("Conv2DBackpropFilter", x, np.array(filter_sizes, np.int32), dy,
                                                    **a),
               ref.conv2d_backprop_filter, dtypes=FLOATING, shapes=[(_x, _dy)],
               attrs=[{"filter_sizes": list(F_SHAPE), **_attrs}], variant=_label),
    ]

# (padding, ksize, strides) over height and width.
POOL_CASES = [("VALID", (2, 2), (2, 2)), ("SAME", (2, 2), (2, 2)), ("SAME", (3, 3), (2, 2)), ("VALID", (3, 2), (1, 2)),
              ("SAME", (3, 3), (1, 1))]
POOL_X = (2, 7, 5, 3)


def _pool_attrs(padding: str, ksize: tuple, strides: tuple) -> dict:
    return {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1], "padding": padding}


def _pool_label(attrs: dict) -> str:
    return f"{attrs['padding']},k{attrs['ksize'][1]}{attrs['ksize'][2]},s{attrs['strides'][1]}{attrs['strides'][2]}"


def _max_pool(x: Any, ksize: list, strides: list, padding: str, data_format: str = "NHWC") -> Any:
    return tf.nn.max_pool(x, ksize, strides, padding, data_format=data_format)


def _avg_pool(x: Any, ksize: list, strides: list, padding: str, data_format: str = "NHWC") -> Any:
    return tf.nn.avg_pool(x, ksize, strides, padding, data_format=data_format)


def _pool_out(x_shape: tuple, attrs: dict) -> tuple:
    oh = ref.out_size(x_shape[1], attrs["ksize"][1], attrs["strides"][1], 1, attrs["padding"])[0]
    ow = ref.out_size(x_shape[2], attrs["ksize"][2], attrs["strides"][2], 1, attrs["padding"])[0]
    return (x_shape[0], oh, ow, x_shape[3])


_POOL_NCHW = {"ksize": [1, 1, 3, 3], "strides": [1, 1, 2, 2], "padding": "SAME", "data_format": "NCHW"}
POOL = [
    OpInfo("MaxPool", _max_pool, ref.max_pool, shapes=[POOL_X, (1, 4, 4, 2), (2, 5, 3, 1)],
           attrs=[_pool_attrs(*c) for c in POOL_CASES], large_values=True),
    OpInfo("MaxPool", _max_pool, ref.max_pool, shapes=[(2, 3, 4, 4)], attrs=[_POOL_NCHW], variant="NCHW"),
    OpInfo("AvgPool", _avg_pool, ref.avg_pool, dtypes=FLOATING, shapes=[POOL_X, (1, 4, 4, 2), (2, 5, 3, 1)],
           attrs=[_pool_attrs(*c) for c in POOL_CASES]),
    OpInfo("AvgPool", _avg_pool, ref.avg_pool, dtypes=FLOATING, shapes=[(2, 3, 4, 4)], attrs=[_POOL_NCHW],
           variant="NCHW"),
]


def _max_pool_grad(x: Any, grad: Any, op: str = "MaxPoolGrad", **attrs: Any) -> Any:
    pool = {k: attrs[k] for k in ("ksize", "strides", "padding")}
    return _op(op, x, _max_pool(x, **pool), grad, **attrs)


def _relu_max_pool_gradient(x: Any, grad: Any, ksize: list, strides: list, padding: str, activation: str) -> Any:
    """The backward pass of ``max_pool(relu(x))``: MaxPoolGrad then ReluGrad, which the fusion pass joins."""
    return tf.gradients(_max_pool(tf.nn.relu(x), ksize, strides, padding), [x], grad_ys=grad)[0]


def _np_relu_max_pool_gradient(x: np.ndarray, grad: np.ndarray, activation: str, **pool: Any) -> np.ndarray:
    return ref.fused_max_pool_grad(np.maximum(x, 0), grad, activation=activation, **pool)


for _attrs in [_pool_attrs(*c) for c in POOL_CASES]:
    _label, _grad = _pool_label(_attrs), _pool_out(POOL_X, _attrs)
    # Coarse values tie often: the gradient goes to the first largest element of each window.
    POOL += [
        OpInfo("MaxPoolGrad", _max_pool_grad, ref.max_pool_grad, shapes=[(POOL_X, _grad)], attrs=[_attrs],
               domain=("coarse", "any"), variant=_label, differentiable=False),
        OpInfo("AvgPoolGrad", lambda g, input_sizes, **a: _op("AvgPoolGrad", np.array(input_sizes, np.int32), g, **a),
               ref.avg_pool_grad, dtypes=FLOATING, shapes=[_grad], attrs=[{"input_sizes": list(POOL_X), **_attrs}],
               variant=_label),
        OpInfo("_FusedMaxPoolGrad", lambda x, g, **a: _max_pool_grad(x, g, op="_FusedMaxPoolGrad", **a),
               ref.fused_max_pool_grad, shapes=[(POOL_X, _grad)], domain=("coarse", "any"), variant=_label,
               attrs=[{**_attrs, "activation": a} for a in ("", "Relu")], differentiable=False),
        OpInfo("_FusedMaxPoolGrad", _relu_max_pool_gradient, _np_relu_max_pool_gradient, dtypes=FLOATING,
               shapes=[(POOL_X, _grad)], domain=("coarse", "any"), variant=f"graph pass,{_label}",
               attrs=[{**_attrs, "activation": "Relu"}], differentiable=False),
    ]


def _fused_conv2d(x: Any, f: Any, b: Any, **attrs: Any) -> Any:
    return _op("_FusedConv2D", x, f, b, **attrs)


def _unfused_conv2d(x: Any, f: Any, b: Any, strides: list, padding: str, activation: str, pool: str,
                    bias_op: str) -> Any:
    """Conv2D, bias, relu and a 2x2 max pool as separate ops: the graph the fusion pass rewrites."""
    y = tf.nn.conv2d(x, f, strides=strides, padding=padding)
    y = tf.nn.bias_add(y, b) if bias_op == "BiasAdd" else tf.add(y, b)
    if activation == "Relu":
        y = tf.nn.relu(y)
    return _max_pool(y, [1, 2, 2, 1], [1, 2, 2, 1], "VALID") if pool else y


def _np_unfused_conv2d(x: np.ndarray, f: np.ndarray, b: np.ndarray, bias_op: str, **attrs: Any) -> np.ndarray:
    return ref.fused_conv2d(x, f, b, **attrs)


_STAGES = [{"activation": a, "pool": p} for a in ("", "Relu") for p in ("", "MaxPool2x2")]
_EVEN = ((2, 6, 4, 3), (3, 3, 3, 4), (4,))  # a SAME stride-1 output of even height and width, as pooling needs
_ODD = ((2, 7, 6, 3), F_SHAPE, (4,))
FUSED_CONV = [
    OpInfo("_FusedConv2D", _fused_conv2d, ref.fused_conv2d, dtypes=FLOATING, shapes=[_EVEN],
           attrs=[{"strides": [1, 1, 1, 1], "padding": "SAME", **s} for s in _STAGES], differentiable=False),
    OpInfo("_FusedConv2D", _fused_conv2d, ref.fused_conv2d, dtypes=FLOATING, shapes=[_ODD], variant="strided",
           attrs=[{"strides": [1, 2, 2, 1], "padding": p, "activation": "Relu", "pool": ""} for p in ("SAME", "VALID")],
           differentiable=False),
    OpInfo("_FusedConv2D", _unfused_conv2d, _np_unfused_conv2d, dtypes=FLOATING, shapes=[_EVEN],
           variant="graph pass", differentiable=False,
           attrs=[{"strides": [1, 1, 1, 1], "padding": "SAME", "bias_op": op, **s} for s in _STAGES
                  for op in ("BiasAdd", "AddV2")]),
]



def _np_scale_shift(x: np.ndarray, scale: np.ndarray, offset: np.ndarray, activation: str) -> np.ndarray:
    y = x * scale + offset
    if activation == "Relu6":
        return np.minimum(np.maximum(y, 0), 6)
    return np.maximum(y, 0) if activation else y


_SCALE, _OFFSET = np.array([0.5, -2.0, 1.5, 3.0]), np.array([0.25, 1.0, -1.0, 0.0])


def _unfused_scale_shift(x: Any, activation: str, offset_op: str) -> Any:
    """Mul by a constant, then AddV2/Sub of one, then the activation: the batch norm the fusion pass rewrites."""
    y = x * tf.cast(tf.constant(_SCALE), x.dtype)
    offset = tf.cast(tf.constant(_OFFSET), x.dtype)
    y = y - offset if offset_op == "Sub" else y + offset
    return {"Relu": tf.nn.relu, "Relu6": tf.nn.relu6}.get(activation, tf.identity)(y)


def _np_unfused_scale_shift(x: np.ndarray, activation: str, offset_op: str) -> np.ndarray:
    return _np_scale_shift(x, _SCALE, -_OFFSET if offset_op == "Sub" else _OFFSET, activation)


FUSED_SCALE_SHIFT = [
    OpInfo("_FusedScaleShift", lambda x, s, t, **a: _op("_FusedScaleShift", x, s, t, **a), _np_scale_shift,
           dtypes=FLOATING, shapes=[((2, 3, 5, 4), (4,), (4,)), ((3, 4), (4,), (4,))],
           attrs=[{"activation": a} for a in ("", "Relu", "Relu6")], differentiable=False),
    OpInfo("_FusedScaleShift", _unfused_scale_shift, _np_unfused_scale_shift, dtypes=FLOATING,
           shapes=[(2, 3, 5, 4)], variant="graph pass", differentiable=False,
           attrs=[{"activation": a, "offset_op": o} for a in ("", "Relu", "Relu6") for o in ("AddV2", "Sub")]),
]

INFOS = CONV + POOL + FUSED_CONV + FUSED_SCALE_SHIFT

__all__ = ["CONV_CASES", "INFOS", "POOL_CASES"]
