"""Fused batch normalization reference kernels over an array namespace ``xp`` (the array API standard, 2023.12).

The per-channel tensors are typed ``U`` (scale's dtype), ``x`` and ``y`` ``T``; everything is computed in ``U``
(float32 for float16 / bfloat16 inputs) and ``y`` rounded back once. Inference computes
``y = x * k + (offset - mean * k)`` with ``k = scale * rsqrt(variance + epsilon)``, as TensorFlow's CPU kernel.
"""

from __future__ import annotations

from typing import Any, Callable

from .nn_support import bind, cast_like

_NCHW_LIKE = ("NCHW", "NCDHW")


def _layout(x: Any, data_format: str) -> tuple[tuple, tuple, int]:
    """(reduction axes, per-channel broadcast shape, channel count) of ``x`` in ``data_format``."""
    if len(x.shape) != len(data_format):
        raise ValueError(f"FusedBatchNorm: x must be {len(data_format)}-D ({data_format}), got shape {list(x.shape)}")
    channel = 1 if data_format in _NCHW_LIKE else len(data_format) - 1
    shape = [1] * len(data_format)
    shape[channel] = x.shape[channel]
    return tuple(a for a in range(len(data_format)) if a != channel), tuple(shape), x.shape[channel]


def _check_channels(c: int, **vectors: Any) -> None:
    for name, v in vectors.items():
        if tuple(v.shape) != (c,):
            raise ValueError(f"FusedBatchNorm: {name} must have shape [{c}] (one entry per channel of x), got "
                             f"{list(v.shape)}")


def fused_batch_norm(xp: Any, x: Any, scale: Any, offset: Any, mean: Any, variance: Any, *, epsilon: float,
                     exponential_avg_factor: float, data_format: str, is_training: bool) -> tuple:
    """FusedBatchNorm / V2 / V3: (y, batch_mean, batch_variance, reserve_space_1, reserve_space_2)."""
    axes, shape, c = _layout(x, data_format)
    _check_channels(c, scale=scale, offset=offset)
    u = scale.dtype
    xu = xp.astype(x, u) if x.dtype != u else x
    if is_training:
        count = 1
        for a in axes:
            count *= x.shape[a]
        batch_mean = xp.mean(xu, axis=axes)
        centered = xu - xp.reshape(batch_mean, shape)
        batch_var = xp.mean(centered * centered, axis=axes)
        y = centered * xp.reshape((1 / xp.sqrt(batch_var + epsilon)) * scale, shape) + xp.reshape(offset, shape)
        unbiased = batch_var * (count / max(count - 1, 1))
        out_mean, out_var = batch_mean, unbiased
        if exponential_avg_factor != 1.0:
            _check_channels(c, mean=mean, variance=variance)
            keep = 1.0 - exponential_avg_factor
            out_mean = keep * mean + exponential_avg_factor * batch_mean
            out_var = keep * variance + exponential_avg_factor * unbiased
        return cast_like(xp, y, x), out_mean, out_var, batch_mean, batch_var
    _check_channels(c, mean=mean, variance=variance)
    k = scale / xp.sqrt(variance + epsilon)
    y = xu * xp.reshape(k, shape) + xp.reshape(offset - mean * k, shape)
    return cast_like(xp, y, x), mean, variance, mean, variance


def fused_batch_norm_v3(xp: Any, x: Any, scale: Any, offset: Any, mean: Any, variance: Any, *, epsilon: float,
                        exponential_avg_factor: float, data_format: str, is_training: bool) -> tuple:
    """FusedBatchNormV3: FusedBatchNorm's outputs and an empty reserve_space_3."""
    outs = fused_batch_norm(xp, x, scale, offset, mean, variance, epsilon=epsilon,
                            exponential_avg_factor=exponential_avg_factor, data_format=data_format,
                            is_training=is_training)
    return (*outs, xp.zeros((0,), dtype=scale.dtype, device=scale.device))


def fused_batch_norm_grad(xp: Any, dy: Any, x: Any, scale: Any, reserve_space_1: Any, reserve_space_2: Any, *,
                          epsilon: float, data_format: str, is_training: bool) -> tuple:
    """FusedBatchNormGrad / V2 / V3: (x_backprop, scale_backprop, offset_backprop, empty, empty).

    ``reserve_space_1/2`` are the mean and variance the forward op normalized with: the batch's (biased
    variance) in training, the given ones in inference.
    """
    axes, shape, c = _layout(x, data_format)
    _check_channels(c, scale=scale, reserve_space_1=reserve_space_1, reserve_space_2=reserve_space_2)
    u = scale.dtype
    xu = xp.astype(x, u) if x.dtype != u else x
    du = xp.astype(dy, u) if dy.dtype != u else dy
    inv = 1 / xp.sqrt(reserve_space_2 + epsilon)
    x_hat = (xu - xp.reshape(reserve_space_1, shape)) * xp.reshape(inv, shape)
    d_offset = xp.sum(du, axis=axes)
    d_scale = xp.sum(du * x_hat, axis=axes)
    if is_training:
        count = 1
        for a in axes:
            count *= x.shape[a]
        count = max(count, 1)
        spread = du - xp.reshape(d_offset / count, shape) - x_hat * xp.reshape(d_scale / count, shape)
        dx = xp.reshape(scale * inv, shape) * spread
    else:
        dx = du * xp.reshape(scale * inv, shape)
    empty = xp.zeros((0,), dtype=u, device=scale.device)
    return cast_like(xp, dx, x), d_scale, d_offset, empty, empty


def fused_batch_norm_grad_v3(xp: Any, dy: Any, x: Any, scale: Any, reserve_space_1: Any, reserve_space_2: Any,
                             reserve_space_3: Any, *, epsilon: float, data_format: str, is_training: bool) -> tuple:
    """FusedBatchNormGradV3: FusedBatchNormGrad, with V3's (empty, unread) reserve_space_3 input."""
    return fused_batch_norm_grad(xp, dy, x, scale, reserve_space_1, reserve_space_2, epsilon=epsilon,
                                 data_format=data_format, is_training=is_training)


_KERNELS = {
    "FusedBatchNorm": fused_batch_norm, "FusedBatchNormV2": fused_batch_norm, "FusedBatchNormV3": fused_batch_norm_v3,
    "FusedBatchNormGrad": fused_batch_norm_grad, "FusedBatchNormGradV2": fused_batch_norm_grad,
    "FusedBatchNormGradV3": fused_batch_norm_grad_v3,
}


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the fused batch-norm ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4.0).reshape(1, 2, 2, 1)
        >>> one, zero = np.ones(1), np.zeros(1)
        >>> y = kernels(np)["FusedBatchNorm"](x, one, zero, zero, one, epsilon=0.0, exponential_avg_factor=1.0,
        ...                                   data_format="NHWC", is_training=False)[0]
        >>> y.ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    return {op: bind(xp, fn) for op, fn in _KERNELS.items()}
