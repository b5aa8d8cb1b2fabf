"""``tf.layers.max_pooling2d`` and ``average_pooling2d`` (and their 1-D forms) with their classes: pooling layers
have no variables."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..ops import array_ops, conv_ops
from .base import Layer, normalize_data_format, normalize_padding, pair, single


class _Pooling2D(Layer):
    _pool: Any = None

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = pair(strides, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        return type(self)._pool(inputs, ksize=list(self.pool_size), strides=list(self.strides), padding=self.padding,
                                data_format=self.data_format)


class MaxPooling2D(_Pooling2D):
    """Max over ``pool_size`` windows moved by ``strides``.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.MaxPooling2D(2, 2)(tf.ones([1, 4, 4, 3])).shape
        TensorShape([1, 2, 2, 3])
    """

    _base_name = "max_pooling2d"
    _pool = staticmethod(conv_ops.max_pool)


class AveragePooling2D(_Pooling2D):
    """Mean over ``pool_size`` windows moved by ``strides`` ('same' leaves padded cells out of the mean).

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.AveragePooling2D(2, 2)(tf.ones([1, 4, 4, 3])).shape
        TensorShape([1, 2, 2, 3])
    """

    _base_name = "average_pooling2d"
    _pool = staticmethod(conv_ops.avg_pool)


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """Max pooling; ``pool_size`` and ``strides`` are an int or a (height, width) pair.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.max_pooling2d(tf.ones([1, 28, 28, 32]), pool_size=2, strides=2)
        >>> y.shape, y.op.name
        (TensorShape([1, 14, 14, 32]), 'max_pooling2d/MaxPool')
    """
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """Average pooling; ``pool_size`` and ``strides`` are an int or a (height, width) pair.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.average_pooling2d(tf.ones([1, 6, 6, 1]), 3, 3).shape
        TensorShape([1, 2, 2, 1])
    """
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


class _Pooling1D(Layer):
    """As Keras: a size-1 width is inserted after the steps, the 2-D op pools ``(pool_size, 1)`` windows, and the
    inserted dimension is squeezed out again."""

    _pool: Any = None

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.pool_size = single(pool_size, "pool_size")
        self.strides = single(strides, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        pad_axis = 2 if self.data_format == "NHWC" else 3
        expanded = array_ops.expand_dims(inputs, pad_axis)
        pooled = type(self)._pool(expanded, ksize=[self.pool_size, 1], strides=[self.strides, 1], padding=self.padding,
                                  data_format=self.data_format)
        return array_ops.squeeze(pooled, [pad_axis])


class MaxPooling1D(_Pooling1D):
    """Max over ``pool_size`` steps of ``[batch, steps, channels]``, moved by ``strides``.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.MaxPooling1D(2, 2)(tf.ones([1, 6, 3])).shape
        TensorShape([1, 3, 3])
    """

    _base_name = "max_pooling1d"
    _pool = staticmethod(conv_ops.max_pool)


class AveragePooling1D(_Pooling1D):
    """Mean over ``pool_size`` steps of ``[batch, steps, channels]``, moved by ``strides``.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.AveragePooling1D(3, 1, padding="same")(tf.ones([1, 6, 3])).shape
        TensorShape([1, 6, 3])
    """

    _base_name = "average_pooling1d"
    _pool = staticmethod(conv_ops.avg_pool)


def max_pooling1d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """1-D max pooling; ``pool_size`` and ``strides`` are ints.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.max_pooling1d(tf.ones([2, 9, 4]), pool_size=2, strides=2)
        >>> y.shape, y.op.name
        (TensorShape([2, 4, 4]), 'max_pooling1d/Squeeze')
    """
    return MaxPooling1D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


def average_pooling1d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """1-D average pooling; with 'same', padded steps are left out of the mean.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.average_pooling1d(tf.ones([2, 9, 4]), 2, 1, padding="same").shape
        TensorShape([2, 9, 4])
    """
    return AveragePooling1D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)
