"""Clipping: ``clip_by_value``, ``clip_by_norm``, ``global_norm`` and ``clip_by_global_norm``, from core ops.

Gradients come from the ops they are built of; as in TF 1.15, ``clip_by_norm`` routes a zero norm through two
``where`` taps so its gradient stays finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .graph import Tensor, get_default_graph
from .op_builder import convert_to_tensor
from .ops import array_ops, math_ops, nn_ops


def _check_no_broadcast(values: Tensor, result: Tensor, fn: str) -> None:
    if not values.shape.is_compatible_with(result.shape):
        raise ValueError(f"{fn}: clipping '{values.name}' of shape {values.shape} broadcast it to {result.shape}; "
                         "the clip values must broadcast to the tensor's shape")


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None) -> Tensor:
    """Clamp every element of ``t`` into ``[clip_value_min, clip_value_max]``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.clip_by_value([-2.0, 0.5, 3.0], -1.0, 1.0))
        array([-1. ,  0.5,  1. ], dtype=float32)
    """
    with get_default_graph().name_scope(name or "clip_by_value") as scope:
        values = convert_to_tensor(t, name="t")
        upper = math_ops.minimum(values, clip_value_max)
        clipped = math_ops.maximum(upper, clip_value_min, name=scope)
    _check_no_broadcast(values, clipped, "clip_by_value")
    return clipped


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> Any:
    """Scale ``t`` so that its L2 norm (over ``axes``, default all) is at most ``clip_norm``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.clip_by_norm([3.0, 4.0], 1.0))
        array([0.6, 0.8], dtype=float32)
    """
    with get_default_graph().name_scope(name or "clip_by_norm") as scope:
        sparse = hasattr(t, "indices") and hasattr(t, "values")  # IndexedSlices clip their values, as in TF
        values = convert_to_tensor(t.values if sparse else t, name="t")
        squared_sum = math_ops.reduce_sum(math_ops.multiply(values, values), axes, keepdims=True)
        positive = math_ops.greater(squared_sum, 0.0)
        # sqrt's gradient at zero is infinite; the where taps keep it out of the backward pass.
        safe = array_ops.where(positive, squared_sum, array_ops.ones_like(squared_sum))
        norm = array_ops.where(positive, math_ops.sqrt(safe), squared_sum)
        scaled = math_ops.multiply(values, clip_norm)
        _check_no_broadcast(values, scaled, "clip_by_norm")
        clip = convert_to_tensor(clip_norm, dtype=values.dtype)
        out = array_ops.identity(math_ops.truediv(scaled, math_ops.maximum(norm, clip)), name=scope)
        return type(t)(out, t.indices, t.dense_shape) if sparse else out


def _as_list(t_list: Any, fn: str) -> list:
    if isinstance(t_list, (str, bytes, Tensor)) or not isinstance(t_list, Sequence):
        raise TypeError(f"{fn}: t_list should be a sequence of tensors, got {type(t_list).__name__}")
    return list(t_list)


def _dense(t: Any, name: str) -> Tensor | None:
    if t is None:
        return None
    # IndexedSlices-like gradients clip through their values, as in TF.
    return convert_to_tensor(getattr(t, "values", t) if hasattr(t, "indices") else t, name=name)


def global_norm(t_list: Any, name: str | None = None) -> Tensor:
    """``sqrt(sum(l2norm(t)**2 for t in t_list))``; None entries are ignored.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.global_norm([tf.constant([3.0]), None, tf.constant([4.0])])))
        5.0
    """
    t_list = _as_list(t_list, "global_norm")
    with get_default_graph().name_scope(name or "global_norm"):
        values = [_dense(t, f"t_{i}") for i, t in enumerate(t_list)]
        half_squared = [nn_ops.l2_loss(v) for v in values if v is not None]
        if not half_squared:
            raise ValueError("global_norm: every entry of t_list is None; there is nothing to take the norm of")
        total = math_ops.reduce_sum(array_ops.stack(half_squared))
        two = convert_to_tensor(2.0, dtype=total.dtype)
        return math_ops.sqrt(math_ops.multiply(total, two), name="global_norm")


def clip_by_global_norm(t_list: Any, clip_norm: Any, use_norm: Any = None,
                        name: str | None = None) -> tuple[list, Tensor]:
    """Scale every tensor by ``clip_norm / max(global_norm, clip_norm)``; returns ``(clipped_list, global_norm)``.

    None entries stay None; a non-finite norm makes every result NaN, as in TF.

    Example:
        >>> import tensorflux as tf
        >>> clipped, norm = tf.clip_by_global_norm([tf.constant([3.0]), None, tf.constant([4.0])], 1.0)
        >>> tf.Session().run(clipped[0]), float(tf.Session().run(norm)), clipped[1]
        (array([0.6], dtype=float32), 5.0, None)
    """
    t_list = _as_list(t_list, "clip_by_global_norm")
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    use_norm = convert_to_tensor(use_norm)
    with get_default_graph().name_scope(name or "clip_by_global_norm") as scope:
        one = convert_to_tensor(1.0, dtype=use_norm.dtype)
        clip = convert_to_tensor(clip_norm, dtype=use_norm.dtype)
        scale = math_ops.multiply(clip, math_ops.minimum(math_ops.truediv(one, use_norm), math_ops.truediv(one, clip)))
        # use_norm - use_norm is 0 for a finite norm and NaN otherwise, poisoning the scale on purpose.
        scale = math_ops.add(scale, math_ops.subtract(use_norm, use_norm))
        clipped = []
        for i, t in enumerate(t_list):
            value = _dense(t, f"t_{i}")
            if value is None:
                clipped.append(None)
                continue
            out = array_ops.identity(math_ops.multiply(value, math_ops.cast(scale, value.dtype)),
                                     name=f"{scope[:-1]}_{i}")
            clipped.append(type(t)(out, t.indices, t.dense_shape) if hasattr(t, "indices") else out)
    return clipped, use_norm
