"""``tf.layers.conv2d`` and its class ``Conv2D``: a kernel ``[kh, kw, in, filters]`` plus a bias per filter."""

from __future__ import annotations

from typing import Any, Callable

from ..geometry import spatial_axes
from ..graph import Tensor
from ..initializers import zeros_initializer
from ..ops import conv_ops, nn_ops
from ..shapes import TensorShape
from .base import Layer, normalize_data_format, normalize_padding, pair, refuse_constraint


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as TF) with ``filters`` output channels, then bias and activation.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Conv2D(8, 3, padding="same")
        >>> layer(tf.ones([1, 5, 5, 2])).shape, layer.kernel.shape
        (TensorShape([1, 5, 5, 8]), TensorShape([3, 3, 2, 8]))
    """

    _base_name = "conv2d"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Callable | None = None,
                 use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                 kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                 activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        refuse_constraint(kernel_constraint, "kernel_constraint", "Conv2D")
        refuse_constraint(bias_constraint, "bias_constraint", "Conv2D")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.dilation_rate = pair(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Conv2D: strides > 1 not supported in conjunction with dilation_rate > 1 (got strides="
                             f"{self.strides}, dilation_rate={self.dilation_rate})")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel: Any = None
        self.bias: Any = None

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.rank != 4:
            raise ValueError(f"Input 0 of layer conv2d is incompatible with the layer: expected ndim=4, found "
                             f"shape {input_shape}")
        channels = input_shape[spatial_axes(self.data_format)[2]]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. Found shape {input_shape}.")
        self.kernel = self.add_weight("kernel", [*self.kernel_size, channels, self.filters],
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)

    def call(self, inputs: Tensor) -> Tensor:
        outputs = conv_ops.conv2d(inputs, self.kernel, strides=list(self.strides), padding=self.padding,
                                  data_format=self.data_format, dilations=list(self.dilation_rate))
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias, data_format=self.data_format)
        return self.activation(outputs) if self.activation is not None else outputs



def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Callable | None = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
           kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
           activity_regularizer: Callable | None = None, kernel_constraint: Any = None, bias_constraint: Any = None,
           trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    """A 2-D convolution layer: variables ``<name>/kernel`` ``[kh, kw, in, filters]`` and ``<name>/bias``.

    ``padding`` is 'valid' (TF's default) or 'same'; ``data_format`` 'channels_last' (NHWC) or 'channels_first'.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.conv2d(tf.ones([1, 28, 28, 1]), 32, 5, activation=tf.nn.relu)
        >>> y.shape, y.op.name
        (TensorShape([1, 24, 24, 32]), 'conv2d/Relu')
    """
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)

