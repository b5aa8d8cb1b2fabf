"""The Swish op, defined once: signature, shape function and gradient together, as core defines its own."""

from __future__ import annotations

from typing import Any

import tensorflux as tf
from tensorflux.extend import OpFamily, apply_op

OPS = OpFamily()

SWISH = OPS.define(
    "Swish",
    inputs=["x: T"],
    outputs=["y: T"],
    attrs={"T": ("type", None, (tf.float16, tf.float32, tf.float64))},
    shape=lambda op: [op.inputs[0].shape],
    doc="x * sigmoid(x)",
)


@OPS.gradient("Swish")
def _swish_gradient(op: Any, dy: Any) -> list:
    # d/dx x*s(x) = s + x*s*(1-s), built from core ops so every device can differentiate it.
    x = op.inputs[0]
    s = tf.nn.sigmoid(x)
    return [dy * (s + x * s * (1 - s))]


def swish(x: Any, name: str | None = None) -> tf.Tensor:
    """The Swish activation, ``x * sigmoid(x)``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(swish([0.0]))
        array([0.], dtype=float32)
    """
    return apply_op("Swish", x, name=name)[0]
