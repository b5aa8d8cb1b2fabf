"""The Swish op, defined once: signature, shape function and gradient together."""

from __future__ import annotations

from typing import Any

import tensorflux as tf
from tensorflux.extend import OpDef, apply_op


def _swish_gradient(op: Any, dy: Any) -> list:
    # d/dx x*s(x) = s + x*s*(1-s), built from core ops so every device can differentiate it.
    x = op.inputs[0]
    s = tf.nn.sigmoid(x)
    return [dy * (s + x * s * (1 - s))]


SWISH = OpDef(
    "Swish",
    inputs=["x: T"],
    outputs=["y: T"],
    attrs={"T": ("type", None, (tf.float16, tf.float32, tf.float64))},
    shape_fn=lambda op: [op.inputs[0].shape],
    grad=_swish_gradient,
    doc="x * sigmoid(x)",
)


def swish(x: Any, name: str | None = None) -> tf.Tensor:
    """The Swish activation, ``x * sigmoid(x)``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(swish([0.0]))
        array([0.], dtype=float32)
    """
    return apply_op("Swish", x, name=name)[0]
