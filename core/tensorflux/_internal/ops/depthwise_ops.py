"""Depthwise convolution (``DepthwiseConv2dNative`` and its two gradient ops) and the separable convolution built
on it.

A depthwise convolution filters each input channel on its own: with a filter [kh, kw, in_channels, multiplier],
output channel ``c * multiplier + m`` is input channel ``c`` cross-correlated with ``filter[:, :, c, m]``, so the
output has ``in_channels * multiplier`` channels. Strides, dilations, SAME / VALID / EXPLICIT padding and the
NHWC / NCHW layouts follow ``Conv2D`` (``conv_ops``), as TensorFlow's op does.
"""

from __future__ import annotations

from typing import Any

from ..geometry import output_size, spatial_axes
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, convert_to_tensor
from ..registry import AttrDef
from ..shapes import TensorShape
from .common import define, gradient
from .conv_ops import _CONV_ATTRS, _check_4, _explicit_pads, _four, _from_sizes, _padding_attrs, _shape_of, conv2d

_DEPTHWISE_ATTRS = {k: v for k, v in _CONV_ATTRS.items() if k != "use_cudnn_on_gpu"}


def _depthwise_shape(op: Any) -> TensorShape:
    x, f = op.inputs[0].shape, op.inputs[1].shape
    fmt = op.attrs["data_format"]
    strides, dilations = _check_4(op, "strides", fmt), _check_4(op, "dilations", fmt)
    if x.rank is not None and x.rank != 4:
        raise ValueError(f"DepthwiseConv2dNative: input must be 4-D ({fmt}), got shape {x}")
    if f.rank is not None and f.rank != 4:
        raise ValueError(f"DepthwiseConv2dNative: filter must be 4-D [height, width, in_channels, "
                         f"channel_multiplier], got shape {f}")
    if x.rank is None:
        return TensorShape(None if f.rank is None else [None] * 4)
    hi, wi, ci = spatial_axes(fmt)
    c_in, f_in = x[ci], (f[2] if f.rank is not None else None)
    if c_in is not None and f_in is not None and c_in != f_in:
        raise ValueError(f"DepthwiseConv2dNative: input has {c_in} channels but filter {f} expects {f_in} "
                         f"(in_channels, dimension 2)")
    kh, kw, mult = (f[0], f[1], f[3]) if f.rank is not None else (None, None, None)
    ph, pw = _explicit_pads(op)
    pad = op.attrs["padding"]
    dims: list = [x[0], None, None, None]
    dims[hi] = output_size(x[hi], kh, strides[hi], dilations[hi], pad, ph, "input height")
    dims[wi] = output_size(x[wi], kw, strides[wi], dilations[wi], pad, pw, "input width")
    channels = c_in if c_in is not None else f_in
    dims[ci] = None if channels is None or mult is None else channels * mult
    return TensorShape(dims)


define("DepthwiseConv2dNative", ["input: T", "filter: T"], ["output: T"], _DEPTHWISE_ATTRS, shape=_depthwise_shape,
       doc="Each input channel cross-correlated with its own filters [kh, kw, in_channels, channel_multiplier]; "
           "output channel c * channel_multiplier + m comes from input channel c and filter[:, :, c, m].")
define("DepthwiseConv2dNativeBackpropInput", ["input_sizes: int32", "filter: T", "out_backprop: T"], ["output: T"],
       _DEPTHWISE_ATTRS, shape=_from_sizes(0),
       doc="The gradient of DepthwiseConv2dNative with respect to its input (of shape input_sizes).")
define("DepthwiseConv2dNativeBackpropFilter", ["input: T", "filter_sizes: int32", "out_backprop: T"], ["output: T"],
       _DEPTHWISE_ATTRS, shape=_from_sizes(1),
       doc="The gradient of DepthwiseConv2dNative with respect to its filter (of shape filter_sizes).")
# Internal: made by the fusion graph pass (passes/fusion.py) from DepthwiseConv2dNative + a per-channel bias (or an
# inference batch norm folded into filter and bias) (+ Relu/Relu6, or a swish fused after it), never by users.
define("_FusedDepthwiseConv2dNative", ["input: T", "filter: T", "bias: T"], ["output: T"],
       {**_DEPTHWISE_ATTRS, "activation": AttrDef("activation", "string", "", ("", "Relu", "Relu6", "Swish")),
        "filter_const": ("bool", False)}, shape=_depthwise_shape, differentiable=False,
       doc="DepthwiseConv2dNative, then a per-channel bias (one per output channel), then an optional activation "
           "(Swish: y * sigmoid(y)); filter_const: the filter never changes (graph-pass internal).")


def _attrs(op: Any) -> dict:
    return {k: op.attrs[k] for k in ("strides", "padding", "explicit_paddings", "data_format", "dilations")}


@gradient("DepthwiseConv2dNative")
def _depthwise_grad(op: Any, grad: Tensor) -> list:
    x, f = op.inputs
    attrs = _attrs(op)
    return [apply_op("DepthwiseConv2dNativeBackpropInput", _shape_of(x), f, grad, **attrs)[0],
            apply_op("DepthwiseConv2dNativeBackpropFilter", x, _shape_of(f), grad, **attrs)[0]]


@gradient("DepthwiseConv2dNativeBackpropInput")
def _depthwise_backprop_input_grad(op: Any, grad: Tensor) -> list:
    # The op is linear in filter and in out_backprop: it is the transpose of the convolution in each.
    _, f, dy = op.inputs
    attrs = _attrs(op)
    return [None, apply_op("DepthwiseConv2dNativeBackpropFilter", grad, _shape_of(f), dy, **attrs)[0],
            apply_op("DepthwiseConv2dNative", grad, f, **attrs)[0]]


@gradient("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_backprop_filter_grad(op: Any, grad: Tensor) -> list:
    x, _, dy = op.inputs
    attrs = _attrs(op)
    return [apply_op("DepthwiseConv2dNativeBackpropInput", _shape_of(x), grad, dy, **attrs)[0], None,
            apply_op("DepthwiseConv2dNative", x, grad, **attrs)[0]]


# -- Python wrappers ----------------------------------------------------------------------------
def depthwise_conv2d_native(input: Any, filter: Any, strides: Any, padding: Any,  # noqa: A002
                            data_format: str = "NHWC", dilations: Any = None, name: str | None = None) -> Tensor:
    """The ``DepthwiseConv2dNative`` op: each input channel filtered on its own by ``filter``
    [kh, kw, in_channels, channel_multiplier], giving ``in_channels * channel_multiplier`` channels.

    ``strides`` and ``dilations`` are ints or 1-, 2- or 4-element lists; ``padding`` is ``"SAME"``, ``"VALID"``
    or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` pairs.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.ones([1, 5, 5, 3])
        >>> tf.nn.depthwise_conv2d_native(x, tf.ones([3, 3, 3, 2]), [1, 1, 1, 1], "SAME").shape
        TensorShape([1, 5, 5, 6])
    """
    data_format = data_format or "NHWC"
    return apply_op("DepthwiseConv2dNative", convert_to_tensor(input), filter,
                    strides=_four(strides, "strides", data_format),
                    dilations=_four(dilations, "dilations", data_format, default=1), data_format=data_format,
                    name=name or "DepthwiseConv2dNative", **_padding_attrs(padding, data_format))[0]


def _rate_dilations(rate: Any, dilations: Any) -> Any:
    if rate is not None and dilations is not None:
        raise ValueError(f"give rate or dilations, not both (rate={rate!r}, dilations={dilations!r})")
    return rate if rate is not None else dilations


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any, rate: Any = None,  # noqa: A002
                     name: str | None = None, data_format: str | None = None, dilations: Any = None) -> Tensor:
    """Depthwise 2-D convolution, as ``tf.nn.depthwise_conv2d``: ``rate`` (or ``dilations``), a 2-list, dilates
    the filter; the dilation is an attribute of the one ``DepthwiseConv2dNative`` op here, where TF 1.x wraps a
    dilated convolution in space-to-batch ops (same values).

    Example:
        >>> import tensorflux as tf
        >>> x = tf.ones([1, 4, 4, 2])
        >>> y = tf.nn.depthwise_conv2d(x, tf.ones([2, 2, 2, 1]), [1, 1, 1, 1], "VALID")
        >>> tf.Session().run(y)[0, 0, 0].tolist()
        [4.0, 4.0]
    """
    data_format = data_format or "NHWC"
    return depthwise_conv2d_native(input, filter, strides, padding, data_format=data_format,
                                   dilations=_rate_dilations(rate, dilations), name=name or "depthwise")


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any,  # noqa: A002
                     padding: Any, rate: Any = None, name: str | None = None, data_format: str | None = None,
                     dilations: Any = None) -> Tensor:
    """A depthwise convolution followed by a 1x1 convolution that mixes channels, as ``tf.nn.separable_conv2d``.

    ``depthwise_filter`` is [kh, kw, in_channels, multiplier], ``pointwise_filter`` [1, 1, in_channels *
    multiplier, out_channels]; ``strides``, ``padding`` and ``rate`` apply to the depthwise step, the pointwise
    step has stride 1 and VALID padding.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.ones([1, 4, 4, 2])
        >>> y = tf.nn.separable_conv2d(x, tf.ones([3, 3, 2, 1]), tf.ones([1, 1, 2, 5]), [1, 1, 1, 1], "SAME")
        >>> y.shape
        TensorShape([1, 4, 4, 5])
    """
    data_format = data_format or "NHWC"
    pointwise = convert_to_tensor(pointwise_filter)
    shape = pointwise.shape
    if shape.rank is not None and (shape.rank != 4 or shape[0] != 1 or shape[1] != 1):
        raise ValueError(f"separable_conv2d: pointwise_filter must have shape [1, 1, channels, out_channels], got "
                         f"{shape}")
    with name_scope(name, "separable_conv2d") as scope:
        depthwise = depthwise_conv2d_native(input, depthwise_filter, strides, padding, data_format=data_format,
                                            dilations=_rate_dilations(rate, dilations), name="depthwise")
        return conv2d(depthwise, pointwise, strides=[1, 1, 1, 1], padding="VALID", data_format=data_format,
                      name=scope)
