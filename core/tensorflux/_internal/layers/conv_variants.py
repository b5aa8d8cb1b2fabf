"""``tf.layers.conv1d`` and ``conv2d_transpose`` with their classes ``Conv1D`` and ``Conv2DTranspose``.

``Conv1D``'s kernel is ``[k, in, filters]`` and runs through ``tf.nn.conv1d`` (a ``Conv2D`` over an inserted
size-1 dimension, as TF); ``Conv2DTranspose``'s kernel is ``[kh, kw, filters, in]`` and runs through
``tf.nn.conv2d_transpose``, with TF's output sizes: ``in * stride`` for 'same', ``in * stride + max(k - stride,
0)`` for 'valid'.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..graph import Tensor
from ..initializers import zeros_initializer
from ..ops import array_ops, conv_variants, math_ops, nn_ops
from ..shapes import TensorShape
from .base import Layer, normalize_data_format, normalize_padding, pair, refuse_constraint, single


class _Conv(Layer):
    """What both layers share: filters, activation, bias, initializers and regularizers."""

    def __init__(self, filters: int, activation: Callable | None, use_bias: bool, kernel_initializer: Any,
                 bias_initializer: Any, kernel_regularizer: Callable | None, bias_regularizer: Callable | None,
                 activity_regularizer: Callable | None, kernel_constraint: Any, bias_constraint: Any, trainable: bool,
                 name: str | None, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        refuse_constraint(kernel_constraint, "kernel_constraint", type(self).__name__)
        refuse_constraint(bias_constraint, "bias_constraint", type(self).__name__)
        self.filters = int(filters)
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel: Any = None
        self.bias: Any = None

    def _build_weights(self, kernel_shape: list, input_shape: TensorShape, rank: int, channel_axis: int) -> None:
        if input_shape.rank != rank:
            raise ValueError(f"Input 0 of layer {self._base_name} is incompatible with the layer: expected "
                             f"ndim={rank}, found shape {input_shape}")
        if input_shape[channel_axis] is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. Found shape {input_shape}.")
        self.kernel = self.add_weight("kernel", kernel_shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)

    def _finish(self, outputs: Tensor) -> Tensor:
        return self.activation(outputs) if self.activation is not None else outputs


class Conv1D(_Conv):
    """1-D convolution over ``[batch, width, channels]`` with ``filters`` outputs, then bias and activation;
    ``padding`` may also be 'causal' (the output at t sees inputs up to t only).

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Conv1D(4, 3)
        >>> layer(tf.ones([2, 9, 3])).shape, layer.kernel.shape
        (TensorShape([2, 7, 4]), TensorShape([3, 3, 4]))
    """

    _base_name = "conv1d"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = 1, activation: Callable | None = None,
                 use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                 kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                 activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(filters, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable, name,
                         **kwargs)
        self.kernel_size = single(kernel_size, "kernel_size")
        self.strides = single(strides, "strides")
        self.dilation_rate = single(dilation_rate, "dilation_rate")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(f"Conv1D: strides > 1 not supported in conjunction with dilation_rate > 1 (got strides="
                             f"{self.strides}, dilation_rate={self.dilation_rate})")
        self.causal = isinstance(padding, str) and padding.lower() == "causal"
        self.padding = "VALID" if self.causal else normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        if self.causal and self.data_format != "NHWC":
            raise ValueError("Conv1D: causal padding is only supported for `channels_last`")

    def build(self, input_shape: TensorShape) -> None:
        channel_axis = -1 if self.data_format == "NHWC" else 1
        channels = input_shape[channel_axis] if input_shape.rank == 3 else None
        self._build_weights([self.kernel_size, channels, self.filters], input_shape, 3, channel_axis)

    def call(self, inputs: Tensor) -> Tensor:
        if self.causal:
            left = self.dilation_rate * (self.kernel_size - 1)
            inputs = array_ops.pad(inputs, np.array([[0, 0], [left, 0], [0, 0]], np.int32))
        fmt = "NWC" if self.data_format == "NHWC" else "NCW"
        outputs = conv_variants.conv1d(inputs, self.kernel, stride=self.strides, padding=self.padding,
                                       data_format=fmt, dilations=self.dilation_rate, name="Conv1D")
        if self.use_bias:
            if self.data_format == "NHWC":
                outputs = nn_ops.bias_add(outputs, self.bias, data_format="NHWC")
            else:  # BiasAdd wants rank >= 4 for NCHW: broadcast the bias over [1, filters, 1], as Keras does
                outputs = math_ops.add(outputs, array_ops.reshape(self.bias, [1, self.filters, 1]))
        return self._finish(outputs)


def _transposed_length(size: Any, kernel: int, stride: int, padding: str) -> Any:
    """TF's ``deconv_output_length``: how long a transposed convolution makes a dimension of ``size``."""
    extra = max(kernel - stride, 0) if padding == "VALID" else 0
    if isinstance(size, Tensor):
        return math_ops.add(math_ops.multiply(size, stride), extra)
    return size * stride + extra


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution ("deconvolution"): upsamples by ``strides``, kernel ``[kh, kw, filters, in]``.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Conv2DTranspose(6, 3, strides=2, padding="same")
        >>> layer(tf.ones([2, 5, 5, 4])).shape, layer.kernel.shape
        (TensorShape([2, 10, 10, 6]), TensorShape([3, 3, 6, 4]))
    """

    _base_name = "conv2d_transpose"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", activation: Callable | None = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                 kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                 activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(filters, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable, name,
                         **kwargs)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)

    def _axes(self) -> tuple[int, int, int]:
        return (1, 2, 3) if self.data_format == "NHWC" else (2, 3, 1)

    def build(self, input_shape: TensorShape) -> None:
        channel_axis = self._axes()[2]
        channels = input_shape[channel_axis] if input_shape.rank == 4 else None
        self._build_weights([*self.kernel_size, self.filters, channels], input_shape, 4, channel_axis)

    def call(self, inputs: Tensor) -> Tensor:
        h_axis, w_axis, c_axis = self._axes()
        static = inputs.shape.as_list()
        dynamic = array_ops.shape(inputs)
        dims = [static[i] if static[i] is not None else dynamic[i] for i in range(4)]
        out_h = _transposed_length(dims[h_axis], self.kernel_size[0], self.strides[0], self.padding)
        out_w = _transposed_length(dims[w_axis], self.kernel_size[1], self.strides[1], self.padding)
        sizes = [dims[0], out_h, out_w, self.filters] if self.data_format == "NHWC" \
            else [dims[0], self.filters, out_h, out_w]
        if all(isinstance(d, (int, np.integer)) for d in sizes):
            output_shape: Any = np.array(sizes, np.int32)
        else:
            output_shape = array_ops.stack([d if isinstance(d, Tensor) else np.int32(d) for d in sizes])
        outputs = conv_variants.conv2d_transpose(inputs, self.kernel, output_shape, strides=list(self.strides),
                                                 padding=self.padding, data_format=self.data_format)
        outputs.set_shape([d if isinstance(d, (int, np.integer)) else None for d in sizes])
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias, data_format=self.data_format)
        return self._finish(outputs)


def conv1d(inputs: Any, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = 1, activation: Callable | None = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
           kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
           activity_regularizer: Callable | None = None, kernel_constraint: Any = None, bias_constraint: Any = None,
           trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    """A 1-D convolution layer: variables ``<name>/kernel`` ``[k, in, filters]`` and ``<name>/bias``.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.conv1d(tf.ones([2, 9, 3]), 4, 3, padding="same", activation=tf.nn.relu)
        >>> y.shape, y.op.name
        (TensorShape([2, 9, 4]), 'conv1d/Relu')
    """
    layer = Conv1D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def conv2d_transpose(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                     data_format: str = "channels_last", activation: Callable | None = None, use_bias: bool = True,
                     kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                     kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                     activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                     bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                     reuse: Any = None) -> Tensor:
    """A transposed 2-D convolution layer: ``<name>/kernel`` ``[kh, kw, filters, in]`` and ``<name>/bias``.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.conv2d_transpose(tf.ones([1, 7, 7, 8]), 1, 5, strides=2)
        >>> y.shape, y.op.name
        (TensorShape([1, 17, 17, 1]), 'conv2d_transpose/BiasAdd')
    """
    layer = Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                            trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)
