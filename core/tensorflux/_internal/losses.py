"""``tf.losses``: TF 1.15's weighted losses, their reductions and the loss collections.

Each loss computes a per-element loss, multiplies it by ``weights`` (a scalar or a tensor that broadcasts to
the losses), reduces it as ``reduction`` says (default ``SUM_BY_NONZERO_WEIGHTS``: the weighted sum divided by
the number of non-zero weights) and adds the result to ``loss_collection`` (``tf.GraphKeys.LOSSES``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dtypes
from .graph import GraphKeys, Tensor, get_default_graph, name_scope
from .op_builder import convert_to_tensor
from .ops import array_ops, math_ops, nn_impl, nn_ops


class Reduction:
    """How a loss is reduced: the names and values of TF 1.15's ``tf.losses.Reduction``.

    Example:
        >>> import tensorflux as tf
        >>> tf.losses.Reduction.SUM_BY_NONZERO_WEIGHTS
        'weighted_sum_by_nonzero_weights'
    """

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key!r}; expected one of {cls.all()}")


def safe_div(numerator: Tensor, denominator: Tensor, name: str | None = None) -> Tensor:
    """``numerator / denominator``, or 0 where the denominator is 0 (and a zero gradient there, not NaN).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(safe_div(tf.constant([1.0, 1.0]), tf.constant([2.0, 0.0])))
        array([0.5, 0. ], dtype=float32)
    """
    zero = math_ops.equal(denominator, np.array(0, denominator.dtype.np_dtype))
    ones = array_ops.ones_like(denominator)
    quotient = math_ops.truediv(numerator, array_ops.where(zero, ones, denominator))
    return array_ops.where(zero, array_ops.zeros_like(quotient), quotient, name=name)


def check_broadcastable(weights: Tensor, values: Tensor, what: str = "weights") -> None:
    """Refuse ``weights`` that cannot scale ``values``: a scalar, or the same rank with each dim 1 or equal."""
    w, v = weights.shape, values.shape
    if w.rank is None or v.rank is None or w.rank == 0:
        return
    if w.rank != v.rank or any(a is not None and b is not None and a != 1 and a != b
                               for a, b in zip(w.as_list(), v.as_list())):
        raise ValueError(f"{what} can not be broadcast to values. values.shape={v}, {what}.shape={w} "
                         f"({what} '{weights.name}')")


def broadcast_weights(weights: Tensor, values: Tensor) -> Tensor:
    """``weights`` expanded to the shape of ``values`` (TF's ``weights_broadcast_ops.broadcast_weights``)."""
    check_broadcastable(weights, values)
    if weights.shape.is_fully_defined() and values.shape.is_fully_defined() and weights.shape == values.shape:
        return weights
    return math_ops.multiply(weights, array_ops.ones_like(values))


def _num_present(losses: Tensor, weights: Any) -> Tensor:
    if isinstance(weights, (float, int)) and not isinstance(weights, bool) and weights != 0.0:
        return math_ops.cast(array_ops.size(losses), _dtypes.float32)
    with name_scope(None, default_name="num_present"):
        weights = math_ops.cast(weights, _dtypes.float32)
        present = array_ops.where(math_ops.equal(weights, np.float32(0)), array_ops.zeros_like(weights),
                                  array_ops.ones_like(weights))
        return math_ops.reduce_sum(broadcast_weights(present, losses))


def add_loss(loss: Any, loss_collection: str | None = GraphKeys.LOSSES) -> None:
    """Add ``loss`` to ``loss_collection`` (nothing when it is None).

    Example:
        >>> import tensorflux as tf
        >>> tf.losses.add_loss(tf.constant(1.0))
        >>> len(tf.losses.get_losses())
        1
    """
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, loss)


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: str | None = None,
                          loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """``losses * weights`` reduced as ``reduction`` says (computed in float32, returned in the losses' dtype).

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.losses.compute_weighted_loss([1.0, 2.0, 3.0], weights=[1.0, 0.0, 1.0])
        >>> float(tf.Session().run(loss))
        2.0
    """
    Reduction.validate(reduction)
    with name_scope(scope, default_name="weighted_loss"):
        losses = convert_to_tensor(losses)
        input_dtype = losses.dtype
        weights_tensor = convert_to_tensor(weights, preferred_dtype=_dtypes.float32)
        check_broadcastable(weights_tensor, losses)
        losses = math_ops.cast(losses, _dtypes.float32)
        weighted = math_ops.multiply(losses, math_ops.cast(weights_tensor, _dtypes.float32))
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = math_ops.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = safe_div(loss, math_ops.reduce_sum(
                    math_ops.multiply(array_ops.ones_like(losses), math_ops.cast(weights_tensor, _dtypes.float32))), name="value")
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = safe_div(loss, _num_present(losses, weights), name="value")
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = safe_div(loss, math_ops.cast(array_ops.size(losses), _dtypes.float32), name="value")
        loss = math_ops.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _floats(labels: Any, predictions: Any, fn: str, labels_name: str = "labels",
            predictions_name: str = "predictions") -> tuple[Tensor, Tensor]:
    if labels is None:
        raise ValueError(f"{fn}: {labels_name} must not be None.")
    if predictions is None:
        raise ValueError(f"{fn}: {predictions_name} must not be None.")
    predictions = math_ops.cast(convert_to_tensor(predictions), _dtypes.float32)
    labels = math_ops.cast(convert_to_tensor(labels), _dtypes.float32)
    if not predictions.shape.is_compatible_with(labels.shape):
        raise ValueError(f"{fn}: Shapes {predictions.shape} and {labels.shape} are incompatible "
                         f"({predictions_name} and {labels_name})")
    return labels, predictions


_REDUCTION = Reduction.SUM_BY_NONZERO_WEIGHTS


def absolute_difference(labels: Any, predictions: Any, weights: Any = 1.0, scope: str | None = None,
                        loss_collection: str | None = GraphKeys.LOSSES, reduction: str = _REDUCTION) -> Tensor:
    """Weighted ``|predictions - labels|``.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.losses.absolute_difference([1.0, 2.0], [2.0, 4.0])))
        1.5
    """
    with name_scope(scope, default_name="absolute_difference") as scope:
        labels, predictions = _floats(labels, predictions, "absolute_difference")
        losses = math_ops.abs(math_ops.subtract(predictions, labels))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: str | None = None,
                       loss_collection: str | None = GraphKeys.LOSSES, reduction: str = _REDUCTION) -> Tensor:
    """Weighted ``(predictions - labels) ** 2``.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.losses.mean_squared_error([1.0, 2.0], [2.0, 4.0])))
        2.5
    """
    with name_scope(scope, default_name="mean_squared_error") as scope:
        labels, predictions = _floats(labels, predictions, "mean_squared_error")
        losses = math_ops.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def log_loss(labels: Any, predictions: Any, weights: Any = 1.0, epsilon: float = 1e-7, scope: str | None = None,
             loss_collection: str | None = GraphKeys.LOSSES, reduction: str = _REDUCTION) -> Tensor:
    """Weighted ``-labels * log(p + eps) - (1 - labels) * log(1 - p + eps)`` for probabilities ``p``.

    Example:
        >>> import tensorflux as tf
        >>> round(float(tf.Session().run(tf.losses.log_loss([1.0], [0.5]))), 4)
        0.6931
    """
    with name_scope(scope, default_name="log_loss") as scope:
        labels, predictions = _floats(labels, predictions, "log_loss")
        eps = np.float32(epsilon)
        positive = math_ops.multiply(labels, math_ops.log(math_ops.add(predictions, eps)))
        negative = math_ops.multiply(math_ops.subtract(np.float32(1), labels),
                                     math_ops.log(math_ops.add(math_ops.subtract(np.float32(1), predictions), eps)))
        losses = math_ops.subtract(math_ops.negative(positive), negative)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def hinge_loss(labels: Any, logits: Any, weights: Any = 1.0, scope: str | None = None,
               loss_collection: str | None = GraphKeys.LOSSES, reduction: str = _REDUCTION) -> Tensor:
    """Weighted ``max(0, 1 - logits * (2 * labels - 1))`` for labels in {0, 1}.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.losses.hinge_loss([1.0, 0.0], [0.5, -2.0])))
        0.25
    """
    with name_scope(scope, default_name="hinge_loss") as scope:
        labels, logits = _floats(labels, logits, "hinge_loss", predictions_name="logits")
        signs = math_ops.subtract(math_ops.multiply(np.float32(2), labels), np.float32(1))
        losses = nn_ops.relu(math_ops.subtract(np.float32(1), math_ops.multiply(logits, signs)))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def huber_loss(labels: Any, predictions: Any, weights: Any = 1.0, delta: float = 1.0, scope: str | None = None,
               loss_collection: str | None = GraphKeys.LOSSES, reduction: str = _REDUCTION) -> Tensor:
    """Weighted Huber loss: ``0.5 * e**2`` for ``|e| <= delta``, ``delta * (|e| - 0.5 * delta)`` beyond.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.losses.huber_loss([0.0, 0.0], [0.5, 3.0])))
        1.3125
    """
    with name_scope(scope, default_name="huber_loss") as scope:
        labels, predictions = _floats(labels, predictions, "huber_loss")
        abs_error = math_ops.abs(math_ops.subtract(predictions, labels))
        quadratic = math_ops.minimum(abs_error, np.float32(delta))
        linear = math_ops.subtract(abs_error, quadratic)
        losses = math_ops.add(math_ops.multiply(np.float32(0.5), math_ops.square(quadratic)),
                              math_ops.multiply(np.float32(delta), linear))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def cosine_distance(labels: Any, predictions: Any, axis: int | None = None, weights: Any = 1.0,
                    scope: str | None = None, loss_collection: str | None = GraphKeys.LOSSES,
                    reduction: str = _REDUCTION, dim: int | None = None) -> Tensor:
    """Weighted ``1 - sum(labels * predictions, axis)`` for unit-normalized inputs.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.losses.cosine_distance([[1.0, 0.0]], [[0.0, 1.0]], axis=1)))
        1.0
    """
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("You must specify 'axis'.")
    with name_scope(scope, default_name="cosine_distance_loss") as scope:
        labels, predictions = _floats(labels, predictions, "cosine_distance")
        products = math_ops.reduce_sum(math_ops.multiply(predictions, labels), axis=axis, keepdims=True)
        losses = math_ops.subtract(np.float32(1), products)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: str | None = None, loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = _REDUCTION) -> Tensor:
    """Weighted sigmoid cross-entropy; ``label_smoothing`` moves labels toward 1/2.

    Example:
        >>> import tensorflux as tf
        >>> round(float(tf.Session().run(tf.losses.sigmoid_cross_entropy([[1.0]], [[0.0]]))), 4)
        0.6931
    """
    if multi_class_labels is None:
        raise ValueError("sigmoid_cross_entropy: multi_class_labels must not be None.")
    if logits is None:
        raise ValueError("sigmoid_cross_entropy: logits must not be None.")
    with name_scope(scope, default_name="sigmoid_cross_entropy_loss") as scope:
        logits = convert_to_tensor(logits)
        labels = math_ops.cast(convert_to_tensor(multi_class_labels), logits.dtype)
        if label_smoothing > 0:
            keep = np.array(1 - label_smoothing, logits.dtype.np_dtype)
            labels = math_ops.add(math_ops.multiply(labels, keep),
                                  np.array(0.5 * label_smoothing, logits.dtype.np_dtype))
        losses = nn_impl.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: str | None = None, loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = _REDUCTION) -> Tensor:
    """Weighted softmax cross-entropy of ``[batch, classes]`` logits; smoothing mixes labels with 1/classes.

    ``weights`` is a scalar or has one entry per example.

    Example:
        >>> import tensorflux as tf
        >>> round(float(tf.Session().run(tf.losses.softmax_cross_entropy([[0.0, 1.0]], [[0.0, 0.0]]))), 4)
        0.6931
    """
    if onehot_labels is None:
        raise ValueError("softmax_cross_entropy: onehot_labels must not be None.")
    if logits is None:
        raise ValueError("softmax_cross_entropy: logits must not be None.")
    with name_scope(scope, default_name="softmax_cross_entropy_loss") as scope:
        logits = convert_to_tensor(logits)
        labels = math_ops.cast(convert_to_tensor(onehot_labels), logits.dtype)
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError(f"softmax_cross_entropy: Shapes {logits.shape} and {labels.shape} are incompatible "
                             "(logits and onehot_labels)")
        if label_smoothing > 0:
            classes = math_ops.cast(array_ops.shape(labels)[-1], logits.dtype)
            keep = np.array(1 - label_smoothing, logits.dtype.np_dtype)
            spread = math_ops.truediv(np.array(label_smoothing, logits.dtype.np_dtype), classes)
            labels = math_ops.add(math_ops.multiply(labels, keep), spread)
        losses = nn_ops.softmax_cross_entropy_with_logits_v2(labels=array_ops.stop_gradient(labels), logits=logits,
                                                             name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def _squeeze_last_if(t: Tensor, rank_over: int, other: Tensor) -> Tensor:
    """``t`` without its size-1 last axis when its rank is ``rank_over`` more than ``other``'s (static ranks)."""
    if t.shape.rank is None or other.shape.rank is None:
        return t
    if t.shape.rank - other.shape.rank == rank_over and t.shape[-1] in (1, None):
        return array_ops.squeeze(t, [-1])
    return t


def sparse_softmax_cross_entropy(labels: Any, logits: Any, weights: Any = 1.0, scope: str | None = None,
                                 loss_collection: str | None = GraphKeys.LOSSES,
                                 reduction: str = _REDUCTION) -> Tensor:
    """Weighted softmax cross-entropy with integer class ``labels`` (``[batch]`` or ``[batch, 1]``).

    Example:
        >>> import tensorflux as tf
        >>> round(float(tf.Session().run(tf.losses.sparse_softmax_cross_entropy([1], [[0.0, 0.0]]))), 4)
        0.6931
    """
    if labels is None:
        raise ValueError("sparse_softmax_cross_entropy: labels must not be None.")
    if logits is None:
        raise ValueError("sparse_softmax_cross_entropy: logits must not be None.")
    with name_scope(scope, default_name="sparse_softmax_cross_entropy_loss") as scope:
        logits = convert_to_tensor(logits)
        labels = convert_to_tensor(labels)
        labels = _squeeze_last_if(labels, 0, logits)  # [batch, 1] labels beside [batch, classes] logits
        weights_tensor = convert_to_tensor(weights, preferred_dtype=_dtypes.float32)
        if weights_tensor.shape.rank:
            weights = _squeeze_last_if(weights_tensor, 1, labels)
        losses = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def mean_pairwise_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: str | None = None,
                                loss_collection: str | None = GraphKeys.LOSSES) -> Tensor:
    """The squared differences between pairs of errors within each example, summed over the batch.

    For errors ``d = predictions - labels`` of one example with ``n`` entries (those whose weight is non-zero),
    the loss is ``2 * sum(d**2) / (n - 1) - 2 * sum(d)**2 / (n * (n - 1))``: the mean of ``(d_i - d_j)**2`` over
    the pairs. ``weights`` (a scalar, or the labels' rank) scale each example's term; there is no reduction
    argument, as in TF 1.15.

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.losses.mean_pairwise_squared_error([[0.0, 0.0, 0.0]], [[1.0, 2.0, 4.0]])
        >>> round(float(tf.Session().run(loss)), 4)
        4.6667
    """
    if labels is None:
        raise ValueError("mean_pairwise_squared_error: labels must not be None.")
    if predictions is None:
        raise ValueError("mean_pairwise_squared_error: predictions must not be None.")
    with name_scope(scope, default_name="mean_pairwise_squared_error"):
        weights = math_ops.cast(convert_to_tensor(weights, preferred_dtype=_dtypes.float32), _dtypes.float32)
        labels, predictions = _floats(labels, predictions, "mean_pairwise_squared_error")
        check_broadcastable(weights, labels)
        diffs = math_ops.subtract(predictions, labels)
        axis = array_ops.range(1, array_ops.rank(diffs))
        sum_squares = math_ops.reduce_sum(math_ops.square(diffs), axis=axis, keepdims=True)
        with name_scope(None, default_name="num_present"):
            present = array_ops.where(math_ops.equal(weights, np.float32(0)), array_ops.zeros_like(weights),
                                      array_ops.ones_like(weights))
            present = broadcast_weights(present, diffs)
            count = math_ops.reduce_sum(present, axis=array_ops.range(1, array_ops.rank(present)), keepdims=True)
        zero, one, two = np.float32(0), np.float32(1), np.float32(2)
        term1 = math_ops.multiply(two, safe_div(sum_squares, math_ops.maximum(math_ops.subtract(count, one), zero),
                                                name="value"))
        sum_diff = math_ops.reduce_sum(diffs, axis=axis, keepdims=True)
        pairs = math_ops.maximum(math_ops.multiply(count, math_ops.subtract(count, one)), zero)
        term2 = math_ops.multiply(two, safe_div(math_ops.square(sum_diff), pairs, name="value"))
        loss = math_ops.reduce_sum(math_ops.multiply(math_ops.subtract(term1, term2), weights))
        mean_loss = array_ops.where(math_ops.greater(math_ops.reduce_sum(count), zero), loss,
                                    array_ops.zeros_like(loss), name="value")
        add_loss(mean_loss, loss_collection)
        return mean_loss


# -- the collections ------------------------------------------------------------------------------------------
def get_losses(scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> list:
    """The losses in ``loss_collection``, optionally those whose names match ``scope``.

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.losses.mean_squared_error([1.0], [0.0])
        >>> tf.losses.get_losses() == [loss]
        True
    """
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list:
    """The losses in ``tf.GraphKeys.REGULARIZATION_LOSSES`` (from ``regularizer=`` arguments).

    Example:
        >>> import tensorflux as tf
        >>> w = tf.get_variable("w", [2], regularizer=tf.nn.l2_loss)
        >>> [t.name for t in tf.losses.get_regularization_losses()]
        ['w/Regularizer/L2Loss:0']
    """
    return get_default_graph().get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: str | None = None, name: str = "total_regularization_loss") -> Tensor:
    """The sum of the regularization losses, or a constant 0.0 when there are none.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.losses.get_regularization_loss()))
        0.0
    """
    losses = get_regularization_losses(scope)
    if losses:
        return math_ops.add_n(losses, name=name)
    return array_ops.constant(0.0)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss",
                   scope: str | None = None) -> Tensor:
    """The sum of ``get_losses()`` and, by default, the regularization losses; ValueError when there are none.

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.losses.absolute_difference([0.0], [2.0])
        >>> float(tf.Session().run(tf.losses.get_total_loss()))
        2.0
    """
    losses = get_losses(scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise ValueError("No losses found: add a tf.losses.* loss or a regularizer before get_total_loss()")
    return math_ops.add_n(losses, name=name)
