"""Fused batch normalization: ``FusedBatchNorm``, ``FusedBatchNormV2``, ``FusedBatchNormV3`` and their gradient ops.

``y = (x - mean) * rsqrt(variance + epsilon) * scale + offset`` per channel (the last axis for NHWC / NDHWC,
axis 1 for NCHW / NCDHW), as TensorFlow defines them:

- ``is_training=False`` (inference, what frozen graphs hold): ``mean`` and ``variance`` are the inputs; the
  ``batch_mean`` / ``batch_variance`` and reserve outputs pass them through.
- ``is_training=True``: the statistics are the batch's (biased variance for ``y``); ``batch_variance`` is the
  unbiased one (``n / (n - 1)``, 1 for a single element); with ``exponential_avg_factor`` f != 1 the outputs are
  the running averages ``(1 - f) * input + f * batch``. ``reserve_space_1/2`` hold the batch mean and biased
  variance the gradient op reads.

V1 types everything by ``T``; V2 and V3 type ``x`` and ``y`` by ``T`` and the per-channel tensors by ``U``;
V3 adds an empty ``reserve_space_3``. TensorFlow allows ``T`` in {half, bfloat16, float} and ``U`` = float;
float64 is allowed here as well, so gradients can be checked at float64 like every other op.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, convert_to_tensor, make_constant
from ..registry import AttrDef
from ..shapes import TensorShape
from . import math_ops
from .common import define, gradient
from .shape_ops import reshape

_T = (dt.float16, dt.bfloat16, dt.float32, dt.float64)
_U = (dt.float32, dt.float64)
_FORMATS_2D = ("NHWC", "NCHW")
_FORMATS = ("NHWC", "NCHW", "NDHWC", "NCDHW")
_MIN_EPSILON = 1.001e-5  # tf.nn.fused_batch_norm raises smaller epsilons to this (cuDNN's lower bound)


def _channel_axis(data_format: str) -> int:
    return 1 if data_format.startswith("NC") else len(data_format) - 1


def _channels(op: Any, x_index: int, per_channel: tuple) -> int | None:
    """The channel count from ``x`` (checking its rank) and the per-channel inputs (checking they agree)."""
    x = op.inputs[x_index].shape
    fmt = op.attrs["data_format"]
    if x.rank is not None and x.rank != len(fmt):
        raise ValueError(f"{op.type}: x must be {len(fmt)}-D ({fmt}), got shape {x}")
    found = x[_channel_axis(fmt)] if x.rank is not None else None
    for index, name in per_channel:
        shape = op.inputs[index].shape
        if shape.rank is None:
            continue
        if shape.rank != 1:
            raise ValueError(f"{op.type}: {name} must be 1-D, got shape {shape}")
        n = shape[0]
        if n is None or (n == 0 and name in ("mean", "variance") and op.attrs.get("is_training")):
            continue  # a training step may leave the running statistics empty
        if found is not None and n != found:
            raise ValueError(f"{op.type}: {name} has {n} entries but x has {found} channels ({fmt})")
        found = n if found is None else found
    return found


def _forward_shape(op: Any) -> list:
    c = _channels(op, 0, ((1, "scale"), (2, "offset"), (3, "mean"), (4, "variance")))
    per_channel = TensorShape([c])
    shapes = [op.inputs[0].shape, per_channel, per_channel, per_channel, per_channel]
    return shapes + [TensorShape([0])] if op.type == "FusedBatchNormV3" else shapes


def _grad_shape(op: Any) -> list:
    c = _channels(op, 1, ((2, "scale"),))
    return [op.inputs[1].shape, TensorShape([c]), TensorShape([c]), TensorShape([0]), TensorShape([0])]


def _attrs(formats: tuple, grad: bool = False) -> dict:
    attrs = {"epsilon": ("float", 1e-4), "data_format": AttrDef("data_format", "string", "NHWC", formats),
             "is_training": ("bool", True)}
    return attrs if grad else {**attrs, "exponential_avg_factor": ("float", 1.0)}


def _forward_args(u: str) -> tuple[list, list]:
    """(inputs, outputs) of a forward op whose per-channel tensors are typed ``u``."""
    inputs = ["x: T"] + [f"{name}: {u}" for name in ("scale", "offset", "mean", "variance")]
    stats = ("batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2")
    return inputs, ["y: T"] + [f"{name}: {u}" for name in stats]


def _grad_args(u: str, reserves: int) -> tuple[list, list]:
    """(inputs, outputs) of a gradient op reading ``reserves`` reserve spaces, per-channel tensors typed ``u``."""
    inputs = ["y_backprop: T", "x: T", f"scale: {u}"] + [f"reserve_space_{i}: {u}" for i in range(1, reserves + 1)]
    outputs = ["x_backprop: T", f"scale_backprop: {u}", f"offset_backprop: {u}"]
    return inputs, outputs + [f"reserve_space_{i}: {u}" for i in (reserves + 1, reserves + 2)]


_V1_TYPES = {"T": ("type", None, (dt.float32, dt.float64))}
_TYPES = {"T": ("type", None, _T), "U": ("type", None, _U)}
_V3_IN, _V3_OUT = _forward_args("U")
define("FusedBatchNorm", *_forward_args("T"), {**_V1_TYPES, **_attrs(_FORMATS_2D)}, shape=_forward_shape,
       doc="Batch normalization of a 4-D x with per-channel scale, offset, mean and variance (all typed T).")
define("FusedBatchNormV2", *_forward_args("U"), {**_TYPES, **_attrs(_FORMATS_2D)}, shape=_forward_shape,
       doc="FusedBatchNorm with the per-channel tensors typed U (float32) and x typed T.")
define("FusedBatchNormV3", _V3_IN, _V3_OUT + ["reserve_space_3: U"], {**_TYPES, **_attrs(_FORMATS)},
       shape=_forward_shape, doc="FusedBatchNormV2 with an empty reserve_space_3 output and 5-D formats.")
define("FusedBatchNormGrad", *_grad_args("T", 2), {**_V1_TYPES, **_attrs(_FORMATS_2D, True)}, shape=_grad_shape,
       doc="The gradients of FusedBatchNorm's y with respect to x, scale and offset.")
define("FusedBatchNormGradV2", *_grad_args("U", 2), {**_TYPES, **_attrs(_FORMATS_2D, True)}, shape=_grad_shape,
       doc="The gradients of FusedBatchNormV2's y with respect to x, scale and offset.")
define("FusedBatchNormGradV3", *_grad_args("U", 3), {**_TYPES, **_attrs(_FORMATS, True)}, shape=_grad_shape,
       doc="The gradients of FusedBatchNormV3's y with respect to x, scale and offset.")

_GRAD_OP = {"FusedBatchNorm": "FusedBatchNormGrad", "FusedBatchNormV2": "FusedBatchNormGradV2",
            "FusedBatchNormV3": "FusedBatchNormGradV3"}


@gradient("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _fused_batch_norm_grad(op: Any, grad_y: Tensor, *unused: Tensor) -> list:
    # As TF: only y's gradient flows back, and the running mean and variance get none, in either mode.
    x, scale = op.inputs[0], op.inputs[1]
    attrs = {k: op.attrs[k] for k in ("epsilon", "data_format", "is_training")}
    if attrs["is_training"]:
        stats = list(op.outputs[3:])  # the batch mean and biased variance (and V3's empty reserve)
    else:
        stats = [op.inputs[3], op.inputs[4]] + ([op.outputs[5]] if op.type == "FusedBatchNormV3" else [])
    dx, dscale, doffset = apply_op(_GRAD_OP[op.type], grad_y, x, scale, *stats, **attrs)[:3]
    return [dx, dscale, doffset, None, None]


@gradient("FusedBatchNormGrad", "FusedBatchNormGradV2", "FusedBatchNormGradV3")
def _fused_batch_norm_grad_grad(op: Any, grad_dx: Tensor, grad_dscale: Tensor, grad_doffset: Tensor,
                                *unused: Tensor) -> list:
    # The second derivative through the same formulas written with basic ops (statistics recomputed from x in
    # training mode, as the reserve spaces hold them), differentiated by tf.gradients, as TF does.
    from ..gradients import gradients

    dy, x, scale = op.inputs[:3]
    outputs = _grad_composed(dy, x, scale, op.inputs[3], op.inputs[4], op.attrs)
    found = gradients(list(outputs), [dy, x, scale], grad_ys=[grad_dx, grad_dscale, grad_doffset])
    return found + [None] * (len(op.inputs) - 3)


def _grad_composed(dy: Tensor, x: Tensor, scale: Tensor, mean: Tensor, variance: Tensor, attrs: dict) -> tuple:
    """(dx, dscale, doffset) of a fused batch norm from basic ops."""
    fmt = attrs["data_format"]
    rank, channel = len(fmt), _channel_axis(fmt)
    axes = [a for a in range(rank) if a != channel]
    shape = [1] * rank
    shape[channel] = -1
    u = scale.dtype
    dy_u, x_u = math_ops.cast(dy, u), math_ops.cast(x, u)

    def per_channel(t: Tensor) -> Tensor:
        return reshape(t, shape)

    if attrs["is_training"]:
        mean = math_ops.reduce_mean(x_u, axes, keepdims=True)
        variance = math_ops.reduce_mean(math_ops.square(math_ops.subtract(x_u, mean)), axes, keepdims=True)
    else:
        mean, variance = per_channel(mean), per_channel(variance)
    inv = math_ops.rsqrt(math_ops.add(variance, attrs["epsilon"]))
    x_hat = math_ops.multiply(math_ops.subtract(x_u, mean), inv)
    doffset = math_ops.reduce_sum(dy_u, axes)
    dscale = math_ops.reduce_sum(math_ops.multiply(dy_u, x_hat), axes)
    if attrs["is_training"]:
        centered = math_ops.subtract(dy_u, math_ops.reduce_mean(dy_u, axes, keepdims=True))
        spread = math_ops.multiply(x_hat, math_ops.reduce_mean(math_ops.multiply(dy_u, x_hat), axes, keepdims=True))
        dx = math_ops.multiply(math_ops.multiply(per_channel(scale), inv), math_ops.subtract(centered, spread))
    else:
        dx = math_ops.multiply(dy_u, math_ops.multiply(per_channel(scale), inv))
    return math_ops.cast(dx, x.dtype), dscale, doffset


# -- Python wrapper -----------------------------------------------------------------------------
def fused_batch_norm(x: Any, scale: Any, offset: Any, mean: Any = None, variance: Any = None, epsilon: float = 0.001,
                     data_format: str = "NHWC", is_training: bool = True, name: str | None = None,
                     exponential_avg_factor: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
    """Batch normalization as one ``FusedBatchNormV3`` op, as ``tf.nn.fused_batch_norm``: returns
    ``(y, mean, variance)``, the batch statistics in training (the unbiased variance) or the given ones.

    ``mean`` and ``variance`` are required for inference (``is_training=False``) and for running averages
    (``exponential_avg_factor != 1``); ``epsilon`` below 1.001e-5 is raised to it, as TF does.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> x = tf.constant(np.arange(8.0, dtype=np.float32).reshape(2, 2, 2, 1))
        >>> y, m, v = tf.nn.fused_batch_norm(x, [1.0], [0.0], epsilon=1e-3)
        >>> [a.round(3).tolist() for a in tf.Session().run([m, v])]
        [[3.5], [6.0]]
    """
    if (not is_training or exponential_avg_factor != 1.0) and (mean is None or variance is None):
        raise ValueError(f"fused_batch_norm: mean and variance must be 1-D tensors when is_training is False or "
                         f"exponential_avg_factor != 1.0 (is_training={is_training}, "
                         f"exponential_avg_factor={exponential_avg_factor})")
    x = convert_to_tensor(x, name="input")
    scale = convert_to_tensor(scale, name="scale")
    offset = convert_to_tensor(offset, name="offset")
    if mean is None or variance is None:  # only in training, which computes the batch's own
        empty = make_constant([], dtype=scale.dtype)
        mean = empty if mean is None else mean
        variance = empty if variance is None else variance
    y, batch_mean, batch_var = apply_op("FusedBatchNormV3", x, scale, offset, mean, variance,
                                        epsilon=max(float(epsilon), _MIN_EPSILON), data_format=data_format,
                                        is_training=bool(is_training),
                                        exponential_avg_factor=float(exponential_avg_factor),
                                        name=name or "FusedBatchNormV3")[:3]
    return y, batch_mean, batch_var
