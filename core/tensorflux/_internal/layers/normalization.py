"""``tf.layers.batch_normalization`` and its class ``BatchNormalization``.

Training normalizes with the batch's moments and adds two ops to ``tf.GraphKeys.UPDATE_OPS`` that move
``moving_mean`` and ``moving_variance`` toward them (``moving -= (moving - batch) * (1 - momentum)``); inference
normalizes with the moving averages. As in TF 1.15, the "fused" form (4-D inputs normalized over axis 1 or 3,
the default there) feeds the moving variance the unbiased batch variance (times n / (n - 1)), the other form
the biased one. Both are composed of basic ops here; TF runs one FusedBatchNorm op for the first.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..graph import Tensor, get_default_graph
from ..initializers import ones_initializer, zeros_initializer
from ..ops import array_ops, math_ops, nn_impl
from ..shapes import TensorShape
from .base import Layer, refuse_constraint, static_training


class BatchNormalization(Layer):
    """Normalize over every axis but ``axis``, then scale by ``gamma`` and shift by ``beta``.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.BatchNormalization()
        >>> y = layer(tf.ones([4, 3]), training=True)
        >>> [v.name for v in layer.variables], len(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
        (['batch_normalization/gamma:0', 'batch_normalization/beta:0', 'batch_normalization/moving_mean:0', \
'batch_normalization/moving_variance:0'], 2)
    """

    _base_name = "batch_normalization"

    def __init__(self, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = zeros_initializer(),
                 gamma_initializer: Any = ones_initializer(), moving_mean_initializer: Any = zeros_initializer(),
                 moving_variance_initializer: Any = ones_initializer(), beta_regularizer: Callable | None = None,
                 gamma_regularizer: Callable | None = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                 renorm: bool = False, renorm_clipping: Any = None, renorm_momentum: float = 0.99,
                 fused: bool | None = None, trainable: bool = True, virtual_batch_size: int | None = None,
                 adjustment: Callable | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, **kwargs)
        refuse_constraint(beta_constraint, "beta_constraint", "BatchNormalization")
        refuse_constraint(gamma_constraint, "gamma_constraint", "BatchNormalization")
        for what, value, default in (("renorm", renorm, False), ("renorm_clipping", renorm_clipping, None),
                                     ("virtual_batch_size", virtual_batch_size, None), ("adjustment", adjustment, None)):
            if value != default:
                raise NotImplementedError(f"BatchNormalization: {what}={value!r} is not supported by Tensorflux; "
                                          f"leave it {default!r}")
        del renorm_momentum
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        self.momentum, self.epsilon = momentum, epsilon
        self.center, self.scale = center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.fused = fused
        self.gamma: Any = None
        self.beta: Any = None
        self.moving_mean: Any = None
        self.moving_variance: Any = None

    def build(self, input_shape: TensorShape) -> None:
        rank = input_shape.rank
        if rank is None:
            raise ValueError("Input has undefined rank: BatchNormalization needs the rank of its input")
        axes = sorted({a + rank if a < 0 else a for a in self.axis})
        if any(a < 0 or a >= rank for a in axes):
            raise ValueError(f"Invalid axis {self.axis} for an input of rank {rank}")
        for a in axes:
            if input_shape[a] is None:
                raise ValueError(f"Axis {a} of input tensor should have a defined dimension but the layer received "
                                 f"an input with shape {input_shape}.")
        fusable = rank == 4 and axes in ([1], [3])
        if self.fused and not fusable:
            raise ValueError(f"Unsupported axis {self.axis}: fused batch norm only supports 4-D inputs with axis 1 or "
                             f"3 (input shape {input_shape})")
        self.fused = fusable if self.fused is None else bool(self.fused)
        self._axes, self._rank = axes, rank
        if len(axes) == 1:
            param_shape = [input_shape[axes[0]]]
        else:
            param_shape = [input_shape[i] if i in axes else 1 for i in range(rank)]
        if self.scale:
            self.gamma = self.add_weight("gamma", param_shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", param_shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer)
        self.moving_mean = self.add_weight("moving_mean", param_shape, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", param_shape,
                                               initializer=self.moving_variance_initializer, trainable=False)

    def _broadcast(self, param: Any, inputs: Tensor) -> Any:
        """A ``[C]`` parameter reshaped to broadcast against ``inputs`` when its axis is not the last."""
        if param is None or len(self._axes) > 1 or self._axes[0] == self._rank - 1:
            return param
        shape = [1] * self._rank
        shape[self._axes[0]] = inputs.shape[self._axes[0]]
        return array_ops.reshape(param, shape)

    def _normalize(self, inputs: Tensor, mean: Any, variance: Any) -> Tensor:
        b = self._broadcast
        return nn_impl.batch_normalization(inputs, b(mean, inputs), b(variance, inputs), b(self.beta, inputs),
                                           b(self.gamma, inputs), self.epsilon)

    def call(self, inputs: Tensor, training: Any = False) -> Tensor:
        static = static_training(training)
        if static is False:
            return self._normalize(inputs, self.moving_mean, self.moving_variance)
        reduction_axes = [i for i in range(self._rank) if i not in self._axes]
        batch_mean, batch_variance = nn_impl.moments(inputs, reduction_axes, keep_dims=len(self._axes) > 1)
        flag = None if static else training
        mean = batch_mean if flag is None else array_ops.where(flag, batch_mean, self.moving_mean)
        variance = batch_variance if flag is None else array_ops.where(flag, batch_variance, self.moving_variance)
        outputs = self._normalize(inputs, mean, variance)
        moving_variance_target = self._bessel_corrected(batch_variance, inputs) if self.fused else batch_variance
        self.add_update(self._assign_moving_average(self.moving_mean, batch_mean, flag))
        self.add_update(self._assign_moving_average(self.moving_variance, moving_variance_target, flag))
        return outputs

    def _bessel_corrected(self, variance: Tensor, inputs: Tensor) -> Tensor:
        dims = inputs.shape.as_list()
        reduced = [d for i, d in enumerate(dims) if i not in self._axes]
        if all(d is not None for d in reduced):
            n = float(np.prod(reduced))
            return math_ops.multiply(variance, np.array(n / max(n - 1.0, 1.0), variance.dtype.np_dtype))
        size = math_ops.cast(array_ops.size(inputs), variance.dtype)
        n = math_ops.truediv(size, np.array(np.prod([dims[a] for a in self._axes]), variance.dtype.np_dtype))
        return math_ops.multiply(variance, math_ops.truediv(n, math_ops.maximum(math_ops.subtract(n, 1.0), 1.0)))

    def _assign_moving_average(self, variable: Any, value: Tensor, training: Any) -> Tensor:
        graph = get_default_graph()
        with graph.name_scope("AssignMovingAvg") as scope:
            decay = np.array(1.0 - self.momentum, variable.dtype.np_dtype)
            delta = math_ops.multiply(math_ops.subtract(variable, math_ops.cast(value, variable.dtype)), decay)
            if training is not None:
                # TF skips the update under tf.cond when training is False; a zero step leaves the average as is.
                delta = array_ops.where(training, delta, array_ops.zeros_like(delta))
            return variable.assign_sub(delta, name=scope)


def batch_normalization(inputs: Any, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, beta_initializer: Any = zeros_initializer(),
                        gamma_initializer: Any = ones_initializer(), moving_mean_initializer: Any = zeros_initializer(),
                        moving_variance_initializer: Any = ones_initializer(), beta_regularizer: Callable | None = None,
                        gamma_regularizer: Callable | None = None, beta_constraint: Any = None,
                        gamma_constraint: Any = None, training: Any = False, trainable: bool = True,
                        name: str | None = None, reuse: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                        renorm_momentum: float = 0.99, fused: bool | None = None,
                        virtual_batch_size: int | None = None, adjustment: Callable | None = None) -> Tensor:
    """Batch normalization; with ``training`` (a bool or a bool tensor) run ``tf.GraphKeys.UPDATE_OPS`` too.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.constant([[1.0], [3.0]])
        >>> y = tf.layers.batch_normalization(x, training=True, epsilon=0.0)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     sess.run([y, tf.get_collection(tf.GraphKeys.UPDATE_OPS)])[0]
        array([[-1.],
               [ 1.]], dtype=float32)
    """
    layer = BatchNormalization(
        axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale, beta_initializer=beta_initializer,
        gamma_initializer=gamma_initializer, moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer, beta_regularizer=beta_regularizer,
        gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
        renorm=renorm, renorm_clipping=renorm_clipping, renorm_momentum=renorm_momentum, fused=fused,
        trainable=trainable, virtual_batch_size=virtual_batch_size, adjustment=adjustment, name=name, _reuse=reuse)
    return layer(inputs, training=training)
