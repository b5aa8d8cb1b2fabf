"""``tf.nn.conv1d``, ``conv2d_transpose``, ``max_pool1d`` and ``avg_pool1d``, built from the 2-D ops as TF builds them.

A 1-D op inserts a size-1 height (width for NCW), runs the 2-D op and squeezes it out again; a transposed
convolution is the gradient of a convolution with respect to its input (``Conv2DBackpropInput``). Being
compositions, they run on every device that has the 2-D kernels, and their gradients are those ops'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, constant_value, convert_to_tensor
from . import array_ops, conv_ops


def _one_d_format(data_format: str | None, who: str) -> tuple[str, int]:
    """The 2-D format and the axis where the size-1 dimension goes, for a 1-D ``data_format``."""
    if data_format in (None, "NWC", "NHWC"):
        return "NHWC", -3
    if data_format in ("NCW", "NCHW"):
        return "NCHW", -2
    raise ValueError(f"{who}: data_format must be 'NWC' or 'NCW', got {data_format!r}")


def _one_d(value: Any, name: str, format_2d: str) -> list:
    """A 1-D stride, dilation or window (an int, or a list of 1 or 3 ints) as the 4-list of the 2-D op."""
    values = [int(value)] if isinstance(value, (int, np.integer)) else [int(v) for v in value]
    if len(values) == 3:
        values = [values[1] if format_2d == "NHWC" else values[2]]
    if len(values) != 1:
        raise ValueError(f"{name} must be an int or a list of 1 or 3 ints, got {value!r}")
    return [1, 1, values[0], 1] if format_2d == "NHWC" else [1, 1, 1, values[0]]


def conv1d(value: Any = None, filters: Any = None, stride: Any = None, padding: Any = None,
           use_cudnn_on_gpu: Any = None, data_format: str | None = None, name: str | None = None, input: Any = None,  # noqa: A002
           dilations: Any = None) -> Tensor:
    """1-D convolution of ``[batch, width, in]`` (NWC) with ``filters`` ``[k, in, out]``, via ``Conv2D``.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.nn.conv1d(tf.ones([2, 9, 3]), tf.ones([3, 3, 4]), stride=2, padding="SAME")
        >>> y.shape, y.op.name
        (TensorShape([2, 5, 4]), 'conv1d/Squeeze')
    """
    value = input if value is None else value
    if value is None or filters is None:
        raise ValueError("conv1d needs an input (value) and filters")
    format_2d, axis = _one_d_format(data_format, "conv1d")
    with name_scope(name, default_name="conv1d") as scope:
        x = array_ops.expand_dims(value, axis)
        kernel = array_ops.expand_dims(filters, 0)
        padding_2d = padding
        if not isinstance(padding, str) and padding is not None:  # explicit [[0, 0], [l, r], [0, 0]] pairs
            pairs = [list(p) for p in padding]
            padding_2d = pairs[:1] + [[0, 0]] + pairs[1:] if format_2d == "NHWC" else pairs[:2] + [[0, 0]] + pairs[2:]
        result = conv_ops.conv2d(x, kernel, strides=_one_d(stride, "stride", format_2d), padding=padding_2d,
                                 use_cudnn_on_gpu=True if use_cudnn_on_gpu is None else bool(use_cudnn_on_gpu),
                                 data_format=format_2d, name=scope,
                                 dilations=_one_d(1 if dilations is None else dilations, "dilations", format_2d))
        return array_ops.squeeze(result, [axis])


def _pool1d(op: str, default_name: str, value: Any, ksize: Any, strides: Any, padding: Any, data_format: str | None,
            name: str | None) -> Tensor:
    format_2d, axis = _one_d_format(data_format, default_name)
    with name_scope(name, default_name=default_name):
        x = array_ops.expand_dims(value, axis)
        pooled = conv_ops._pool(op, x, _one_d(ksize, "ksize", format_2d), _one_d(strides, "strides", format_2d),
                                padding, format_2d, None)
        return array_ops.squeeze(pooled, [axis])


def max_pool1d(input: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """Max over windows of ``ksize`` along the width of ``[batch, width, channels]``, via ``MaxPool``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.max_pool1d([[[1.0], [3.0], [2.0], [0.0]]], 2, 2, "VALID"))[0, :, 0]
        array([3., 2.], dtype=float32)
    """
    return _pool1d("MaxPool", "MaxPool1d", input, ksize, strides, padding, data_format, name)


def avg_pool1d(value: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NWC",
               name: str | None = None) -> Tensor:
    """Mean over windows of ``ksize`` along the width of ``[batch, width, channels]``, via ``AvgPool``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.avg_pool1d([[[1.0], [3.0], [2.0], [0.0]]], 2, 2, "VALID"))[0, :, 0]
        array([2., 1.], dtype=float32)
    """
    return _pool1d("AvgPool", "AvgPool1D", value, ksize, strides, padding, data_format, name)


def conv2d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None, strides: Any = None,  # noqa: A002
                     padding: Any = "SAME", data_format: str = "NHWC", name: str | None = None, input: Any = None,  # noqa: A002
                     filters: Any = None, dilations: Any = None) -> Tensor:
    """The transpose (gradient) of ``conv2d``: ``value`` ``[batch, h, w, in]`` spread by ``filter``
    ``[kh, kw, out, in]`` to ``output_shape``, as ``Conv2DBackpropInput`` computes it.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.nn.conv2d_transpose(tf.ones([2, 5, 5, 4]), tf.ones([3, 3, 6, 4]), [2, 10, 10, 6], [1, 2, 2, 1])
        >>> y.shape, y.op.type
        (TensorShape([2, 10, 10, 6]), 'Conv2DBackpropInput')
    """
    value = input if value is None else value
    filter = filters if filter is None else filter  # noqa: A001
    if value is None or filter is None or output_shape is None:
        raise ValueError("conv2d_transpose needs value, filter and output_shape")
    data_format = data_format or "NHWC"
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"conv2d_transpose: data_format has to be either NCHW or NHWC, got {data_format!r}")
    with name_scope(name, default_name="conv2d_transpose") as scope:
        value, filter = convert_to_tensor(value, name="value"), convert_to_tensor(filter, name="filter")  # noqa: A001
        axis = 3 if data_format == "NHWC" else 1
        if value.shape.rank == 4 and filter.shape.rank == 4 and value.shape.dims[axis] is not None \
                and filter.shape.dims[3] is not None and value.shape.dims[axis] != filter.shape.dims[3]:
            raise ValueError(f"conv2d_transpose: input channels does not match filter's input channels, "
                             f"{value.shape.dims[axis]} != {filter.shape.dims[3]}")
        sizes = convert_to_tensor(output_shape, dtype=dt.int32, name="output_shape")
        if sizes.shape.rank is not None and not sizes.shape.is_compatible_with([4]):
            raise ValueError(f"conv2d_transpose: output_shape must have shape (4,), got {sizes.shape}")
        known = constant_value(sizes)
        if known is not None and filter.shape.rank == 4 and filter.shape.dims[2] is not None \
                and int(known[axis]) != filter.shape.dims[2]:
            raise ValueError(f"conv2d_transpose: output_shape does not match filter's output channels, "
                             f"{int(known[axis])} != {filter.shape.dims[2]}")
        return apply_op("Conv2DBackpropInput", sizes, filter, value,
                        strides=conv_ops._four(strides, "strides", data_format),
                        data_format=data_format, dilations=conv_ops._four(dilations, "dilations", data_format, default=1),
                        name=scope, **conv_ops._padding_attrs(padding, data_format))[0]
