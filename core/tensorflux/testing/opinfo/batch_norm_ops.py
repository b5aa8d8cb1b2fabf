"""Op-info entries of the fused batch-norm ops (``FusedBatchNorm``, V2, V3) and their gradient ops.

Each case builds the op from ``x`` (or ``dy`` and ``x``), ``scale`` and ``offset``; the running mean and variance
are constants fixed by the channel count (inference and running averages need them), so the gradient checks
differentiate only what TensorFlow's gradients cover. ``scale`` and ``offset`` are cast to float32 (float64 for a
float64 ``x``), the per-channel type ``U`` of V2 and V3. The references are the textbook formulas in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import FLOATING, OpInfo
from .nn_ops import _op

EPSILON = 1e-3
_GRAD_OP = {"FusedBatchNorm": "FusedBatchNormGrad", "FusedBatchNormV2": "FusedBatchNormGradV2",
            "FusedBatchNormV3": "FusedBatchNormGradV3"}


def running_stats(channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The (mean, variance) inputs of a case with ``channels`` channels: spread values, positive variances.

    Example:
        >>> [v.tolist() for v in running_stats(2)]
        [[-0.5, 0.5], [0.5, 2.0]]
    """
    return np.linspace(-0.5, 0.5, channels), np.linspace(0.5, 2.0, channels)


def _channel_axis(data_format: str) -> int:
    return 1 if data_format.startswith("NC") else len(data_format) - 1


def _u(x: Any, op: str) -> Any:
    """The per-channel dtype of a case: x's for V1 and for float64, else float32."""
    return x.dtype if op == "FusedBatchNorm" or x.dtype is tf.float64 else tf.float32


def _stats(x: Any, op: str, data_format: str) -> tuple:
    mean, variance = running_stats(x.shape.as_list()[_channel_axis(data_format)])
    return tf.constant(mean, dtype=_u(x, op)), tf.constant(variance, dtype=_u(x, op))


def _forward(x: Any, scale: Any, offset: Any, op: str, data_format: str = "NHWC", is_training: bool = False,
             exponential_avg_factor: float = 1.0) -> Any:
    """The op's y, batch mean and batch variance (its reserve outputs are the gradient op's business)."""
    u = _u(x, op)
    mean, variance = _stats(x, op, data_format)
    if is_training and exponential_avg_factor == 1.0:
        mean = variance = tf.constant([], dtype=u)
    outs = _op(op, x, tf.cast(scale, u), tf.cast(offset, u), mean, variance, epsilon=EPSILON,
               data_format=data_format, is_training=is_training, exponential_avg_factor=exponential_avg_factor)
    return outs[:3]


def _moments(x: np.ndarray, data_format: str) -> tuple:
    axis = _channel_axis(data_format)
    axes = tuple(a for a in range(x.ndim) if a != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    return axes, shape


def np_forward(x: np.ndarray, scale: np.ndarray, offset: np.ndarray, op: str, data_format: str = "NHWC",
               is_training: bool = False, exponential_avg_factor: float = 1.0) -> list:
    """The reference of ``_forward``: [y, batch mean, batch variance] in float64.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4.0).reshape(1, 2, 2, 1)
        >>> [v.ravel().tolist() for v in np_forward(x, np.ones(1), np.zeros(1), "FusedBatchNormV3",
        ...                                           is_training=True)[1:]]
        [[1.5], [1.6666666666666667]]
    """
    axes, shape = _moments(x, data_format)
    mean, variance = running_stats(x.shape[_channel_axis(data_format)])
    if is_training:
        batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
        n = x.size // batch_mean.size
        unbiased = batch_var * n / max(n - 1, 1)
        y = (x - batch_mean.reshape(shape)) / np.sqrt(batch_var.reshape(shape) + EPSILON)
        f = exponential_avg_factor
        out_mean, out_var = (1 - f) * mean + f * batch_mean, (1 - f) * variance + f * unbiased
        if f == 1.0:
            out_mean, out_var = batch_mean, unbiased
    else:
        y = (x - mean.reshape(shape)) / np.sqrt(variance.reshape(shape) + EPSILON)
        out_mean, out_var = mean, variance
    return [y * scale.reshape(shape) + offset.reshape(shape), out_mean, out_var]


def _backward(dy: Any, x: Any, scale: Any, op: str, data_format: str = "NHWC", is_training: bool = False) -> Any:
    """The gradient op of ``op`` fed as the forward op's gradient feeds it: [dx, dscale, doffset]."""
    u = _u(x, op)
    scale_u = tf.cast(scale, u)
    if is_training:
        empty = tf.constant([], dtype=u)
        forward = _op(op, x, scale_u, tf.zeros_like(scale_u), empty, empty, epsilon=EPSILON, data_format=data_format,
                      is_training=True)
        stats = forward[3:]
    else:
        stats = list(_stats(x, op, data_format)) + ([tf.constant([], dtype=u)] if op == "FusedBatchNormV3" else [])
    return _op(_GRAD_OP[op], dy, x, scale_u, *stats, epsilon=EPSILON, data_format=data_format,
               is_training=is_training)[:3]


def np_backward(dy: np.ndarray, x: np.ndarray, scale: np.ndarray, op: str, data_format: str = "NHWC",
                is_training: bool = False) -> list:
    """The reference of ``_backward``: the derivatives of ``sum(dy * y)`` by x, scale and offset, in float64.

    Example:
        >>> import numpy as np
        >>> dy, x = np.ones((1, 1, 2, 1)), np.array([0.0, 2.0]).reshape(1, 1, 2, 1)
        >>> [v.ravel().tolist() for v in np_backward(dy, x, np.ones(1), "FusedBatchNormV3", is_training=True)]
        [[0.0, 0.0], [0.0], [2.0]]
    """
    axes, shape = _moments(x, data_format)
    if is_training:
        mean, variance = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, variance = running_stats(x.shape[_channel_axis(data_format)])
    inv = 1 / np.sqrt(variance + EPSILON)
    x_hat = (x - mean.reshape(shape)) * inv.reshape(shape)
    d_offset, d_scale = dy.sum(axis=axes), (dy * x_hat).sum(axis=axes)
    k = (scale * inv).reshape(shape)
    if is_training:
        n = x.size // mean.size
        dx = k * (dy - d_offset.reshape(shape) / n - x_hat * d_scale.reshape(shape) / n)
    else:
        dx = k * dy
    return [dx, d_scale, d_offset]


_X, _C = (2, 3, 4, 3), (3,)
_X_NCHW = (2, 3, 2, 4)
_X_5D = (2, 2, 3, 2, 3)
_V1_DTYPES = (tf.float32, tf.float64)  # FusedBatchNorm types everything by T, which TF limits to float32
_DOMAINS = ("any", "one-two", "any")


def _entries(op: str, dtypes: tuple, every_layout: bool) -> list:
    """The entries of ``op`` and its gradient op: both modes on NHWC, and with ``every_layout`` NCHW, a single
    pixel and running averages too (V3; V1 and V2 share its kernels)."""
    grad = _GRAD_OP[op]
    modes = [{"op": op, "is_training": t} for t in (False, True)]
    infos = [OpInfo(op, _forward, np_forward, dtypes=dtypes, shapes=[(_X, _C, _C)], domain=_DOMAINS, attrs=modes),
             OpInfo(grad, _backward, np_backward, dtypes=dtypes, shapes=[(_X, _X, _C)], domain=_DOMAINS, attrs=modes)]
    if not every_layout:
        return infos
    nchw = [{**m, "data_format": "NCHW"} for m in modes]
    return infos + [
        OpInfo(op, _forward, np_forward, dtypes=dtypes, shapes=[((1, 1, 1, 3), _C, _C)], domain=_DOMAINS,
               variant="one pixel", attrs=modes),
        OpInfo(op, _forward, np_forward, dtypes=dtypes, shapes=[(_X_NCHW, _C, _C)], domain=_DOMAINS, variant="NCHW",
               attrs=nchw),
        OpInfo(op, _forward, np_forward, dtypes=dtypes, shapes=[(_X, _C, _C)], domain=_DOMAINS,
               variant="running average", attrs=[{"op": op, "is_training": True, "exponential_avg_factor": 0.25}]),
        OpInfo(op, _forward, np_forward, dtypes=dtypes, shapes=[(_X_5D, _C, _C)], domain=_DOMAINS, variant="NDHWC",
               attrs=[{**m, "data_format": "NDHWC"} for m in modes]),
        OpInfo(grad, _backward, np_backward, dtypes=dtypes, shapes=[(_X_NCHW, _X_NCHW, _C)], domain=_DOMAINS,
               variant="NCHW", attrs=nchw),
    ]


INFOS = (_entries("FusedBatchNorm", _V1_DTYPES, False) + _entries("FusedBatchNormV2", FLOATING, False)
         + _entries("FusedBatchNormV3", FLOATING, True))

__all__ = ["EPSILON", "INFOS", "np_backward", "np_forward", "running_stats"]
