"""``tf.layers.max_pooling2d`` and ``average_pooling2d`` with their classes: pooling layers have no variables."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor
from ..ops import conv_ops
from .base import Layer, normalize_data_format, normalize_padding, pair


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
