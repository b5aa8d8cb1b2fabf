"""Neural-network kernels: activations and their gradients, softmax, cross-entropy, bias_add, l2_loss, top_k.

float16 and bfloat16 inputs are computed in float32 and rounded back once, as TF's CPU kernels do.
Relu, ReluGrad and SparseSoftmaxCrossEntropyWithLogits on float32/float64 run as compiled one-pass
loops (``_loops``); other dtypes use numpy.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from . import _loops
from .swish import fused_swish

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))
_FAST = _loops.FAST
_LABELS = (np.dtype(np.int32), np.dtype(np.int64))


def _up(x):
    return x.astype(np.float32) if x.dtype in _LOW_PRECISION else x


def _as(out, like):
    return np.asarray(out).astype(like.dtype, copy=False)


def _flat(a):
    return a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)


# -- activations ------------------------------------------------------------------------------
def relu(x, *, donated=()):
    """``max(x, 0)``; into ``x`` when it is donated. A fresh float32/float64 result comes from a compiled
    loop, which costs about half of np.maximum's call on small arrays."""
    if donated or x.dtype not in _FAST:
        return np.maximum(x, x.dtype.type(0), out=x if donated else None)
    out = np.empty(x.shape, x.dtype)
    _loops.split(_loops.relu, out.size, (_flat(x), out.reshape(-1)))
    return out


def relu6(x):
    return _as(np.clip(x, x.dtype.type(0), x.dtype.type(6)), x)  # np.clip promotes bfloat16 to float32


def elu(x):
    u = _up(x)
    return _as(np.where(u < 0, np.expm1(np.minimum(u, 0)), u), x)


def leaky_relu(x, *, alpha):
    u = _up(x)
    return _as(np.where(u > 0, u, u * alpha), x)


def softplus(x):
    return _as(np.logaddexp(0, _up(x)), x)


def _stable_sigmoid(u):
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + e), e / (1 + e))


# Below this the float32/float64 exp(-x) of ``1 / (1 + exp(-x))`` overflows (float32's limit; float64's is larger):
# those few entries are recomputed as exp(x), which is the sigmoid there to the dtype's precision.
_SIGMOID_LOW = -80.0


def sigmoid(x, *, donated=()):
    """``1 / (1 + exp(-x))``. float32/float64: four in-place passes of numpy's vectorized loops (exp among them), into
    ``x`` when it is donated, instead of the select between two stable forms (about ten passes, several times slower:
    EfficientNet's swish activations); entries below -80 are recomputed as exp(x), where exp(-x) would overflow."""
    if x.dtype not in _FAST:
        return _as(_stable_sigmoid(_up(x)), x)
    out = x if 0 in donated and x.flags.c_contiguous and x.flags.writeable else np.empty(x.shape, x.dtype)
    low = np.less(x, x.dtype.type(_SIGMOID_LOW)) if x.size and np.fmin.reduce(x, axis=None) < _SIGMOID_LOW else None
    tail = np.exp(x[low]) if low is not None else None
    with np.errstate(over="ignore"):
        np.negative(x, out=out)
        np.exp(out, out=out)
    np.add(out, x.dtype.type(1), out=out)
    np.reciprocal(out, out=out)
    if tail is not None:
        out[low] = tail
    return out


def tanh(x):
    return _as(np.tanh(_up(x)), x)


def relu_grad(g, features, *, donated=()):
    """``g`` where ``features > 0``, else 0.

    float32/float64: a compiled select, into ``g`` when it is donated. Other floats: a multiply by the
    mask, which is branch-free (np.where on a random mask is several times slower), falling back to
    np.where when ``g`` holds inf or nan.
    """
    dtype = g.dtype
    if dtype in _FAST and features.dtype == dtype and g.shape == features.shape:
        f = _flat(features)
        if 0 in donated and g.flags.c_contiguous:
            gf = g.reshape(-1)
            _loops.split(_loops.relu_grad_in_place, gf.shape[0], (gf, f))
            return g
        out = np.empty(g.shape, dtype)
        _loops.split(_loops.relu_grad, f.shape[0], (_flat(g), f, out.reshape(-1)))
        return out
    if g.shape == features.shape and g.dtype.kind == "f" and g.dtype not in _LOW_PRECISION:
        mask = np.greater(features, 0)
        out = np.multiply(g, mask, out=g if 0 in donated else None)
        if np.isfinite(np.add.reduce(out, axis=None)):
            return out
        if out is not g:
            return np.where(mask, g, g.dtype.type(0))
        np.copyto(out, g.dtype.type(0), where=~mask)  # only nan/inf products remain to clear
        return out
    return np.where(features > 0, g, g.dtype.type(0))


def relu6_grad(g, features):
    return np.where((features > 0) & (features < 6), g, g.dtype.type(0))


def elu_grad(g, outputs):
    u, y = _up(g), _up(outputs)
    return _as(np.where(y < 0, u * (y + 1), u), g)


def leaky_relu_grad(g, features, *, alpha):
    u = _up(g)
    return _as(np.where(features > 0, u, u * alpha), g)


def softplus_grad(g, features):
    return _as(_up(g) * _stable_sigmoid(_up(features)), g)


def sigmoid_grad(y, dy):
    u = _up(y)
    return _as(_up(dy) * u * (1 - u), y)


def tanh_grad(y, dy):
    u = _up(y)
    return _as(_up(dy) * (1 - u * u), y)


# -- softmax and cross-entropy ----------------------------------------------------------------------
def _log_softmax(u):
    shifted = u - np.max(u, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(logits):
    u = _up(logits)
    e = np.exp(u - np.max(u, axis=-1, keepdims=True))
    return _as(e / np.sum(e, axis=-1, keepdims=True), logits)


def log_softmax(logits):
    return _as(_log_softmax(_up(logits)), logits)


def softmax_xent(features, labels):
    u, y = _up(features), _up(labels)
    if u.shape != y.shape:
        raise ValueError(f"logits and labels must have the same shape, got logits {list(u.shape)} and labels "
                         f"{list(y.shape)}")
    logp = _log_softmax(u)
    with np.errstate(invalid="ignore"):
        loss = -np.sum(y * logp, axis=-1)
    return _as(loss, features), _as(np.exp(logp) - y, features)


def _bad_label(labels, classes, value):
    return ValueError(f"Received a label value of {int(value)} which is outside the valid range of "
                      f"[0, {classes}). Label values: {' '.join(str(int(v)) for v in labels[:20])}"
                      f"{' ...' if labels.size > 20 else ''}")


def sparse_softmax_xent(features, labels):
    """(loss [batch], backprop [batch, classes]) of softmax cross-entropy against integer labels, as TF's kernel."""
    if features.dtype in _FAST and features.ndim == 2 and labels.dtype in _LABELS \
            and labels.shape == features.shape[:1]:
        loss = np.empty(labels.shape, features.dtype)
        backprop = np.empty(features.shape, features.dtype)
        bad = _loops.sparse_xent(np.ascontiguousarray(features), np.ascontiguousarray(labels), loss, backprop)
        if bad >= 0:
            raise _bad_label(labels, features.shape[1], labels[bad])
        return loss, backprop
    u = _up(features)
    batch, classes = u.shape
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape [{batch}] to match logits {list(u.shape)}, got {list(labels.shape)}")
    if batch and (labels.min() < 0 or labels.max() >= classes):
        raise _bad_label(labels, classes, labels[(labels < 0) | (labels >= classes)][0])
    # As TF's kernel: shifted = logits - max, loss = log(sum(exp(shifted))) - shifted[label],
    # backprop = exp(shifted) / sum(exp(shifted)) - onehot(label).
    shifted = u - np.max(u, axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = np.add.reduce(e, axis=-1, keepdims=True)
    rows = np.arange(batch)
    loss = np.log(total[:, 0]) - shifted[rows, labels]
    e /= total
    e[rows, labels] -= 1
    return _as(loss, features), _as(e, features)


# -- bias_add, l2_loss -------------------------------------------------------------------------------
def _channel_axis(data_format, ndim):
    return 1 if data_format.startswith("NC") and ndim >= 3 else ndim - 1


def bias_add(value, bias, *, data_format, donated=()):
    axis = _channel_axis(data_format, value.ndim)
    if bias.ndim != 1 or bias.shape[0] != value.shape[axis]:
        raise ValueError(f"bias of shape {list(bias.shape)} must be 1-D with {value.shape[axis]} elements, the "
                         f"channel dimension of value {list(value.shape)} ({data_format})")
    shape = [1] * value.ndim
    shape[axis] = bias.shape[0]
    if 0 in donated and bias.dtype == value.dtype:
        return np.add(value, bias.reshape(shape), out=value)
    return np.add(value, bias.reshape(shape)).astype(value.dtype, copy=False)


def bias_add_grad(g, *, data_format):
    axis = _channel_axis(data_format, g.ndim)
    others = tuple(a for a in range(g.ndim) if a != axis)
    acc = np.float32 if g.dtype in _LOW_PRECISION else g.dtype
    return np.sum(g, axis=others, dtype=acc).astype(g.dtype, copy=False)


def l2_loss(t):
    u = _up(t)
    return _as(np.dot(u.ravel(), u.ravel()) / 2 if u.size else 0, t)


# -- top_k, in_top_k -----------------------------------------------------------------------------------
def top_k(x, k, *, sorted):  # noqa: A002 - TF's attr name
    k, n = int(k), x.shape[-1]
    if not 0 <= k <= n:
        raise ValueError(f"input must have at least k={k} columns, had {n} (input shape {list(x.shape)})")
    # A stable ascending sort of the reversed row, read backwards, is descending with ties to the lower index.
    order = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    indices = (n - 1 - order).astype(np.int32)
    return np.take_along_axis(x, indices, axis=-1), indices


def in_top_k(predictions, targets, k):
    batch, classes = predictions.shape
    if targets.shape != (batch,):
        raise ValueError(f"targets must have shape [{batch}] to match predictions {list(predictions.shape)}, "
                         f"got {list(targets.shape)}")
    valid = (targets >= 0) & (targets < classes)
    target_pred = predictions[np.arange(batch), np.where(valid, targets, 0)]
    better = np.sum(predictions > target_pred[:, None], axis=1)
    return valid & np.isfinite(target_pred) & (better < int(k))


KERNELS = {
    "Relu": relu, "Relu6": relu6, "Elu": elu, "LeakyRelu": leaky_relu, "Softplus": softplus, "Sigmoid": sigmoid,
    "_FusedSwish": fused_swish,
    "Tanh": tanh, "ReluGrad": relu_grad, "Relu6Grad": relu6_grad, "EluGrad": elu_grad,
    "LeakyReluGrad": leaky_relu_grad, "SoftplusGrad": softplus_grad, "SigmoidGrad": sigmoid_grad,
    "TanhGrad": tanh_grad, "Softmax": softmax, "LogSoftmax": log_softmax,
    "SoftmaxCrossEntropyWithLogits": softmax_xent, "SparseSoftmaxCrossEntropyWithLogits": sparse_softmax_xent,
    "BiasAdd": bias_add, "BiasAddGrad": bias_add_grad, "L2Loss": l2_loss, "TopKV2": top_k, "InTopKV2": in_top_k,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
