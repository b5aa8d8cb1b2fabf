"""3-D convolution and pooling: ``Conv3D`` with its gradient ops ``Conv3DBackpropInputV2`` and
``Conv3DBackpropFilterV2``, ``MaxPool3D`` with ``MaxPool3DGrad`` and ``MaxPool3DGradGrad``, and ``AvgPool3D`` with
``AvgPool3DGrad``, as TF 1.15 defines them (names, inputs, attributes and allowed dtypes), with shape functions,
gradients and the ``tf.nn`` wrappers.

Layouts are NDHWC (the default) and NCDHW; padding is SAME or VALID (TF's 3-D ops have no EXPLICIT). Sizes follow
the 2-D ops: VALID gives ``(size - effective_k) // stride + 1``, SAME ``ceil(size / stride)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..geometry import output_size
from ..geometry3d import FORMATS_3D, spatial_axes_3d
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, constant_shape, constant_value, convert_to_tensor
from ..registry import REQUIRED, AttrDef
from ..shapes import TensorShape
from . import array_ops
from .common import define, gradient
from .conv_ops import CONV_T, _shape_of

# TF's MaxPool3D and MaxPool3DGrad take no float64.
MAX_POOL_3D_T = (dt.float16, dt.bfloat16, dt.float32)
_AXIS_NAMES = ("input depth", "input height", "input width")


def _check_5(op: Any, attr: str) -> list:
    values = [int(v) for v in op.attrs[attr]]
    fmt = op.attrs["data_format"]
    if len(values) != 5:
        raise ValueError(f"{op.type} '{op.name}': attr {attr} must have 5 elements (one per dimension of {fmt}), "
                         f"got {values}")
    _, c = spatial_axes_3d(fmt)
    if values[0] != 1 or values[c] != 1:
        raise ValueError(f"{op.type} '{op.name}': attr {attr}={values}: {attr} over the batch and channel "
                         f"dimensions must be 1 ({fmt})")
    if any(v < 1 for v in values):
        raise ValueError(f"{op.type} '{op.name}': attr {attr}={values}: every element must be >= 1")
    return values


def _rank5(op: Any, shape: TensorShape, what: str) -> None:
    if shape.rank is not None and shape.rank != 5:
        raise ValueError(f"{op.type} '{op.name}': {what} must be 5-D, got shape {shape}")


def _conv3d_shape(op: Any) -> TensorShape:
    x, f = op.inputs[0].shape, op.inputs[1].shape
    strides, dilations = _check_5(op, "strides"), _check_5(op, "dilations")
    _rank5(op, x, f"input ({op.attrs['data_format']})")
    _rank5(op, f, "filter [depth, height, width, in_channels, out_channels]")
    if x.rank is None:
        return TensorShape([None] * 5)
    axes, ci = spatial_axes_3d(op.attrs["data_format"])
    f_dims = f.dims if f.rank is not None else [None] * 5
    if x[ci] is not None and f_dims[3] is not None and x[ci] != f_dims[3]:
        raise ValueError(f"{op.type} '{op.name}': input has {x[ci]} channels but filter {f} expects {f_dims[3]} "
                         f"(in_channels, dimension 3)")
    dims: list = [x[0], None, None, None, None]
    for k, a in enumerate(axes):
        dims[a] = output_size(x[a], f_dims[k], strides[a], dilations[a], op.attrs["padding"], what=_AXIS_NAMES[k])
    dims[ci] = f_dims[4]
    return TensorShape(dims)


def _pool3d_shape(op: Any) -> TensorShape:
    x = op.inputs[0].shape
    ksize, strides = _check_5(op, "ksize"), _check_5(op, "strides")
    _rank5(op, x, f"input ({op.attrs['data_format']})")
    if x.rank is None:
        return TensorShape([None] * 5)
    dims = list(x.dims)
    for k, a in enumerate(spatial_axes_3d(op.attrs["data_format"])[0]):
        dims[a] = output_size(x[a], ksize[a], strides[a], 1, op.attrs["padding"], what=_AXIS_NAMES[k])
    return TensorShape(dims)


def _from_sizes(index: int, what: str) -> Any:
    def shape_fn(op: Any) -> TensorShape:
        if op.attrs.get("strides") is not None:
            _check_5(op, "strides")
        shape = constant_shape(op.inputs[index])
        if shape.rank is None:
            return TensorShape([None] * 5)
        if shape.rank != 5:
            raise ValueError(f"{op.type} '{op.name}': {what} must hold 5 sizes, got {shape}")
        return shape

    return shape_fn


_PADDING = AttrDef("padding", "string", REQUIRED, ("SAME", "VALID"))
_FORMAT = ("string", "NDHWC", FORMATS_3D)
_CONV_ATTRS = {"T": ("type", None, CONV_T), "strides": "list(int)", "padding": _PADDING, "data_format": _FORMAT,
               "dilations": ("list(int)", [1, 1, 1, 1, 1])}


def _pool_attrs(allowed: tuple) -> dict:
    return {"ksize": "list(int)", "strides": "list(int)", "padding": _PADDING, "data_format": _FORMAT,
            "T": ("type", None, allowed)}


define("Conv3D", ["input: T", "filter: T"], ["output: T"], _CONV_ATTRS, shape=_conv3d_shape,
       doc="3-D cross-correlation of a 5-D input with filter [kd, kh, kw, in_channels, out_channels].")
define("Conv3DBackpropInputV2", ["input_sizes: Tshape", "filter: T", "out_backprop: T"], ["output: T"],
       {**_CONV_ATTRS, "Tshape": ("type", dt.int32, (dt.int32, dt.int64))},
       shape=_from_sizes(0, "input_sizes"),
       doc="The gradient of Conv3D with respect to its input (of shape input_sizes); conv3d_transpose.")
define("Conv3DBackpropFilterV2", ["input: T", "filter_sizes: int32", "out_backprop: T"], ["output: T"], _CONV_ATTRS,
       shape=_from_sizes(1, "filter_sizes"),
       doc="The gradient of Conv3D with respect to its filter (of shape filter_sizes).")
define("MaxPool3D", ["input: T"], ["output: T"], _pool_attrs(MAX_POOL_3D_T), shape=_pool3d_shape,
       doc="The maximum of each ksize window; SAME padding never wins.")
define("MaxPool3DGrad", ["orig_input: TInput", "orig_output: TInput", "grad: T"], ["output: T"],
       {**_pool_attrs(MAX_POOL_3D_T), "T": ("type", dt.float32, MAX_POOL_3D_T),
        "TInput": ("type", dt.float32, MAX_POOL_3D_T)},
       shape=lambda op: op.inputs[0].shape,
       doc="The gradient of MaxPool3D: each window's gradient goes to its first maximum, in (depth, height, "
           "width) row-major order.")
define("MaxPool3DGradGrad", ["orig_input: T", "orig_output: T", "grad: T"], ["output: T"], _pool_attrs(dt.NUMERIC),
       shape=lambda op: op.inputs[1].shape,
       doc="The gradient of MaxPool3DGrad with respect to its grad: each window's first maximum picks its cell of "
           "grad (which has orig_input's shape).")
define("AvgPool3D", ["input: T"], ["output: T"], _pool_attrs(CONV_T), shape=_pool3d_shape,
       doc="The mean of each ksize window over its real (unpadded) cells.")
define("AvgPool3DGrad", ["orig_input_shape: int32", "grad: T"], ["output: T"], _pool_attrs(CONV_T),
       shape=_from_sizes(0, "orig_input_shape"),
       doc="The gradient of AvgPool3D: each window's gradient shared equally among its real cells.")


def _conv_attrs(op: Any) -> dict:
    return {k: op.attrs[k] for k in ("strides", "padding", "data_format", "dilations")}


def _pool_attr_values(op: Any) -> dict:
    return {k: op.attrs[k] for k in ("ksize", "strides", "padding", "data_format")}


@gradient("Conv3D")
def _conv3d_grad(op: Any, grad: Tensor) -> list:
    x, f = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv3DBackpropInputV2", _shape_of(x), f, grad, **attrs)[0],
            apply_op("Conv3DBackpropFilterV2", x, _shape_of(f), grad, **attrs)[0]]


@gradient("Conv3DBackpropInputV2")
def _conv3d_backprop_input_grad(op: Any, grad: Tensor) -> list:
    # Linear in filter and in out_backprop: the transpose of the convolution in each.
    _, f, dy = op.inputs
    attrs = _conv_attrs(op)
    return [None, apply_op("Conv3DBackpropFilterV2", grad, _shape_of(f), dy, **attrs)[0],
            apply_op("Conv3D", grad, f, **attrs)[0]]


@gradient("Conv3DBackpropFilterV2")
def _conv3d_backprop_filter_grad(op: Any, grad: Tensor) -> list:
    x, _, dy = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv3DBackpropInputV2", _shape_of(x), grad, dy, **attrs)[0], None,
            apply_op("Conv3D", x, grad, **attrs)[0]]


@gradient("MaxPool3D")
def _max_pool3d_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("MaxPool3DGrad", op.inputs[0], op.outputs[0], grad, **_pool_attr_values(op))[0]]


@gradient("MaxPool3DGrad")
def _max_pool3d_grad_grad(op: Any, grad: Tensor) -> list:
    # Linear in grad, and piecewise constant in the pool's input and output.
    x, y, _ = op.inputs
    return [array_ops.zeros_like(x), array_ops.zeros_like(y),
            apply_op("MaxPool3DGradGrad", x, y, grad, **_pool_attr_values(op))[0]]


@gradient("MaxPool3DGradGrad")
def _max_pool3d_grad_grad_grad(op: Any, grad: Tensor) -> list:
    x, y, _ = op.inputs
    return [array_ops.zeros_like(x), array_ops.zeros_like(y),
            apply_op("MaxPool3DGrad", x, y, grad, **_pool_attr_values(op))[0]]


@gradient("AvgPool3D")
def _avg_pool3d_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("AvgPool3DGrad", _shape_of(op.inputs[0]), grad, **_pool_attr_values(op))[0]]


@gradient("AvgPool3DGrad")
def _avg_pool3d_grad_grad(op: Any, grad: Tensor) -> list:
    return [None, apply_op("AvgPool3D", grad, **_pool_attr_values(op))[0]]


# -- Python wrappers ----------------------------------------------------------------------------
def _five(value: Any, attr: str, data_format: str, who: str, default: int | None = None) -> list:
    """An int, a 1- or 3-list (depth, height, width) or a 5-list as the 5-list TF's 3-D ops take."""
    if value is None:
        if default is None:
            raise ValueError(f"{who}: {attr} is required")
        value = default
    values = [int(value)] if isinstance(value, (int, np.integer)) else [int(v) for v in value]
    if len(values) == 1:
        values = values * 3
    if len(values) == 3:
        axes, _ = spatial_axes_3d(data_format)
        full = [1] * 5
        for a, v in zip(axes, values):
            full[a] = v
        return full
    if len(values) != 5:
        raise ValueError(f"{who}: {attr} must be an int or a list of 1, 3 or 5 ints, got {value!r}")
    return values


def _format(data_format: str | None, who: str) -> str:
    data_format = data_format or "NDHWC"
    if data_format not in FORMATS_3D:
        raise ValueError(f"{who}: data_format must be 'NDHWC' or 'NCDHW', got {data_format!r}")
    return data_format


def _padding(padding: Any, who: str) -> str:
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        raise ValueError(f"{who}: padding must be 'SAME' or 'VALID', got {padding!r}")
    return padding.upper()


def conv3d(input: Any, filter: Any = None, strides: Any = None, padding: Any = None,  # noqa: A002
           data_format: str = "NDHWC", dilations: Any = None, name: str | None = None, filters: Any = None) -> Tensor:
    """3-D convolution (cross-correlation, as TF) of a 5-D ``input`` with ``filter`` [kd, kh, kw, in, out].

    ``strides`` and ``dilations`` are ints or 1-, 3- or 5-element lists (TF 1.x wants 5); ``padding`` is
    ``"SAME"`` or ``"VALID"``; ``data_format`` "NDHWC" or "NCDHW".

    Example:
        >>> import tensorflux as tf
        >>> x = tf.ones([2, 8, 16, 16, 3])
        >>> tf.nn.conv3d(x, tf.ones([3, 3, 3, 3, 8]), strides=[1, 1, 2, 2, 1], padding="SAME").shape
        TensorShape([2, 8, 8, 8, 8])
    """
    filter = filters if filter is None else filter  # noqa: A001
    if filter is None:
        raise ValueError("conv3d needs a filter")
    data_format = _format(data_format, "conv3d")
    return apply_op("Conv3D", convert_to_tensor(input), filter, strides=_five(strides, "strides", data_format, "conv3d"),
                    padding=_padding(padding, "conv3d"), data_format=data_format,
                    dilations=_five(dilations, "dilations", data_format, "conv3d", default=1), name=name or "Conv3D")[0]


def conv3d_backprop_filter_v2(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,  # noqa: A002
                              padding: str, data_format: str = "NDHWC", dilations: Any = None,
                              name: str | None = None) -> Tensor:
    """The ``Conv3DBackpropFilterV2`` op: the gradient of ``conv3d`` with respect to a filter of ``filter_sizes``.

    Example:
        >>> import tensorflux as tf
        >>> dy = tf.ones([1, 4, 4, 4, 2])
        >>> tf.nn.conv3d_backprop_filter_v2(tf.ones([1, 4, 4, 4, 3]), [3, 3, 3, 3, 2], dy, [1] * 5, "SAME").shape
        TensorShape([3, 3, 3, 3, 2])
    """
    who = "conv3d_backprop_filter_v2"
    data_format = _format(data_format, who)
    return apply_op("Conv3DBackpropFilterV2", input, convert_to_tensor(filter_sizes, dtype=dt.int32), out_backprop,
                    strides=_five(strides, "strides", data_format, who), padding=_padding(padding, who),
                    data_format=data_format, dilations=_five(dilations, "dilations", data_format, who, default=1),
                    name=name or "Conv3DBackpropFilterV2")[0]


conv3d_backprop_filter = conv3d_backprop_filter_v2  # TF 1.x exports the op under both names


def conv3d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None, strides: Any = None,  # noqa: A002
                     padding: Any = "SAME", data_format: str = "NDHWC", name: str | None = None, input: Any = None,  # noqa: A002
                     filters: Any = None, dilations: Any = None) -> Tensor:
    """The transpose (gradient) of ``conv3d``: ``value`` [batch, d, h, w, in] spread by ``filter``
    [kd, kh, kw, out, in] to ``output_shape``, as ``Conv3DBackpropInputV2`` computes it.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.nn.conv3d_transpose(tf.ones([1, 4, 4, 4, 8]), tf.ones([3, 3, 3, 2, 8]), [1, 8, 8, 8, 2], 2)
        >>> y.shape, y.op.type
        (TensorShape([1, 8, 8, 8, 2]), 'Conv3DBackpropInputV2')
    """
    value = input if value is None else value
    filter = filters if filter is None else filter  # noqa: A001
    if value is None or filter is None or output_shape is None:
        raise ValueError("conv3d_transpose needs value, filter and output_shape")
    data_format = _format(data_format, "conv3d_transpose")
    with name_scope(name, default_name="conv3d_transpose") as scope:
        value, filter = convert_to_tensor(value, name="value"), convert_to_tensor(filter, name="filter")  # noqa: A001
        ci = spatial_axes_3d(data_format)[1]
        v_dims = value.shape.dims if value.shape.rank == 5 else [None] * 5
        f_dims = filter.shape.dims if filter.shape.rank == 5 else [None] * 5
        if v_dims[ci] is not None and f_dims[4] is not None and v_dims[ci] != f_dims[4]:
            raise ValueError(f"conv3d_transpose: input channels does not match filter's input channels, "
                             f"{v_dims[ci]} != {f_dims[4]}")
        sizes = output_shape if isinstance(output_shape, Tensor) else convert_to_tensor(output_shape, dtype=dt.int32,
                                                                                        name="output_shape")
        if sizes.shape.rank is not None and not sizes.shape.is_compatible_with([5]):
            raise ValueError(f"conv3d_transpose: output_shape must have shape (5,), got {sizes.shape}")
        known = constant_value(sizes)
        if known is not None and f_dims[3] is not None and int(known[ci]) != f_dims[3]:
            raise ValueError(f"conv3d_transpose: output_shape does not match filter's output channels, "
                             f"{int(known[ci])} != {f_dims[3]}")
        who = "conv3d_transpose"
        return apply_op("Conv3DBackpropInputV2", sizes, filter, value, strides=_five(strides, "strides", data_format, who),
                        padding=_padding(padding, who), data_format=data_format,
                        dilations=_five(dilations, "dilations", data_format, who, default=1), name=scope)[0]


def _pool3d(op_type: str, value: Any, ksize: Any, strides: Any, padding: Any, data_format: str | None,
            name: str | None) -> Tensor:
    data_format = _format(data_format, op_type)
    return apply_op(op_type, value, ksize=_five(ksize, "ksize", data_format, op_type),
                    strides=_five(strides, "strides", data_format, op_type), padding=_padding(padding, op_type),
                    data_format=data_format, name=name or op_type)[0]


def max_pool3d(input: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NDHWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """Max over ``ksize`` windows of a 5-D ``input`` moved by ``strides``; SAME padding never wins.

    ``ksize`` and ``strides`` are ints or 1-, 3- or 5-element lists.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.reshape(tf.range(8.0), [1, 2, 2, 2, 1])
        >>> tf.Session().run(tf.nn.max_pool3d(x, 2, 2, "VALID")).ravel()
        array([7.], dtype=float32)
    """
    return _pool3d("MaxPool3D", input, ksize, strides, padding, data_format, name)


def avg_pool3d(input: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NDHWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """Mean over ``ksize`` windows of a 5-D ``input`` moved by ``strides``; with SAME, padded cells are left out.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.reshape(tf.range(8.0), [1, 2, 2, 2, 1])
        >>> tf.Session().run(tf.nn.avg_pool3d(x, [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], "VALID")).ravel()
        array([3.5], dtype=float32)
    """
    return _pool3d("AvgPool3D", input, ksize, strides, padding, data_format, name)
