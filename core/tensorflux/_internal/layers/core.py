"""``tf.layers.dense``, ``dropout`` and ``flatten`` with their classes ``Dense``, ``Dropout``, ``Flatten``."""

from __future__ import annotations

import math
from typing import Any, Callable

from ..graph import Tensor
from ..initializers import zeros_initializer
from ..ops import array_ops, math_ops, nn_impl, nn_ops
from ..shapes import TensorShape
from .base import Layer, refuse_constraint, select_by_training


class Dense(Layer):
    """``outputs = activation(inputs @ kernel + bias)``; ``kernel`` is ``[in, units]``, glorot-uniform by default.

    Inputs of rank above 2 are multiplied along their last axis.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Dense(4, activation=tf.nn.relu)
        >>> layer(tf.ones([2, 3])).shape, layer.kernel.name
        (TensorShape([2, 4]), 'dense/kernel:0')
    """

    _base_name = "dense"

    def __init__(self, units: int, activation: Callable | None = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
                 kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
                 activity_regularizer: Callable | None = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        refuse_constraint(kernel_constraint, "kernel_constraint", "Dense")
        refuse_constraint(bias_constraint, "bias_constraint", "Dense")
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel: Any = None
        self.bias: Any = None

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.rank is None or input_shape.rank < 1 or input_shape[-1] is None:
            raise ValueError(f"The last dimension of the inputs to `Dense` should be defined. Found shape "
                             f"{input_shape}.")
        self.kernel = self.add_weight("kernel", [input_shape[-1], self.units], initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.units], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.dtype is not self.dtype:
            inputs = math_ops.cast(inputs, self.dtype)
        if inputs.shape.rank == 2:
            outputs = math_ops.matmul(inputs, self.kernel)
        else:
            outputs = _matmul_last_axis(inputs, self.kernel, self.units)
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


def _matmul_last_axis(inputs: Tensor, kernel: Any, units: int) -> Tensor:
    flat = array_ops.reshape(inputs, [-1, inputs.shape[-1]])
    product = math_ops.matmul(flat, kernel)
    dims = inputs.shape.as_list()
    if all(d is not None for d in dims[:-1]):
        return array_ops.reshape(product, dims[:-1] + [units])
    batch_dims = array_ops.shape(inputs)[:-1]
    out = array_ops.reshape(product, array_ops.concat([batch_dims, [units]], 0))
    out.set_shape(TensorShape(dims[:-1] + [units]))
    return out


def dense(inputs: Any, units: int, activation: Callable | None = None, use_bias: bool = True,
          kernel_initializer: Any = None, bias_initializer: Any = zeros_initializer(),
          kernel_regularizer: Callable | None = None, bias_regularizer: Callable | None = None,
          activity_regularizer: Callable | None = None, kernel_constraint: Any = None, bias_constraint: Any = None,
          trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    """A fully connected layer: variables ``<name>/kernel`` ``[in, units]`` and ``<name>/bias`` ``[units]``.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.layers.dense(tf.ones([2, 3]), 4)
        >>> y.shape, [v.name for v in tf.trainable_variables()]
        (TensorShape([2, 4]), ['dense/kernel:0', 'dense/bias:0'])
    """
    layer = Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                  kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, trainable=trainable,
                  name=name, _reuse=reuse)
    return layer(inputs)


class Dropout(Layer):
    """Zero each input with probability ``rate`` and scale the rest by ``1 / (1 - rate)``, when ``training``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.layers.Dropout(0.5)(tf.ones([3]), training=False))
        array([1., 1., 1.], dtype=float32)
    """

    _base_name = "dropout"

    def __init__(self, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def _noise_shape(self, inputs: Tensor) -> Any:
        if self.noise_shape is None or all(d is not None for d in self.noise_shape):
            return self.noise_shape
        dynamic = array_ops.shape(inputs)
        dims = [dynamic[i] if d is None else d for i, d in enumerate(self.noise_shape)]
        return array_ops.stack(dims)

    def call(self, inputs: Tensor, training: Any = False) -> Tensor:
        return select_by_training(
            training,
            lambda: nn_impl.dropout(inputs, noise_shape=self._noise_shape(inputs), seed=self.seed, rate=self.rate),
            lambda: array_ops.identity(inputs))


def dropout(inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None, training: Any = False,
            name: str | None = None) -> Tensor:
    """Dropout that is on only while ``training`` (a Python bool or a bool tensor); ``rate`` is the drop rate.

    Example:
        >>> import tensorflux as tf
        >>> is_training = tf.placeholder_with_default(False, [])
        >>> y = tf.layers.dropout(tf.ones([4]), rate=0.25, training=is_training)
        >>> tf.Session().run(y)
        array([1., 1., 1., 1.], dtype=float32)
    """
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)(inputs, training=training)


class Flatten(Layer):
    """Reshape ``[batch, ...]`` to ``[batch, n]``; ``channels_first`` inputs are first moved to channels-last order.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.Flatten()(tf.ones([2, 3, 4])).shape
        TensorShape([2, 12])
    """

    _base_name = "flatten"

    def __init__(self, data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        fmt = (data_format or "channels_last").lower()
        if fmt not in ("channels_last", "channels_first"):
            raise ValueError(f'The `data_format` argument must be one of "channels_first", "channels_last". '
                             f"Received: {data_format!r}")
        self.data_format = fmt

    def call(self, inputs: Tensor) -> Tensor:
        rank = inputs.shape.rank
        if rank is None:
            raise ValueError(f"Flatten: the rank of '{inputs.name}' must be known")
        if self.data_format == "channels_first" and rank > 2:
            inputs = array_ops.transpose(inputs, [0, *range(2, rank), 1])
        if rank == 1:
            return array_ops.expand_dims(inputs, 1)
        dims = inputs.shape.as_list()
        if all(d is not None for d in dims[1:]):
            return array_ops.reshape(inputs, [dims[0] if dims[0] is not None else -1, math.prod(dims[1:])])
        return array_ops.reshape(inputs, array_ops.stack([array_ops.shape(inputs)[0], -1]))


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Tensor:
    """``[batch, d1, d2, ...]`` to ``[batch, d1 * d2 * ...]``.

    Example:
        >>> import tensorflux as tf
        >>> tf.layers.flatten(tf.ones([5, 4, 4, 3])).shape
        TensorShape([5, 48])
    """
    return Flatten(data_format=data_format, name=name)(inputs)
