"""Neural-network reference kernels over an array namespace ``xp`` (the array API standard, 2023.12).

Activations and their gradients, softmax, cross-entropy, bias add, L2 loss, InTopKV2 and the fused Adam step
``_MatMulApplyAdam``, plus the convolution and pooling kernels of ``reference.conv``: ``kernels(xp)``
returns them all. float16 and bfloat16 are computed in float32 and rounded back once, as TF's CPU kernels.
The cpu plugin's kernels are the fast versions of the same semantics.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

from . import batch_norm, conv, conv3d, depthwise
from .common import host_int, host_ints
from .nn_support import bind, cast_like, computed


# -- activations ----------------------------------------------------------------------------------------------
def relu(xp: Any, x: Any) -> Any:
    """Relu: ``max(x, 0)`` (nan stays nan)."""
    return xp.maximum(x, xp.zeros_like(x))


def relu6(xp: Any, x: Any) -> Any:
    """Relu6: ``min(max(x, 0), 6)``."""
    return xp.minimum(xp.maximum(x, xp.zeros_like(x)), xp.full_like(x, 6))


def elu(xp: Any, x: Any) -> Any:
    """Elu: ``exp(x) - 1`` below zero, ``x`` above."""
    u = computed(xp, x)
    return cast_like(xp, xp.where(u < 0, xp.expm1(xp.minimum(u, xp.zeros_like(u))), u), x)


def leaky_relu(xp: Any, x: Any, *, alpha: float) -> Any:
    """LeakyRelu: ``x`` above zero, ``alpha * x`` elsewhere."""
    u = computed(xp, x)
    return cast_like(xp, xp.where(u > 0, u, u * alpha), x)


def softplus(xp: Any, x: Any) -> Any:
    """Softplus: ``log(1 + exp(x))``, without overflow."""
    u = computed(xp, x)
    return cast_like(xp, xp.logaddexp(xp.zeros_like(u), u), x)


def _sigmoid(xp: Any, u: Any) -> Any:
    e = xp.exp(-xp.abs(u))  # never overflows: the larger branch divides by 1 + e
    return xp.where(u >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid(xp: Any, x: Any) -> Any:
    """Sigmoid: ``1 / (1 + exp(-x))``."""
    return cast_like(xp, _sigmoid(xp, computed(xp, x)), x)


def fused_swish(xp: Any, x: Any, *, beta: float = 1.0) -> Any:
    """_FusedSwish: ``x * sigmoid(beta * x)``."""
    u = computed(xp, x)
    return cast_like(xp, u * _sigmoid(xp, u * beta), x)


def tanh(xp: Any, x: Any) -> Any:
    """Tanh."""
    return cast_like(xp, xp.tanh(computed(xp, x)), x)


def relu_grad(xp: Any, g: Any, features: Any) -> Any:
    """ReluGrad: ``g`` where ``features > 0``, else 0."""
    return xp.where(features > 0, g, xp.zeros_like(g))


def relu6_grad(xp: Any, g: Any, features: Any) -> Any:
    """Relu6Grad: ``g`` where ``0 < features < 6``, else 0."""
    inside = xp.logical_and(features > 0, features < 6)
    return xp.where(inside, g, xp.zeros_like(g))


def elu_grad(xp: Any, g: Any, outputs: Any) -> Any:
    """EluGrad: ``g * (outputs + 1)`` where the Elu's ``outputs`` are negative, else ``g``."""
    u, y = computed(xp, g), computed(xp, outputs)
    return cast_like(xp, xp.where(y < 0, u * (y + 1), u), g)


def leaky_relu_grad(xp: Any, g: Any, features: Any, *, alpha: float) -> Any:
    """LeakyReluGrad: ``g`` where ``features > 0``, else ``alpha * g``."""
    u = computed(xp, g)
    return cast_like(xp, xp.where(features > 0, u, u * alpha), g)


def softplus_grad(xp: Any, g: Any, features: Any) -> Any:
    """SoftplusGrad: ``g * sigmoid(features)``."""
    return cast_like(xp, computed(xp, g) * _sigmoid(xp, computed(xp, features)), g)


def sigmoid_grad(xp: Any, y: Any, dy: Any) -> Any:
    """SigmoidGrad: ``dy * y * (1 - y)`` of the Sigmoid's output ``y``."""
    u = computed(xp, y)
    return cast_like(xp, computed(xp, dy) * u * (1 - u), y)


def tanh_grad(xp: Any, y: Any, dy: Any) -> Any:
    """TanhGrad: ``dy * (1 - y * y)`` of the Tanh's output ``y``."""
    u = computed(xp, y)
    return cast_like(xp, computed(xp, dy) * (1 - u * u), y)


# -- softmax and cross-entropy ----------------------------------------------------------------------------------
def _log_softmax(xp: Any, u: Any) -> Any:
    shifted = u - xp.max(u, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def softmax(xp: Any, logits: Any) -> Any:
    """Softmax over the last axis."""
    u = computed(xp, logits)
    e = xp.exp(u - xp.max(u, axis=-1, keepdims=True))
    return cast_like(xp, e / xp.sum(e, axis=-1, keepdims=True), logits)


def log_softmax(xp: Any, logits: Any) -> Any:
    """LogSoftmax over the last axis."""
    return cast_like(xp, _log_softmax(xp, computed(xp, logits)), logits)


def softmax_xent(xp: Any, features: Any, labels: Any) -> tuple[Any, Any]:
    """SoftmaxCrossEntropyWithLogits: (loss [batch], backprop [batch, classes]) against label distributions."""
    u, y = computed(xp, features), computed(xp, labels)
    if u.shape != y.shape:
        raise ValueError(f"logits and labels must have the same shape, got logits {list(u.shape)} and labels "
                         f"{list(y.shape)}")
    logp = _log_softmax(xp, u)
    loss = -xp.sum(y * logp, axis=-1)
    return cast_like(xp, loss, features), cast_like(xp, xp.exp(logp) - y, features)


def _one_hot(xp: Any, indices: Any, depth: int, like: Any) -> Any:
    """[batch, depth] booleans, True at each row's index."""
    classes = xp.arange(depth, dtype=indices.dtype, device=like.device)
    return xp.reshape(indices, (-1, 1)) == xp.reshape(classes, (1, -1))


def sparse_softmax_xent(xp: Any, features: Any, labels: Any) -> tuple[Any, Any]:
    """SparseSoftmaxCrossEntropyWithLogits: (loss [batch], backprop [batch, classes]) against integer labels.

    As TF's kernel: ``shifted = logits - max``, ``loss = log(sum(exp(shifted))) - shifted[label]``,
    ``backprop = softmax - onehot(label)``; a label outside [0, classes) is an error naming it.
    """
    u = computed(xp, features)
    batch, classes = u.shape
    if tuple(labels.shape) != (batch,):
        raise ValueError(f"labels must have shape [{batch}] to match logits {list(u.shape)}, got "
                         f"{list(labels.shape)}")
    if bool(xp.any(xp.logical_or(labels < 0, labels >= classes))):
        values = host_ints(labels)
        bad = [v for v in values if not 0 <= v < classes]
        raise ValueError(f"Received a label value of {bad[0]} which is outside the valid range of [0, {classes}). "
                         f"Label values: {' '.join(str(v) for v in values[:20])}{' ...' if len(values) > 20 else ''}")
    shifted = u - xp.max(u, axis=-1, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=-1, keepdims=True)
    hot = _one_hot(xp, labels, classes, u)
    picked = xp.sum(xp.where(hot, shifted, xp.zeros_like(shifted)), axis=-1)
    loss = xp.log(total[:, 0]) - picked
    backprop = e / total - xp.astype(hot, u.dtype)
    return cast_like(xp, loss, features), cast_like(xp, backprop, features)


# -- bias_add, l2_loss, in_top_k --------------------------------------------------------------------------------
def _channel_axis(data_format: str, ndim: int) -> int:
    return 1 if data_format.startswith("NC") and ndim >= 3 else ndim - 1


def bias_add(xp: Any, value: Any, bias: Any, *, data_format: str) -> Any:
    """BiasAdd: ``bias`` (1-D) added along the channel axis of ``value`` (the last, or 1 for NC... formats)."""
    axis = _channel_axis(data_format, value.ndim)
    if bias.ndim != 1 or bias.shape[0] != value.shape[axis]:
        raise ValueError(f"bias of shape {list(bias.shape)} must be 1-D with {value.shape[axis]} elements, the "
                         f"channel dimension of value {list(value.shape)} ({data_format})")
    shape = [1] * value.ndim
    shape[axis] = bias.shape[0]
    return cast_like(xp, value + xp.reshape(bias, tuple(shape)), value)


def bias_add_grad(xp: Any, g: Any, *, data_format: str) -> Any:
    """BiasAddGrad: ``g`` summed over every axis but the channel axis."""
    axis = _channel_axis(data_format, g.ndim)
    others = tuple(a for a in range(g.ndim) if a != axis)
    acc = computed(xp, g).dtype
    return cast_like(xp, xp.sum(g, axis=others, dtype=acc), g)


def l2_loss(xp: Any, t: Any) -> Any:
    """L2Loss: ``sum(t * t) / 2``."""
    u = computed(xp, t)
    return cast_like(xp, xp.asarray(xp.sum(u * u) / 2), t)


def in_top_k(xp: Any, predictions: Any, targets: Any, k: Any) -> Any:
    """InTopKV2: whether each row's target class is among its ``k`` largest predictions (ties count as in;
    a target out of range or with a non-finite prediction is not)."""
    batch, classes = predictions.shape
    if tuple(targets.shape) != (batch,):
        raise ValueError(f"targets must have shape [{batch}] to match predictions {list(predictions.shape)}, "
                         f"got {list(targets.shape)}")
    valid = xp.logical_and(targets >= 0, targets < classes)
    hot = _one_hot(xp, xp.where(valid, targets, xp.zeros_like(targets)), classes, predictions)
    target_pred = xp.sum(xp.where(hot, predictions, xp.zeros_like(predictions)), axis=1)
    better = xp.sum(xp.astype(predictions > xp.reshape(target_pred, (-1, 1)), xp.int64), axis=1)
    return xp.logical_and(xp.logical_and(valid, xp.isfinite(target_pred)), better < host_int(k))


# -- fused optimizer step ---------------------------------------------------------------------------------------
def matmul_apply_adam(xp: Any, var: Any, m: Any, v: Any, beta1_power: Any, beta2_power: Any, lr: Any, beta1: Any,
                      beta2: Any, epsilon: Any, a: Any, b: Any, *, transpose_a: bool, transpose_b: bool,
                      use_locking: bool, use_nesterov: bool) -> Any:
    """_MatMulApplyAdam: ApplyAdam with ``grad = op(a) @ op(b)`` (op transposes when asked).

    ``var``, ``m`` and ``v`` are the variables' ``VariableSlot``s; each gets a fresh array (never written in
    place, which a constant or another op's input may share). TF's step:
    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``, ``m += (grad - m) * (1 - beta1)``,
    ``v += (grad^2 - v) * (1 - beta2)``, ``var -= lr_t * m / (sqrt(v) + epsilon)`` (nesterov:
    ``m * beta1 + grad * (1 - beta1)`` in place of ``m``). Returns the new variable value.
    """
    grad = xp.matmul(xp.matrix_transpose(a) if transpose_a else a, xp.matrix_transpose(b) if transpose_b else b)
    with var.lock if use_locking else contextlib.nullcontext():
        w, m0, v0 = var.read(), m.read(), v.read()
        if grad.shape != w.shape:
            raise ValueError(f"_MatMulApplyAdam: gradient of shape {list(grad.shape)} does not match variable "
                             f"'{var.name}' of shape {list(w.shape)}")
        lr_t = lr * xp.sqrt(1 - beta2_power) / (1 - beta1_power)
        m_t = m0 + (grad - m0) * (1 - beta1)
        v_t = v0 + (grad * grad - v0) * (1 - beta2)
        direction = m_t * beta1 + grad * (1 - beta1) if use_nesterov else m_t
        m.assign(m_t)
        v.assign(v_t)
        return var.assign(cast_like(xp, w - lr_t * direction / (xp.sqrt(v_t) + epsilon), w))


_KERNELS = {
    "Relu": relu, "Relu6": relu6, "Elu": elu, "LeakyRelu": leaky_relu, "Softplus": softplus, "Sigmoid": sigmoid,
    "_FusedSwish": fused_swish,
    "Tanh": tanh, "ReluGrad": relu_grad, "Relu6Grad": relu6_grad, "EluGrad": elu_grad,
    "LeakyReluGrad": leaky_relu_grad, "SoftplusGrad": softplus_grad, "SigmoidGrad": sigmoid_grad,
    "TanhGrad": tanh_grad, "Softmax": softmax, "LogSoftmax": log_softmax,
    "SoftmaxCrossEntropyWithLogits": softmax_xent, "SparseSoftmaxCrossEntropyWithLogits": sparse_softmax_xent,
    "BiasAdd": bias_add, "BiasAddGrad": bias_add_grad, "L2Loss": l2_loss, "InTopKV2": in_top_k,
    "_MatMulApplyAdam": matmul_apply_adam,
}


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the nn ops (convolution and pooling included), computing with namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> table = kernels(np)
        >>> table["Relu"](np.array([-1.0, 2.0])).tolist(), "Conv2D" in table
        ([0.0, 2.0], True)
    """
    return {**conv.kernels(xp), **conv3d.kernels(xp), **depthwise.kernels(xp), **batch_norm.kernels(xp),
            **{op: bind(xp, fn) for op, fn in _KERNELS.items()}}
