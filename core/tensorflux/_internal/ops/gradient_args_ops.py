"""``BroadcastGradientArgs``, which TF's gradient graphs use to reduce a broadcast operand's gradient.

TF writes ``Reshape(Sum(dz, r0), shape(x))`` for the gradient of a broadcasting binary op whose shapes are known
only when it runs; ``r0`` and ``r1`` come from this op. Our own gradients compute the same from the shapes
(``grad_util``); the op exists so that a training graph TF wrote runs here. Its kernel is host work
(``tf_graph_kernels.py``): shapes live on the host.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..shapes import TensorShape
from .common import define, not_differentiable


def _vector(op: Any) -> list:
    return [TensorShape([None]), TensorShape([None])]


define("BroadcastGradientArgs", ["s0: T", "s1: T"], ["r0: T", "r1: T"], {"T": ("type", dt.int32, (dt.int32, dt.int64))},
       shape=_vector, doc="The axes along which each operand's gradient sums, for shapes s0 and s1 broadcast together.")
not_differentiable("BroadcastGradientArgs")
