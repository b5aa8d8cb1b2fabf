"""Op-info entries of the nn ops: activations and their *Grad ops, softmax, cross entropies, bias add, l2 loss,
top_k and in_top_k.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf
from tensorflux.extend import apply_op

from .base import FLOATING, INDEX, NUMERIC, OpInfo


def _op(op_type: str, *inputs: Any, **attrs: Any) -> Any:
    """The outputs of one ``op_type`` node: a tensor, or a list when the op has several."""
    outputs = apply_op(op_type, *inputs, **attrs)
    return outputs[0] if len(outputs) == 1 else list(outputs)


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow and with full relative accuracy for very negative x.

    Example:
        >>> import numpy as np
        >>> np_sigmoid(np.array([0.0, -800.0])).tolist()
        [0.5, 0.0]
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) along ``axis``, shifted by the maximum so large logits do not overflow.

    Example:
        >>> import numpy as np
        >>> np.exp(np_log_softmax(np.array([1000.0, 1000.0]))).tolist()
        [0.5, 0.5]
    """
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


ACTIVATIONS = [
    OpInfo("Relu", tf.nn.relu, lambda x: np.maximum(x, 0), large_values=True),
    # The wide domain reaches past 6, where relu6 saturates.
    OpInfo("Relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), domain="wide", large_values=True),
    OpInfo("Elu", tf.nn.elu, _elu, dtypes=FLOATING, large_values=True),
    OpInfo("LeakyRelu", lambda x, alpha: tf.nn.leaky_relu(x, alpha=alpha),
           lambda x, alpha: np.where(x > 0, x, alpha * x), dtypes=FLOATING, large_values=True,
           attrs=[{"alpha": 0.2}, {"alpha": 0.3}]),
    OpInfo("Softplus", tf.nn.softplus, _softplus, dtypes=FLOATING, large_values=True),
    OpInfo("Sigmoid", tf.nn.sigmoid, np_sigmoid, dtypes=FLOATING, large_values=True),
    OpInfo("Tanh", tf.nn.tanh, np.tanh, dtypes=FLOATING, large_values=True),
    # Made by the fusion pass from x * sigmoid(beta * x): built directly, and from that composition.
    OpInfo("_FusedSwish", lambda x, beta: _op("_FusedSwish", x, beta=beta), lambda x, beta: x * np_sigmoid(beta * x),
           dtypes=FLOATING, attrs=[{"beta": 1.0}, {"beta": 1.5}], differentiable=False),
    OpInfo("_FusedSwish", lambda x, beta: x * tf.nn.sigmoid(x * tf.cast(beta, x.dtype)),
           lambda x, beta: x * np_sigmoid(beta * x), dtypes=FLOATING, attrs=[{"beta": 1.0}, {"beta": 0.5}],
           variant="graph pass", differentiable=False),
]

GRAD_SHAPES = [((5,), (5,)), ((2, 3), (2, 3)), ((0,), (0,))]
ACTIVATION_GRADS = [
    OpInfo("ReluGrad", lambda g, x: _op("ReluGrad", g, x), lambda g, x: g * (x > 0), shapes=GRAD_SHAPES),
    OpInfo("Relu6Grad", lambda g, x: _op("Relu6Grad", g, x), lambda g, x: g * ((x > 0) & (x < 6)),
           shapes=GRAD_SHAPES, domain=("any", "wide")),
    OpInfo("EluGrad", lambda g, y: _op("EluGrad", g, y), lambda g, y: np.where(y > 0, g, g * (y + 1)),
           dtypes=FLOATING, shapes=GRAD_SHAPES),
    OpInfo("LeakyReluGrad", lambda g, x, alpha: _op("LeakyReluGrad", g, x, alpha=alpha),
           lambda g, x, alpha: np.where(x > 0, g, alpha * g), dtypes=FLOATING, shapes=GRAD_SHAPES,
           attrs=[{"alpha": 0.2}, {"alpha": 0.3}]),
    OpInfo("SoftplusGrad", lambda g, x: _op("SoftplusGrad", g, x), lambda g, x: g * np_sigmoid(x), dtypes=FLOATING,
           shapes=GRAD_SHAPES),
    OpInfo("SigmoidGrad", lambda y, dy: _op("SigmoidGrad", y, dy), lambda y, dy: dy * y * (1 - y), dtypes=FLOATING,
           shapes=GRAD_SHAPES, domain=("unit", "any")),
    OpInfo("TanhGrad", lambda y, dy: _op("TanhGrad", y, dy), lambda y, dy: dy * (1 - y * y), dtypes=FLOATING,
           shapes=GRAD_SHAPES, domain=("unit", "any")),
]


def _softmax(x: Any, axis: int) -> Any:
    return tf.nn.softmax(x, axis=axis)


def _log_softmax(x: Any, axis: int) -> Any:
    return tf.nn.log_softmax(x, axis=axis)


SOFTMAX = [
    OpInfo("Softmax", _softmax, lambda x, axis: np.exp(np_log_softmax(x, axis)), dtypes=FLOATING,
           shapes=[(5,), (2, 3), (3, 1, 4), (0, 3)], attrs=[{"axis": -1}], large_values=True),
    OpInfo("Softmax", _softmax, lambda x, axis: np.exp(np_log_softmax(x, axis)), dtypes=FLOATING, shapes=[(4, 3)],
           attrs=[{"axis": 0}], variant="axis", large_values=True),
    OpInfo("LogSoftmax", _log_softmax, np_log_softmax, dtypes=FLOATING, shapes=[(5,), (2, 3), (3, 1, 4), (0, 3)],
           attrs=[{"axis": -1}], large_values=True),
    OpInfo("LogSoftmax", _log_softmax, np_log_softmax, dtypes=FLOATING, shapes=[(4, 3)], attrs=[{"axis": 0}],
           variant="axis", large_values=True),
]


def sparse_labels(n: int, classes: int) -> np.ndarray:
    """Class labels spread over ``[0, classes)`` for ``n`` rows (every class where ``n`` allows).

    Example:
        >>> sparse_labels(4, 3).tolist()
        [0, 1, 2, 0]
    """
    return (np.arange(n) * 7 + 3) % classes


def _xent(logits: np.ndarray, labels: np.ndarray) -> tuple:
    return -np.sum(labels * np_log_softmax(logits), axis=-1), np.exp(np_log_softmax(logits)) - labels


def _sparse_xent(logits: Any, label_dtype: Any) -> Any:
    labels = tf.constant(sparse_labels(*logits.shape.as_list()), dtype=label_dtype)
    return _op("SparseSoftmaxCrossEntropyWithLogits", logits, labels)


def _np_sparse_xent(logits: np.ndarray, label_dtype: Any) -> tuple:
    hot = np.eye(logits.shape[1])[sparse_labels(*logits.shape)]
    return _xent(logits, hot)


XENT_SHAPES = [((2, 3), (2, 3)), ((4, 5), (4, 5)), ((0, 3), (0, 3))]
CROSS_ENTROPY = [
    # Outputs: the loss per row and its gradient with respect to the logits (softmax - labels).
    OpInfo("SoftmaxCrossEntropyWithLogits", lambda x, y: _op("SoftmaxCrossEntropyWithLogits", x, y), _xent,
           dtypes=FLOATING, shapes=XENT_SHAPES, domain=("any", "simplex"), large_values=True),
    OpInfo("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent, _np_sparse_xent, dtypes=FLOATING,
           shapes=[(2, 3), (4, 5), (0, 3)], attrs=[{"label_dtype": t} for t in INDEX], large_values=True),
]


def _np_bias_add(x: np.ndarray, b: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "NCHW" and x.ndim >= 3:
        return x + b.reshape((-1,) + (1,) * (x.ndim - 2))
    return x + b


def _np_bias_add_grad(g: np.ndarray, data_format: str) -> np.ndarray:
    channel = 1 if data_format == "NCHW" and g.ndim >= 3 else g.ndim - 1
    return np.sum(g, axis=tuple(a for a in range(g.ndim) if a != channel), dtype=g.dtype)


BIAS = [
    OpInfo("BiasAdd", lambda x, b, data_format: tf.nn.bias_add(x, b, data_format=data_format), _np_bias_add,
           shapes=[((2, 3), (3,)), ((2, 2, 4), (4,)), ((2, 3, 2, 5), (5,)), ((0, 3), (3,))],
           attrs=[{"data_format": "NHWC"}]),
    OpInfo("BiasAdd", lambda x, b, data_format: tf.nn.bias_add(x, b, data_format=data_format), _np_bias_add,
           shapes=[((2, 3, 4, 5), (3,)), ((2, 3, 2), (3,))], attrs=[{"data_format": "NCHW"}], variant="NCHW"),
    OpInfo("BiasAddGrad", lambda g, data_format: _op("BiasAddGrad", g, data_format=data_format), _np_bias_add_grad,
           shapes=[(2, 3), (2, 2, 4), (0, 3)], attrs=[{"data_format": "NHWC"}]),
    OpInfo("BiasAddGrad", lambda g, data_format: _op("BiasAddGrad", g, data_format=data_format), _np_bias_add_grad,
           shapes=[(2, 3, 4, 5)], attrs=[{"data_format": "NCHW"}], variant="NCHW"),
    OpInfo("L2Loss", tf.nn.l2_loss, lambda x: np.sum(x * x) / 2, dtypes=FLOATING, shapes=[(0,), (5,), (2, 3), ()]),
]


def _np_top_k(x: np.ndarray, k: int) -> list:
    # Descending; among equal values the lower index comes first (a stable sort of the negated values).
    order = np.argsort(-x.astype(np.float64), axis=-1, kind="stable")[..., :k]
    return [np.take_along_axis(x, order, axis=-1), order.astype(np.int32)]


def _np_in_top_k(predictions: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    # A target is in the top k when fewer than k predictions beat it (ties at the boundary count as in).
    target = np.take_along_axis(predictions, targets.astype(np.int64)[:, None], axis=1)
    return np.sum(predictions > target, axis=1) < k


TOP_K = [
    OpInfo("TopKV2", lambda x, k: list(tf.nn.top_k(x, k=k)), _np_top_k, dtypes=NUMERIC,
           shapes=[(5,), (2, 3), (2, 3, 4)], attrs=[{"k": 1}, {"k": 3}], large_values=True),
    OpInfo("TopKV2", lambda x, k: list(tf.nn.top_k(x, k=k)), _np_top_k, dtypes=NUMERIC, shapes=[(2, 3), (0, 4)],
           attrs=[{"k": 0}, {"k": 2}], variant="few", differentiable=False),
    OpInfo("InTopKV2", lambda p, t, k: tf.nn.in_top_k(p, t, k), _np_in_top_k, dtypes=INDEX,
           shapes=[((4, 5), (4,)), ((0, 5), (0,))], input_dtypes=(tf.float32,), domain=("any", "classes"),
           attrs=[{"k": 1}, {"k": 2}, {"k": 5}], differentiable=False),
]

INFOS = ACTIVATIONS + ACTIVATION_GRADS + SOFTMAX + CROSS_ENTROPY + BIAS + TOP_K

__all__ = ["INFOS", "np_log_softmax", "np_sigmoid", "sparse_labels"]
