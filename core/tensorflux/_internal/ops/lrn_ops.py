"""Local response normalization (``LRN``, AlexNet's), and its gradient op ``LRNGrad``, as TF 1.x.

Along the last dimension: ``output = input / (bias + alpha * sqr_sum) ** beta``, where ``sqr_sum`` sums the squares
of the inputs within ``depth_radius`` channels of each one.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op
from ..shapes import TensorShape
from .common import define, gradient

LRN_T = (dt.float16, dt.bfloat16, dt.float32)
LRN_ATTRS = {"depth_radius": ("int", 5), "bias": ("float", 1.0), "alpha": ("float", 1.0), "beta": ("float", 0.5)}


def _lrn_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    for t in op.inputs[1:]:
        shape = shape.merge_with(t.shape) if shape.is_compatible_with(t.shape) else None
        if shape is None:
            raise ValueError(f"{op.type} '{op.name}': inputs must have one shape, got "
                             f"{[str(x.shape) for x in op.inputs]}")
    if shape.rank not in (None, 4):
        raise ValueError(f"{op.type} '{op.name}': input must be 4-D, got shape {shape}")
    return shape


define("LRN", ["input: T"], ["output: T"], {**LRN_ATTRS, "T": ("type", "float32", LRN_T)}, shape=_lrn_shape)
define("LRNGrad", ["input_grads: T", "input_image: T", "output_image: T"], ["output: T"],
       {**LRN_ATTRS, "T": ("type", "float32", LRN_T)}, shape=_lrn_shape)


@gradient("LRN")
def _lrn_grad(op: Any, grad: Tensor) -> list:
    attrs = {name: op.attrs[name] for name in LRN_ATTRS}
    return [apply_op("LRNGrad", grad, op.inputs[0], op.outputs[0], **attrs)[0]]


def local_response_normalization(input: Any, depth_radius: int = 5, bias: float = 1.0,  # noqa: A002 - TF's name
                                 alpha: float = 1.0, beta: float = 0.5, name: str | None = None) -> Tensor:
    """Normalize each element of a 4-D ``input`` by the squares of its neighbours along the last dimension.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.lrn([[[[1.0, 1.0]]]], depth_radius=1, bias=1.0, alpha=1.0, beta=1.0))
        array([[[[0.33333334, 0.33333334]]]], dtype=float32)
    """
    return apply_op("LRN", input, depth_radius=int(depth_radius), bias=float(bias), alpha=float(alpha),
                    beta=float(beta), name=name or "LRN")[0]


lrn = local_response_normalization
