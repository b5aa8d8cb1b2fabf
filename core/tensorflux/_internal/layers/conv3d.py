"""``tf.layers.conv3d``, ``conv3d_transpose``, ``max_pooling3d`` and ``average_pooling3d`` with their classes.

As TF 1.15's (Keras') 3-D layers: ``Conv3D``'s kernel is ``[kd, kh, kw, in, filters]`` and ``Conv3DTranspose``'s
``[kd, kh, kw, filters, in]``, each with a bias per filter (``<name>/kernel``, ``<name>/bias``), initializers and
regularizers as the 2-D layers; the transposed layer's output sizes are TF's (``in * stride`` for 'same',
``in * stride + max(k - stride, 0)`` for 'valid'). The pooling layers have no variables; with 'channels_first'
they transpose to channels-last around the pool, as Keras does.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..graph import Tensor
from ..initializers import zeros_initializer
from ..ops import array_ops, conv3d_ops, nn_ops
from ..shapes import TensorShape
from .base import Layer, normalize_data_format, normalize_padding
from .conv_variants import _Conv, _transposed_length


def triple(value: Any, what: str) -> tuple[int, int, int]:
    """An int or a 1- or 3-sequence of ints as a (depth, height, width) triple, as Keras's ``normalize_tuple``.

    Example:
        >>> triple(3, "kernel_size"), triple((2, 1, 1), "strides")
        ((3, 3, 3), (2, 1, 1))
    """
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"The `{what}` argument must be a tuple of 3 integers. Received: {value!r}")
    return int(values[0]), int(values[1]), int(values[2])


def _formats(data_format: str | None) -> tuple[str, int]:
    """The 5-D op layout and the channel axis of a Keras ``data_format``."""
    return ("NDHWC", 4) if normalize_data_format(data_format) == "NHWC" else ("NCDHW", 1)


class Conv3D(_Conv):
    """3-D convolution (cross-correlation, as TF) with ``filters`` output channels, then bias and activation.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Conv3D(8, 3, padding="same")
        >>> layer(tf.ones([1, 4, 5, 5, 2])).shape, layer.kernel.shape
        (TensorShape([1, 4, 5, 5, 8]), TensorShape([3, 3, 3, 2, 8]))
    """

    _base_name = "conv3d"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1, 1),
                 activation: Callable | None = None, use_bias: bool = True, kernel_initializer: Any = None,
                 bias_initializer: Any = zeros_initializer(), kernel_regularizer: Callable | None = None,
                 bias_regularizer: Callable | None = None, activity_regularizer: Callable | None = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(filters, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable, name,
                         **kwargs)
        self.kernel_size = triple(kernel_size, "kernel_size")
        self.strides = triple(strides, "strides")
        self.dilation_rate = triple(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Conv3D: strides > 1 not supported in conjunction with dilation_rate > 1 (got strides="
                             f"{self.strides}, dilation_rate={self.dilation_rate})")
        self.padding = normalize_padding(padding)
        self.data_format, self._channel_axis = _formats(data_format)

    def build(self, input_shape: TensorShape) -> None:
        channels = input_shape[self._channel_axis] if input_shape.rank == 5 else None
        self._build_weights([*self.kernel_size, channels, self.filters], input_shape, 5, self._channel_axis)

    def call(self, inputs: Tensor) -> Tensor:
        outputs = conv3d_ops.conv3d(inputs, self.kernel, strides=list(self.strides), padding=self.padding,
                                    data_format=self.data_format, dilations=list(self.dilation_rate))
        if self.use_bias:  # BiasAdd's NCHW adds along dimension 1 at any rank, as Keras uses it for NCDHW
            outputs = nn_ops.bias_add(outputs, self.bias, data_format="NHWC" if self._channel_axis == 4 else "NCHW")
        return self._finish(outputs)


class Conv3DTranspose(_Conv):
    """Transposed 3-D convolution ("deconvolution"): upsamples by ``strides``, kernel ``[kd, kh, kw, filters, in]``.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Conv3DTranspose(6, 3, strides=2, padding="same")
        >>> layer(tf.ones([2, 4, 5, 5, 3])).shape, layer.kernel.shape
        (TensorShape([2, 8, 10, 10, 6]), TensorShape([3, 3, 3, 6, 3]))
    """

    _base_name = "conv3d_transpose"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 data_format: str = "channels_last", activation: Callable | None = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                 kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                 activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(filters, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable, name,
                         **kwargs)
        self.kernel_size = triple(kernel_size, "kernel_size")
        self.strides = triple(strides, "strides")
        self.padding = normalize_padding(padding)
        self.data_format, self._channel_axis = _formats(data_format)

    def build(self, input_shape: TensorShape) -> None:
        channels = input_shape[self._channel_axis] if input_shape.rank == 5 else None
        self._build_weights([*self.kernel_size, self.filters, channels], input_shape, 5, self._channel_axis)

    def call(self, inputs: Tensor) -> Tensor:
        first = self._channel_axis == 1
        spatial = (2, 3, 4) if first else (1, 2, 3)
        static = inputs.shape.as_list()
        dynamic = array_ops.shape(inputs)
        dims = [static[i] if static[i] is not None else dynamic[i] for i in range(5)]
        outs = [_transposed_length(dims[a], k, s, self.padding)
                for a, k, s in zip(spatial, self.kernel_size, self.strides)]
        sizes = [dims[0], self.filters, *outs] if first else [dims[0], *outs, self.filters]
        if all(isinstance(d, (int, np.integer)) for d in sizes):
            output_shape: Any = np.array(sizes, np.int32)
        else:
            output_shape = array_ops.stack([d if isinstance(d, Tensor) else np.int32(d) for d in sizes])
        outputs = conv3d_ops.conv3d_transpose(inputs, self.kernel, output_shape, strides=list(self.strides),
                                              padding=self.padding, data_format=self.data_format)
        outputs.set_shape([d if isinstance(d, (int, np.integer)) else None for d in sizes])
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias, data_format="NCHW" if first else "NHWC")
        return self._finish(outputs)


class _Pooling3D(Layer):
    _pool: Any = None

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.pool_size = triple(pool_size, "pool_size")
        self.strides = triple(strides, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        first = self.data_format == "NCHW"
        if first:  # as Keras: pool channels-last between two transposes
            inputs = array_ops.transpose(inputs, [0, 2, 3, 4, 1])
        outputs = type(self)._pool(inputs, [1, *self.pool_size, 1], [1, *self.strides, 1], self.padding)
        return array_ops.transpose(outputs, [0, 4, 1, 2, 3]) if first else outputs


class MaxPooling3D(_Pooling3D):
    """Max over ``pool_size`` windows of ``[batch, depth, height, width, channels]``, moved by ``strides``.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.MaxPooling3D(2, 2)(tf.ones([1, 4, 4, 4, 3])).shape
        TensorShape([1, 2, 2, 2, 3])
    """

    _base_name = "max_pooling3d"
    _pool = staticmethod(conv3d_ops.max_pool3d)


class AveragePooling3D(_Pooling3D):
    """Mean over ``pool_size`` windows moved by ``strides`` ('same' leaves padded cells out of the mean).

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.AveragePooling3D(3, 1, padding="same")(tf.ones([1, 4, 4, 4, 3])).shape
        TensorShape([1, 4, 4, 4, 3])
    """

    _base_name = "average_pooling3d"
    _pool = staticmethod(conv3d_ops.avg_pool3d)


def conv3d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1, 1), activation: Callable | None = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
           kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
           activity_regularizer: Callable | None = None, kernel_constraint: Any = None, bias_constraint: Any = None,
           trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    """A 3-D convolution layer: variables ``<name>/kernel`` ``[kd, kh, kw, in, filters]`` and ``<name>/bias``.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.conv3d(tf.ones([1, 8, 8, 8, 1]), 4, 3, activation=tf.nn.relu, name="c3")
        >>> y.shape, y.op.name
        (TensorShape([1, 6, 6, 6, 4]), 'c3/Relu')
    """
    layer = Conv3D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def conv3d_transpose(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                     data_format: str = "channels_last", activation: Callable | None = None, use_bias: bool = True,
                     kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                     kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                     activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                     bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                     reuse: Any = None) -> Tensor:
    """A transposed 3-D convolution layer: ``<name>/kernel`` ``[kd, kh, kw, filters, in]`` and ``<name>/bias``.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.conv3d_transpose(tf.ones([1, 3, 3, 3, 8]), 1, 3, strides=2, name="up")
        >>> y.shape, y.op.name
        (TensorShape([1, 7, 7, 7, 1]), 'up/BiasAdd')
    """
    layer = Conv3DTranspose(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                            trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def max_pooling3d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """3-D max pooling; ``pool_size`` and ``strides`` are an int or a (depth, height, width) triple.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.max_pooling3d(tf.ones([1, 8, 8, 8, 4]), pool_size=2, strides=2, name="pool")
        >>> y.shape, y.op.name
        (TensorShape([1, 4, 4, 4, 4]), 'pool/MaxPool3D')
    """
    return MaxPooling3D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


def average_pooling3d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """3-D average pooling; with 'same', padded cells are left out of the mean.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.average_pooling3d(tf.ones([1, 6, 6, 6, 1]), 3, 3).shape
        TensorShape([1, 2, 2, 2, 1])
    """
    return AveragePooling3D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)
