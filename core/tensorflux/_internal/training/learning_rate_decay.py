"""Learning-rate schedules computed in the graph from the global step."""

from __future__ import annotations

from typing import Any

from ..graph import Tensor, get_default_graph
from ..op_builder import convert_to_tensor
from ..ops import math_ops


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any, staircase: bool = False,
                      name: str | None = None) -> Tensor:
    """``learning_rate * decay_rate ** (global_step / decay_steps)``; with ``staircase`` the exponent is floored.

    Example:
        >>> import tensorflux as tf
        >>> step = tf.train.get_or_create_global_step()
        >>> lr = tf.train.exponential_decay(0.1, step, decay_steps=100, decay_rate=0.5)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     round(float(sess.run(lr)), 6)
        0.1
    """
    if global_step is None:
        raise ValueError("exponential_decay needs a global_step (see tf.train.get_or_create_global_step)")
    with get_default_graph().name_scope(name or "ExponentialDecay") as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        if not lr.dtype.is_floating:
            raise TypeError(f"exponential_decay: learning_rate '{lr.name}' must be floating-point, got {lr.dtype.name}")
        dtype = lr.dtype
        step = math_ops.cast(global_step, dtype)
        exponent = math_ops.divide(step, _as(decay_steps, dtype))
        if staircase:
            exponent = math_ops.floor(exponent)
        return math_ops.multiply(lr, math_ops.pow(_as(decay_rate, dtype), exponent), name=scope)


def inverse_time_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any, staircase: bool = False,
                       name: str | None = None) -> Tensor:
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)``; with ``staircase`` the ratio is floored.

    Example:
        >>> import tensorflux as tf
        >>> step = tf.train.get_or_create_global_step()
        >>> tf.train.inverse_time_decay(0.1, step, 10, 0.5).dtype
        tf.float32
    """
    if global_step is None:
        raise ValueError("inverse_time_decay needs a global_step (see tf.train.get_or_create_global_step)")
    with get_default_graph().name_scope(name or "InverseTimeDecay") as scope:
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        ratio = math_ops.divide(math_ops.cast(global_step, dtype), _as(decay_steps, dtype))
        if staircase:
            ratio = math_ops.floor(ratio)
        denom = math_ops.add(1.0, math_ops.multiply(_as(decay_rate, dtype), ratio))
        return math_ops.divide(lr, denom, name=scope)


def _as(value: Any, dtype: Any) -> Tensor:
    return math_ops.cast(value, dtype) if isinstance(value, Tensor) or hasattr(value, "_as_tensor") else \
        convert_to_tensor(value, dtype=dtype)
