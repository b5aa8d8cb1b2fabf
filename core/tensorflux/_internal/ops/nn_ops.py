"""Neural-network ops: activations, softmax, cross-entropy, bias_add, l2_loss, top_k and in_top_k.

Convolution and pooling live in :mod:`conv_ops`; layers composed of other ops (dropout, moments,
batch_normalization, embedding_lookup, the sigmoid loss) in :mod:`nn_impl`. Op and attribute names follow TensorFlow's, so graphs
written from here read as TF graphs.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from . import array_ops, math_ops
from .common import define, gradient, not_differentiable, same_shape
from .grad_util import is_zero_filler

FLOAT = dt.FLOATING
REAL = dt.NUMERIC
IDX = (dt.int32, dt.int64)


def _merged_shape(op: Any) -> TensorShape:
    """Shape of an elementwise op whose inputs must all have one shape (the *Grad ops)."""
    shape = op.inputs[0].shape
    for t in op.inputs[1:]:
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"inputs must have the same shape, but got {shape} and {t.shape}")
        shape = shape.merge_with(t.shape)
    return shape


# -- activations ----------------------------------------------------------------------------
define("Relu", ["features: T"], ["activations: T"], {"T": ("type", None, REAL)}, shape=same_shape)
define("Relu6", ["features: T"], ["activations: T"], {"T": ("type", None, REAL)}, shape=same_shape)
define("Elu", ["features: T"], ["activations: T"], {"T": ("type", None, FLOAT)}, shape=same_shape)
define("LeakyRelu", ["features: T"], ["activations: T"], {"T": ("type", "float32", FLOAT), "alpha": ("float", 0.2)},
       shape=same_shape)
define("Softplus", ["features: T"], ["activations: T"], {"T": ("type", None, FLOAT)}, shape=same_shape)
define("Sigmoid", ["x: T"], ["y: T"], {"T": ("type", None, FLOAT)}, shape=same_shape)
# Internal: made by the fusion graph pass (passes/fusion.py) from x * Sigmoid(beta * x) (a swish, EfficientNet's
# activation), never by users.
define("_FusedSwish", ["x: T"], ["y: T"], {"T": ("type", None, FLOAT), "beta": ("float", 1.0)}, shape=same_shape,
       differentiable=False, doc="x * sigmoid(beta * x) (graph-pass internal).")
define("Tanh", ["x: T"], ["y: T"], {"T": ("type", None, FLOAT)}, shape=same_shape)
for _name, _allowed in (("ReluGrad", REAL), ("Relu6Grad", REAL), ("EluGrad", FLOAT), ("SoftplusGrad", FLOAT)):
    _second = "outputs" if _name == "EluGrad" else "features"
    define(_name, ["gradients: T", f"{_second}: T"], ["backprops: T"], {"T": ("type", None, _allowed)},
           shape=_merged_shape)
define("LeakyReluGrad", ["gradients: T", "features: T"], ["backprops: T"],
       {"T": ("type", "float32", FLOAT), "alpha": ("float", 0.2)}, shape=_merged_shape)
define("SigmoidGrad", ["y: T", "dy: T"], ["z: T"], {"T": ("type", None, FLOAT)}, shape=_merged_shape)
define("TanhGrad", ["y: T", "dy: T"], ["z: T"], {"T": ("type", None, FLOAT)}, shape=_merged_shape)


@gradient("Relu")
def _relu_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("ReluGrad", grad, op.outputs[0])[0]]


@gradient("Relu6")
def _relu6_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("Relu6Grad", grad, op.inputs[0])[0]]


@gradient("Elu")
def _elu_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("EluGrad", grad, op.outputs[0])[0]]


@gradient("LeakyRelu")
def _leaky_relu_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("LeakyReluGrad", grad, op.inputs[0], alpha=op.attrs["alpha"])[0]]


@gradient("Softplus")
def _softplus_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("SoftplusGrad", grad, op.inputs[0])[0]]


@gradient("Sigmoid")
def _sigmoid_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("SigmoidGrad", op.outputs[0], grad)[0]]


@gradient("Tanh")
def _tanh_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("TanhGrad", op.outputs[0], grad)[0]]


# Second derivatives of the piecewise-linear grads: linear in `gradients`, locally constant in `features`.
@gradient("ReluGrad", "Relu6Grad")
def _relu_grad_grad(op: Any, grad: Tensor) -> list:
    return [apply_op(op.type, grad, op.inputs[1])[0], array_ops.zeros_like(op.inputs[1])]


@gradient("LeakyReluGrad")
def _leaky_relu_grad_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("LeakyReluGrad", grad, op.inputs[1], alpha=op.attrs["alpha"])[0],
            array_ops.zeros_like(op.inputs[1])]


@gradient("EluGrad")
def _elu_grad_grad(op: Any, grad: Tensor) -> list:
    y = op.inputs[1]
    negative = math_ops.less(y, array_ops.zeros_like(y))
    return [apply_op("EluGrad", grad, y)[0],
            array_ops.where(negative, math_ops.multiply(grad, op.inputs[0]), array_ops.zeros_like(y))]


@gradient("SoftplusGrad")
def _softplus_grad_grad(op: Any, grad: Tensor) -> list:
    dy, x = op.inputs
    s = apply_op("Sigmoid", x)[0]
    return [math_ops.multiply(grad, s), apply_op("SigmoidGrad", s, math_ops.multiply(grad, dy))[0]]


@gradient("SigmoidGrad")
def _sigmoid_grad_grad(op: Any, grad: Tensor) -> list:
    y, dy = op.inputs
    gb = math_ops.multiply(grad, dy)
    return [math_ops.subtract(gb, math_ops.multiply(math_ops.multiply(gb, y), _like(y, 2.0))),
            apply_op("SigmoidGrad", y, grad)[0]]


@gradient("TanhGrad")
def _tanh_grad_grad(op: Any, grad: Tensor) -> list:
    y, dy = op.inputs
    return [math_ops.multiply(math_ops.multiply(grad, _like(y, -2.0)), math_ops.multiply(dy, y)),
            apply_op("TanhGrad", y, grad)[0]]


def _like(t: Tensor, value: float) -> np.ndarray:
    return np.array(value, dtype=t.dtype.np_dtype)


# -- softmax ----------------------------------------------------------------------------------
def _at_least_1d(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    if shape.rank == 0:
        raise ValueError(f"logits must have rank >= 1, got shape {shape}")
    return shape


define("Softmax", ["logits: T"], ["softmax: T"], {"T": ("type", None, FLOAT)}, shape=_at_least_1d)
define("LogSoftmax", ["logits: T"], ["logsoftmax: T"], {"T": ("type", None, FLOAT)}, shape=_at_least_1d)


@gradient("Softmax")
def _softmax_grad(op: Any, grad: Tensor) -> list:
    y = op.outputs[0]
    dot = math_ops.reduce_sum(math_ops.multiply(grad, y), axis=-1, keepdims=True)
    return [math_ops.multiply(math_ops.subtract(grad, dot), y)]


@gradient("LogSoftmax")
def _log_softmax_grad(op: Any, grad: Tensor) -> list:
    total = math_ops.reduce_sum(grad, axis=-1, keepdims=True)
    return [math_ops.subtract(grad, math_ops.multiply(total, math_ops.exp(op.outputs[0])))]


# -- cross-entropy losses -------------------------------------------------------------------
def _xent_shape(op: Any) -> list:
    logits, labels = op.inputs[0].shape, op.inputs[1].shape
    sparse = op.type == "SparseSoftmaxCrossEntropyWithLogits"
    if logits.rank is not None and logits.rank != 2:
        raise ValueError(f"logits must be 2-D [batch_size, num_classes], got shape {logits}")
    if sparse:
        if labels.rank is not None and labels.rank != 1:
            raise ValueError(f"labels must be 1-D [batch_size], got shape {labels}")
        b1, b2 = logits[0], labels[0]
        if b1 is not None and b2 is not None and b1 != b2:
            raise ValueError(f"logits and labels must have the same first dimension, got logits shape {logits} "
                             f"and labels shape {labels}")
        batch = b1 if b1 is not None else b2
        return [TensorShape([batch]), TensorShape([batch, logits[1]])]
    if labels.rank is not None and labels.rank != 2:
        raise ValueError(f"labels must be 2-D [batch_size, num_classes], got shape {labels}")
    if not logits.is_compatible_with(labels):
        raise ValueError(f"logits and labels must have the same shape, got logits {logits} and labels {labels}")
    both = logits.merge_with(labels)
    return [TensorShape([both[0]]), both]


define("SoftmaxCrossEntropyWithLogits", ["features: T", "labels: T"], ["loss: T", "backprop: T"],
       {"T": ("type", None, FLOAT)}, shape=_xent_shape)
define("SparseSoftmaxCrossEntropyWithLogits", ["features: T", "labels: Tlabels"], ["loss: T", "backprop: T"],
       {"T": ("type", None, FLOAT), "Tlabels": ("type", "int64", IDX)}, shape=_xent_shape)


def _logits_grad(op: Any, grad_loss: Tensor | None, grad_backprop: Tensor | None) -> Tensor:
    """d(loss)/d(logits) is the op's own `backprop` output; a gradient into `backprop` adds a Hessian term."""
    out = None
    if grad_loss is not None:
        out = math_ops.multiply(array_ops.expand_dims(grad_loss, -1), op.outputs[1])
    if grad_backprop is not None and not is_zero_filler(grad_backprop):
        sm = softmax(op.inputs[0])
        dot = math_ops.reduce_sum(math_ops.multiply(grad_backprop, sm), axis=-1, keepdims=True)
        term = math_ops.multiply(math_ops.subtract(grad_backprop, dot), sm)
        out = term if out is None else math_ops.add(out, term)
    return out


@gradient("SoftmaxCrossEntropyWithLogits")
def _xent_grad(op: Any, grad_loss: Tensor | None, grad_backprop: Tensor | None = None) -> list:
    labels_grad = None
    if grad_loss is not None:
        labels_grad = math_ops.multiply(array_ops.expand_dims(grad_loss, -1), math_ops.negative(log_softmax(op.inputs[0])))
    return [_logits_grad(op, grad_loss, grad_backprop), labels_grad]


@gradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_grad(op: Any, grad_loss: Tensor | None, grad_backprop: Tensor | None = None) -> list:
    return [_logits_grad(op, grad_loss, grad_backprop), None]


# -- bias_add and l2_loss ---------------------------------------------------------------------
def _channel_axis(data_format: str, rank: int) -> int:
    return 1 if data_format.startswith("NC") and rank >= 3 else rank - 1


def _bias_add_shape(op: Any) -> TensorShape:
    value, bias = op.inputs[0].shape, op.inputs[1].shape
    if bias.rank is not None and bias.rank != 1:
        raise ValueError(f"bias must be 1-D, got shape {bias}")
    if value.rank is None:
        return value
    if value.rank < 2:
        raise ValueError(f"value must have rank >= 2, got shape {value}")
    axis = _channel_axis(op.attrs["data_format"], value.rank)
    c, b = value[axis], bias[0] if bias.rank else None
    if c is not None and b is not None and c != b:
        raise ValueError(f"bias has {b} elements but value {value} has {c} channels (data_format "
                         f"{op.attrs['data_format']})")
    dims = list(value.dims)
    dims[axis] = c if c is not None else b
    return TensorShape(dims)


def _bias_add_grad_shape(op: Any) -> TensorShape:
    g = op.inputs[0].shape
    return TensorShape([None]) if g.rank is None else TensorShape([g[_channel_axis(op.attrs["data_format"], g.rank)]])


_DATA_FORMATS = ("NHWC", "NCHW")
define("BiasAdd", ["value: T", "bias: T"], ["output: T"],
       {"T": ("type", None, dt.NUMERIC), "data_format": ("string", "NHWC", _DATA_FORMATS)}, shape=_bias_add_shape)
define("BiasAddGrad", ["out_backprop: T"], ["output: T"],
       {"T": ("type", None, dt.NUMERIC), "data_format": ("string", "NHWC", _DATA_FORMATS)}, shape=_bias_add_grad_shape)
define("L2Loss", ["t: T"], ["output: T"], {"T": ("type", None, FLOAT)}, shape=lambda op: TensorShape([]))


@gradient("BiasAdd")
def _bias_add_grad(op: Any, grad: Tensor) -> list:
    return [grad, apply_op("BiasAddGrad", grad, data_format=op.attrs["data_format"])[0]]


@gradient("BiasAddGrad")
def _bias_add_grad_grad(op: Any, grad: Tensor) -> list:
    zeros = array_ops.zeros_like(op.inputs[0])
    return [apply_op("BiasAdd", zeros, grad, data_format=op.attrs["data_format"])[0]]


@gradient("L2Loss")
def _l2_loss_grad(op: Any, grad: Tensor) -> list:
    return [math_ops.multiply(op.inputs[0], grad)]


# -- top_k and in_top_k -----------------------------------------------------------------------
def _top_k_shape(op: Any) -> list:
    shape, k = op.inputs[0].shape, constant_value(op.inputs[1])
    if shape.rank == 0:
        raise ValueError(f"input must have rank >= 1, got shape {shape}")
    if k is not None and int(k) < 0:
        raise ValueError(f"k must be non-negative, got {int(k)}")
    if shape.rank is not None and k is not None and shape[-1] is not None and int(k) > shape[-1]:
        raise ValueError(f"input must have at least k={int(k)} columns, got shape {shape}")
    if shape.rank is None:
        return [shape, shape]
    out = TensorShape(list(shape.dims[:-1]) + [None if k is None else int(k)])
    return [out, out]


def _in_top_k_shape(op: Any) -> TensorShape:
    pred, targets = op.inputs[0].shape, op.inputs[1].shape
    if pred.rank is not None and pred.rank != 2:
        raise ValueError(f"predictions must be 2-D [batch_size, num_classes], got shape {pred}")
    if targets.rank is not None and targets.rank != 1:
        raise ValueError(f"targets must be 1-D [batch_size], got shape {targets}")
    b1, b2 = pred[0], targets[0]
    if b1 is not None and b2 is not None and b1 != b2:
        raise ValueError(f"predictions and targets must have the same first dimension, got shapes {pred} and {targets}")
    return TensorShape([b1 if b1 is not None else b2])


define("TopKV2", ["input: T", "k: int32"], ["values: T", "indices: int32"],
       {"T": ("type", None, REAL), "sorted": ("bool", True)}, shape=_top_k_shape)
define("InTopKV2", ["predictions: float32", "targets: T", "k: T"], ["precision: bool"],
       {"T": ("type", "int32", IDX)}, shape=_in_top_k_shape, differentiable=False)
not_differentiable("InTopKV2")


@gradient("TopKV2")
def _top_k_grad(op: Any, grad_values: Tensor | None, grad_indices: Tensor | None = None) -> list:
    if grad_values is None:
        return [None, None]
    x = op.inputs[0]
    depth = array_ops.shape(x)[-1]
    hot = array_ops.one_hot(op.outputs[1], depth, dtype=grad_values.dtype)  # [..., k, n]
    scattered = math_ops.reduce_sum(math_ops.multiply(hot, array_ops.expand_dims(grad_values, -1)), axis=-2)
    return [scattered, None]


# -- Python wrappers: activations ---------------------------------------------------------------
def _activation(op_type: str, py_name: str, arg: str, example: str, result: str) -> Any:
    def wrapper(features: Any, name: str | None = None) -> Tensor:
        return apply_op(op_type, features, name=name or op_type)[0]

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"Elementwise ``{py_name}`` (op ``{op_type}``); the argument is TF's ``{arg}``.\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.nn.{py_name}({example}))\n        {result}\n")
    return wrapper


relu = _activation("Relu", "relu", "features", "[-1.0, 2.0]", "array([0., 2.], dtype=float32)")
relu6 = _activation("Relu6", "relu6", "features", "[-1.0, 3.0, 9.0]", "array([0., 3., 6.], dtype=float32)")
elu = _activation("Elu", "elu", "features", "[0.0, 2.0]", "array([0., 2.], dtype=float32)")
softplus = _activation("Softplus", "softplus", "features", "[0.0]", "array([0.6931472], dtype=float32)")
sigmoid = _activation("Sigmoid", "sigmoid", "x", "[0.0]", "array([0.5], dtype=float32)")
tanh = _activation("Tanh", "tanh", "x", "[0.0]", "array([0.], dtype=float32)")


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """``features`` where positive, else ``alpha * features`` (op ``LeakyRelu``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.leaky_relu([-1.0, 2.0], alpha=0.1))
        array([-0.1,  2. ], dtype=float32)
    """
    return apply_op("LeakyRelu", features, alpha=float(alpha), name=name or "LeakyRelu")[0]


# -- Python wrappers: softmax and losses ----------------------------------------------------------
def _swap_last(x: Tensor, axis: int, what: str) -> tuple[Tensor, list | None]:
    """Move ``axis`` last (TF's approach for softmax over another axis); returns the permutation used."""
    rank = x.shape.rank
    if rank is None:
        if axis != -1:
            raise ValueError(f"{what} over axis {axis} needs a known rank; logits '{x.name}' have unknown shape")
        return x, None
    if rank == 0:
        raise ValueError(f"{what}: logits '{x.name}' must have rank >= 1, got shape {x.shape}")
    if not -rank <= axis < rank:
        raise ValueError(f"{what}: axis {axis} is out of range for logits '{x.name}' of shape {x.shape}")
    axis %= rank
    if axis == rank - 1:
        return x, None
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return array_ops.transpose(x, perm), perm


def _softmax_like(op_type: str, logits: Any, axis: Any, dim: Any, name: str | None) -> Tensor:
    axis = -1 if axis is None and dim is None else (axis if axis is not None else dim)
    x = convert_to_tensor(logits)
    x, perm = _swap_last(x, int(axis), op_type)
    out = apply_op(op_type, x, name=name if perm is None else None)[0]
    return out if perm is None else array_ops.transpose(out, perm, name=name or "transpose")


def softmax(logits: Any, axis: int | None = None, name: str | None = None, dim: int | None = None) -> Tensor:
    """``exp(logits) / sum(exp(logits))`` over ``axis`` (default last), computed stably for large logits.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.softmax([1000.0, 1000.0]))
        array([0.5, 0.5], dtype=float32)
    """
    return _softmax_like("Softmax", logits, axis, dim, name)


def log_softmax(logits: Any, axis: int | None = None, name: str | None = None, dim: int | None = None) -> Tensor:
    """``logits - log(sum(exp(logits)))`` over ``axis`` (default last), computed stably.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.log_softmax([0.0, 0.0]))
        array([-0.6931472, -0.6931472], dtype=float32)
    """
    return _softmax_like("LogSoftmax", logits, axis, dim, name)


def check_logits(logits: Tensor, labels: Any, fn: str) -> None:
    if not logits.dtype.is_floating:
        hint = ("; the positional order is (logits, labels) — pass labels=..., logits=... by keyword to be sure"
                if isinstance(labels, Tensor) and labels.dtype.is_floating else "")
        raise TypeError(f"{fn}: logits '{logits.name}' must be floating point, got {logits.dtype.name}{hint}")


def _flatten_to_2d(x: Tensor) -> Tensor:
    if x.shape.rank == 2:
        return x
    if x.shape.rank is not None and x.shape[-1] is not None:
        return array_ops.reshape(x, [-1, x.shape[-1]])
    return array_ops.reshape(x, array_ops.stack([-1, array_ops.shape(x)[-1]]))


def _restore_batch(loss: Tensor, like: Tensor) -> Tensor:
    """Reshape a flat [n] loss back to the leading dimensions of ``like``."""
    if like.shape.rank == 2:
        return loss
    if like.shape.rank is not None and like.shape[:-1].is_fully_defined():
        return array_ops.reshape(loss, like.shape[:-1].as_list())
    return array_ops.reshape(loss, array_ops.shape(like)[:-1])


def _move_to_end(x: Tensor, axis: int, fn: str) -> Tensor:
    """Move the class ``axis`` last, keeping the order of the others (the loss keeps that order)."""
    rank = x.shape.rank
    if rank is None:
        if axis != -1:
            raise ValueError(f"{fn} over axis {axis} needs a known rank; logits '{x.name}' have unknown shape")
        return x
    if rank == 0:
        raise ValueError(f"{fn}: logits '{x.name}' must have rank >= 1, got shape {x.shape}")
    if not -rank <= axis < rank:
        raise ValueError(f"{fn}: axis {axis} is out of range for logits '{x.name}' of shape {x.shape}")
    axis %= rank
    if axis == rank - 1:
        return x
    return array_ops.transpose(x, [i for i in range(rank) if i != axis] + [axis])


def _dense_xent(labels: Any, logits: Any, axis: int, name: str | None, fn: str, stop_labels: bool) -> Tensor:
    if labels is None or logits is None:
        raise ValueError(f"{fn} needs both labels and logits")
    logits_t = convert_to_tensor(logits)
    check_logits(logits_t, labels, fn)
    with name_scope(name, default_name="softmax_cross_entropy_with_logits"):
        labels_t = math_ops.cast(convert_to_tensor(labels, dtype=None, preferred_dtype=logits_t.dtype), logits_t.dtype)
        if stop_labels:
            labels_t = array_ops.stop_gradient(labels_t, name="labels_stop_gradient")
        if not logits_t.shape.is_compatible_with(labels_t.shape):
            raise ValueError(f"{fn}: logits '{logits_t.name}' and labels '{labels_t.name}' must have the same shape, "
                             f"got {logits_t.shape} and {labels_t.shape}")
        x, y = _move_to_end(logits_t, axis, fn), _move_to_end(labels_t, axis, fn)
        loss = apply_op("SoftmaxCrossEntropyWithLogits", _flatten_to_2d(x), _flatten_to_2d(y))[0]
        return _restore_batch(loss, x)


def softmax_cross_entropy_with_logits(logits: Any = None, labels: Any = None, dim: int = -1, name: str | None = None,
                                      axis: int | None = None) -> Tensor:
    """Per-example ``-sum(labels * log_softmax(logits))`` (TF 1.x semantics: no gradient flows into labels).

    Pass ``labels=`` and ``logits=`` by keyword (TF 1.x style); the 2016 positional order
    ``(logits, labels)`` of the classic tutorials works too. Each row of ``labels`` should be a
    probability distribution. Use :func:`softmax_cross_entropy_with_logits_v2` to backpropagate into labels.

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.nn.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
        >>> tf.Session().run(loss)
        array([0.6931472], dtype=float32)
    """
    return _dense_xent(labels, logits, axis if axis is not None else dim, name,
                       "softmax_cross_entropy_with_logits", stop_labels=True)


def softmax_cross_entropy_with_logits_v2(labels: Any, logits: Any, axis: int | None = None, name: str | None = None,
                                         dim: int | None = None) -> Tensor:
    """Like :func:`softmax_cross_entropy_with_logits`, but gradients flow into ``labels`` too (TF's v2).

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
        >>> tf.Session().run(loss)
        array([0.6931472], dtype=float32)
    """
    axis = -1 if axis is None and dim is None else (axis if axis is not None else dim)
    return _dense_xent(labels, logits, axis, name, "softmax_cross_entropy_with_logits_v2", stop_labels=False)


def sparse_softmax_cross_entropy_with_logits(logits: Any = None, labels: Any = None, name: str | None = None) -> Tensor:
    """Per-example ``-log_softmax(logits)[label]`` for integer class ``labels`` of shape ``logits.shape[:-1]``.

    Pass ``labels=`` and ``logits=`` by keyword (TF 1.x style); the 2016 positional order
    ``(logits, labels)`` of the classic tutorials works too. A label outside ``[0, num_classes)``
    is an error at run time.

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1], logits=[[0.0, 0.0]])
        >>> tf.Session().run(loss)
        array([0.6931472], dtype=float32)
    """
    fn = "sparse_softmax_cross_entropy_with_logits"
    if labels is None or logits is None:
        raise ValueError(f"{fn} needs both labels and logits")
    logits_t = convert_to_tensor(logits)
    check_logits(logits_t, labels, fn)
    labels_t = convert_to_tensor(labels, dtype=None, preferred_dtype=dt.int64)
    if not labels_t.dtype.is_integer or labels_t.dtype not in IDX:
        raise TypeError(f"{fn}: labels '{labels_t.name}' must be int32 or int64 class indices, got {labels_t.dtype.name}")
    lr, gr = labels_t.shape.rank, logits_t.shape.rank
    if lr is not None and gr is not None and lr != gr - 1:
        raise ValueError(f"{fn}: labels must have rank {gr - 1} (logits' rank minus 1): labels '{labels_t.name}' has "
                         f"shape {labels_t.shape}, logits '{logits_t.name}' has shape {logits_t.shape}")
    with name_scope(name, default_name="SparseSoftmaxCrossEntropyWithLogits"):
        if gr == 2:
            return apply_op("SparseSoftmaxCrossEntropyWithLogits", logits_t, labels_t)[0]
        flat = apply_op("SparseSoftmaxCrossEntropyWithLogits", _flatten_to_2d(logits_t),
                        array_ops.reshape(labels_t, [-1]))[0]
        return _restore_batch(flat, logits_t)


# -- Python wrappers: layers ------------------------------------------------------------------------
def bias_add(value: Any, bias: Any, data_format: str | None = None, name: str | None = None) -> Tensor:
    """Add the 1-D ``bias`` along the channel dimension (last for NHWC, 1 for NCHW) of ``value``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.bias_add([[1.0, 2.0]], [10.0, 20.0]))
        array([[11., 22.]], dtype=float32)
    """
    return apply_op("BiasAdd", value, bias, data_format=data_format or "NHWC", name=name or "BiasAdd")[0]


def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """``sum(t ** 2) / 2``, the usual weight-decay term.

    Example:
        >>> import tensorflux as tf
        >>> print(tf.Session().run(tf.nn.l2_loss([3.0, 4.0])))
        12.5
    """
    return apply_op("L2Loss", t, name=name or "L2Loss")[0]


TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input: Any, k: Any = 1, sorted: bool = True, name: str | None = None) -> TopKV2:  # noqa: A002
    """The ``k`` largest entries of the last dimension and their indices, as a ``(values, indices)`` named tuple.

    Ties go to the lower index. With ``sorted=True`` the values are in descending order.

    Example:
        >>> import tensorflux as tf
        >>> values, indices = tf.nn.top_k([1.0, 5.0, 3.0], k=2)
        >>> tf.Session().run(indices)
        array([1, 2], dtype=int32)
    """
    values, indices = apply_op("TopKV2", input, k, sorted=bool(sorted), name=name or "TopKV2")
    return TopKV2(values, indices)


def in_top_k(predictions: Any, targets: Any, k: Any, name: str | None = None) -> Tensor:
    """Whether ``targets[i]`` is among the ``k`` largest of ``predictions[i]``; ties at the boundary count as in.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.in_top_k([[0.1, 0.9], [0.8, 0.2]], [1, 1], 1))
        array([ True, False])
    """
    targets = convert_to_tensor(targets)
    k = k if isinstance(k, Tensor) else np.array(k, dtype=targets.dtype.np_dtype)
    return apply_op("InTopKV2", predictions, targets, k, name=name or "InTopKV2")[0]
