"""Convolution and pooling ops (NHWC or NCHW, SAME / VALID / EXPLICIT padding, strides and dilations).

Output sizes follow TensorFlow: VALID gives ``(size - effective_k) // stride + 1``, SAME gives
``ceil(size / stride)`` with the padding split evenly and the odd pixel at the end.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..geometry import explicit_pads, output_size, spatial_axes
from ..graph import Tensor
from ..op_builder import apply_op, constant_shape, convert_to_tensor
from ..registry import REQUIRED, AttrDef
from ..shapes import TensorShape
from . import array_ops
from .common import define, gradient

CONV_T = (dt.float16, dt.bfloat16, dt.float32, dt.float64)
POOL_T = dt.NUMERIC
_FORMATS = ("NHWC", "NCHW")


def _check_4(op: Any, attr: str, fmt: str) -> list:
    values = list(op.attrs[attr])
    if len(values) != 4:
        raise ValueError(f"attr {attr} must have 4 elements (one per dimension of {fmt}), got {values}")
    n, c = 0, spatial_axes(fmt)[2]
    if values[n] != 1 or values[c] != 1:
        raise ValueError(f"attr {attr}={values}: {attr} over the batch and channel dimensions must be 1 ({fmt})")
    if any(v < 1 for v in values):
        raise ValueError(f"attr {attr}={values}: every element must be >= 1")
    return values


def _explicit_pads(op: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    return explicit_pads(op.attrs.get("explicit_paddings"), op.attrs["data_format"], op.attrs.get("padding"))


def _conv_shape(op: Any) -> TensorShape:
    x, f = op.inputs[0].shape, op.inputs[1].shape
    fmt = op.attrs["data_format"]
    strides, dilations = _check_4(op, "strides", fmt), _check_4(op, "dilations", fmt)
    if x.rank is not None and x.rank != 4:
        raise ValueError(f"input must be 4-D ({fmt}), got shape {x}")
    if f.rank is not None and f.rank != 4:
        raise ValueError(f"filter must be 4-D [height, width, in_channels, out_channels], got shape {f}")
    hi, wi, ci = spatial_axes(fmt)
    if x.rank is None:
        return TensorShape(None if f.rank is None else [None] * 4)
    c_in, f_in = x[ci], f[2]
    if c_in is not None and f_in is not None and c_in != f_in:
        raise ValueError(f"input has {c_in} channels but filter {f} expects {f_in} (in_channels, dimension 2)")
    ph, pw = _explicit_pads(op)
    pad = op.attrs["padding"]
    oh = output_size(x[hi], f[0], strides[hi], dilations[hi], pad, ph, "input height")
    ow = output_size(x[wi], f[1], strides[wi], dilations[wi], pad, pw, "input width")
    dims: list = [x[0], None, None, None]
    dims[hi], dims[wi], dims[ci] = oh, ow, f[3]
    return TensorShape(dims)


def _pool_shape(op: Any) -> TensorShape:
    x = op.inputs[0].shape
    fmt = op.attrs["data_format"]
    ksize, strides = _check_4(op, "ksize", fmt), _check_4(op, "strides", fmt)
    if x.rank is None:
        return x
    if x.rank != 4:
        raise ValueError(f"input must be 4-D ({fmt}), got shape {x}")
    hi, wi, _ = spatial_axes(fmt)
    dims = list(x.dims)
    pad = op.attrs["padding"]
    dims[hi] = output_size(x[hi], ksize[hi], strides[hi], 1, pad, what="input height")
    dims[wi] = output_size(x[wi], ksize[wi], strides[wi], 1, pad, what="input width")
    return TensorShape(dims)


def _from_sizes(index: int) -> Any:
    def shape_fn(op: Any) -> TensorShape:
        shape = constant_shape(op.inputs[index])
        return TensorShape([None] * 4) if shape.rank is None else shape

    return shape_fn


_CONV_ATTRS = {
    "T": ("type", None, CONV_T), "strides": "list(int)", "use_cudnn_on_gpu": ("bool", True),
    "padding": AttrDef("padding", "string", REQUIRED, ("SAME", "VALID", "EXPLICIT")), "explicit_paddings": ("list(int)", []),
    "data_format": ("string", "NHWC", _FORMATS), "dilations": ("list(int)", [1, 1, 1, 1]),
}
define("Conv2D", ["input: T", "filter: T"], ["output: T"], _CONV_ATTRS, shape=_conv_shape)
define("Conv2DBackpropInput", ["input_sizes: int32", "filter: T", "out_backprop: T"], ["output: T"], _CONV_ATTRS,
       shape=_from_sizes(0))
define("Conv2DBackpropFilter", ["input: T", "filter_sizes: int32", "out_backprop: T"], ["output: T"], _CONV_ATTRS,
       shape=_from_sizes(1))
def _fused_conv_shape(op: Any) -> TensorShape:
    shape = _conv_shape(op)
    if not op.attrs.get("pool") or shape.rank is None:
        return shape
    hi, wi, _ = spatial_axes(op.attrs["data_format"])
    dims = list(shape._dims)
    dims[hi], dims[wi] = (None if dims[hi] is None else dims[hi] // 2), (None if dims[wi] is None else dims[wi] // 2)
    return TensorShape(dims)


# Internal: made by the fusion graph pass (passes/fusion.py) from Conv2D + bias (+ a folded batch norm) (+ a
# residual add, passed as a fourth input when ``residual``) (+ Relu/Relu6) (+ a 2x2 stride-2 MaxPool), never by users.
define("_FusedConv2D", ["input: T", "filter: T", "bias: T"], ["output: T"],
       {**_CONV_ATTRS, "activation": AttrDef("activation", "string", "", ("", "Relu", "Relu6")),
        "pool": AttrDef("pool", "string", "", ("", "MaxPool2x2")), "residual": ("bool", False),
        "filter_const": ("bool", False)}, shape=_fused_conv_shape,
       differentiable=False, doc="Conv2D, then a per-channel bias, then (with residual) an added input of the "
                                 "output's shape, then an optional activation, then an optional 2x2 stride-2 max "
                                 "pool of an even-sized output; filter_const: the filter never changes "
                                 "(graph-pass internal).")


# Internal: made by the fusion graph pass from a Mul by a per-channel constant, then an AddV2/Sub of one, then
# Relu/Relu6 (an inference batch norm that no convolution before it absorbs, as in DenseNet), never by users.
define("_FusedScaleShift", ["x: T", "scale: T", "offset: T"], ["y: T"],
       {"T": ("type", None, CONV_T), "activation": AttrDef("activation", "string", "", ("", "Relu", "Relu6"))},
       shape=lambda op: op.inputs[0].shape, differentiable=False,
       doc="x * scale + offset (scale and offset 1-D, along the last axis), then an optional activation "
           "(graph-pass internal).")


def _pool_attrs(allowed: tuple) -> dict:
    return {"T": ("type", None, allowed), "ksize": "list(int)", "strides": "list(int)",
            "padding": AttrDef("padding", "string", REQUIRED, ("SAME", "VALID")), "data_format": ("string", "NHWC", _FORMATS)}


define("MaxPool", ["input: T"], ["output: T"], _pool_attrs(POOL_T), shape=_pool_shape)
define("MaxPoolGrad", ["orig_input: T", "orig_output: T", "grad: T"], ["output: T"], _pool_attrs(POOL_T),
       shape=lambda op: op.inputs[0].shape)
# Internal: made by the fusion graph pass from MaxPoolGrad followed by the ReluGrad of the pool's input.
define("_FusedMaxPoolGrad", ["orig_input: T", "orig_output: T", "grad: T"], ["output: T"],
       {**_pool_attrs(POOL_T), "activation": AttrDef("activation", "string", "", ("", "Relu"))},
       shape=lambda op: op.inputs[0].shape, differentiable=False,
       doc="MaxPoolGrad, then the activation's gradient at orig_input (graph-pass internal).")
define("AvgPool", ["value: T"], ["output: T"], _pool_attrs(CONV_T), shape=_pool_shape)
define("AvgPoolGrad", ["orig_input_shape: int32", "grad: T"], ["output: T"], _pool_attrs(CONV_T), shape=_from_sizes(0))


def _conv_attrs(op: Any) -> dict:
    return {k: op.attrs[k] for k in ("strides", "use_cudnn_on_gpu", "padding", "explicit_paddings", "data_format",
                                     "dilations")}


def _pool_attr_values(op: Any) -> dict:
    return {k: op.attrs[k] for k in ("ksize", "strides", "padding", "data_format")}


def _shape_of(t: Tensor) -> Any:
    return t.shape.as_list() if t.shape.is_fully_defined() else array_ops.shape(t)


@gradient("Conv2D")
def _conv2d_grad(op: Any, grad: Tensor) -> list:
    x, f = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv2DBackpropInput", _shape_of(x), f, grad, **attrs)[0],
            apply_op("Conv2DBackpropFilter", x, _shape_of(f), grad, **attrs)[0]]


@gradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op: Any, grad: Tensor) -> list:
    _, f, dy = op.inputs
    attrs = _conv_attrs(op)
    return [None, apply_op("Conv2DBackpropFilter", grad, _shape_of(f), dy, **attrs)[0],
            apply_op("Conv2D", grad, f, **attrs)[0]]


@gradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op: Any, grad: Tensor) -> list:
    x, _, dy = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv2DBackpropInput", _shape_of(x), grad, dy, **attrs)[0], None,
            apply_op("Conv2D", x, grad, **attrs)[0]]


@gradient("MaxPool")
def _max_pool_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("MaxPoolGrad", op.inputs[0], op.outputs[0], grad, **_pool_attr_values(op))[0]]


@gradient("AvgPool")
def _avg_pool_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("AvgPoolGrad", _shape_of(op.inputs[0]), grad, **_pool_attr_values(op))[0]]


@gradient("AvgPoolGrad")
def _avg_pool_grad_grad(op: Any, grad: Tensor) -> list:
    return [None, apply_op("AvgPool", grad, **_pool_attr_values(op))[0]]


# -- Python wrappers ----------------------------------------------------------------------------
def _four(value: Any, attr: str, data_format: str, default: int | None = None) -> list:
    """Expand an int, a 2-list (height, width) or a 4-list to the 4-list TF's ops take."""
    if value is None:
        if default is None:
            raise ValueError(f"{attr} is required")
        value = default
    values = [int(value)] * 2 if isinstance(value, int) else [int(v) for v in value]
    if len(values) == 1:
        values = values * 2
    if len(values) == 2:
        hi, wi, _ = spatial_axes(data_format)
        full = [1, 1, 1, 1]
        full[hi], full[wi] = values
        return full
    if len(values) != 4:
        raise ValueError(f"{attr} must be an int or a list of 1, 2 or 4 ints, got {value!r}")
    return values


def _padding_attrs(padding: Any, data_format: str) -> dict:
    if isinstance(padding, str):
        pad = padding.upper()
        if pad not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME', 'VALID' or a list of [before, after] pairs, got {padding!r}")
        return {"padding": pad, "explicit_paddings": []}
    if padding is None:
        raise ValueError("padding is required: 'SAME', 'VALID' or a list of [before, after] pairs")
    pairs = [[int(a), int(b)] for a, b in padding]
    if len(pairs) != 4:
        raise ValueError(f"explicit padding needs 4 [before, after] pairs (one per dimension of {data_format}), "
                         f"got {padding!r}")
    return {"padding": "EXPLICIT", "explicit_paddings": [p for pair in pairs for p in pair]}


def conv2d(input: Any, filter: Any = None, strides: Any = None, padding: Any = None,  # noqa: A002
           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = None, name: str | None = None,
           filters: Any = None) -> Tensor:
    """2-D convolution (cross-correlation, as TF) of a 4-D ``input`` with ``filter`` [kh, kw, in, out].

    ``strides`` and ``dilations`` are ints or 1-, 2- or 4-element lists; ``padding`` is ``"SAME"``,
    ``"VALID"`` or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` pairs.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.ones([1, 28, 28, 1])
        >>> tf.nn.conv2d(x, tf.ones([5, 5, 1, 32]), strides=[1, 1, 1, 1], padding="SAME").shape
        TensorShape([1, 28, 28, 32])
    """
    if filter is None:
        filter = filters  # noqa: A001
    if filter is None:
        raise ValueError("conv2d needs a filter")
    data_format = data_format or "NHWC"
    x = convert_to_tensor(input)
    return apply_op("Conv2D", x, filter, strides=_four(strides, "strides", data_format),
                    use_cudnn_on_gpu=use_cudnn_on_gpu, data_format=data_format,
                    dilations=_four(dilations, "dilations", data_format, default=1),
                    name=name or "Conv2D", **_padding_attrs(padding, data_format))[0]


def _pool(op_type: str, value: Any, ksize: Any, strides: Any, padding: Any, data_format: str | None,
          name: str | None) -> Tensor:
    data_format = data_format or "NHWC"
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        raise ValueError(f"{op_type}: padding must be 'SAME' or 'VALID', got {padding!r}")
    return apply_op(op_type, value, ksize=_four(ksize, "ksize", data_format), strides=_four(strides, "strides", data_format),
                    padding=padding.upper(), data_format=data_format, name=name or op_type)[0]


def max_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """Max over ``ksize`` windows moved by ``strides``; SAME padding never picks a padded cell.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
        >>> tf.Session().run(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    return _pool("MaxPool", value if value is not None else input, ksize, strides, padding, data_format, name)


def avg_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """Mean over ``ksize`` windows moved by ``strides``; with SAME, padded cells are left out of the mean.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
        >>> tf.Session().run(tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """
    return _pool("AvgPool", value if value is not None else input, ksize, strides, padding, data_format, name)
