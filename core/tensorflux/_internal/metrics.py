"""``tf.metrics``: streaming metrics that accumulate over ``sess.run(update_op)`` calls, as in TF 1.15.

Each metric returns ``(value, update_op)``. Its counters are local variables (``tf.GraphKeys.LOCAL_VARIABLES``
and ``METRIC_VARIABLES``) named under the metric's scope (``accuracy/total:0``), zeroed by
``tf.local_variables_initializer()``; ``update_op`` adds one batch and returns the metric so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dtypes
from .graph import GraphKeys, Tensor, get_default_graph
from .losses import broadcast_weights, safe_div
from .op_builder import convert_to_tensor
from .ops import array_ops, math_ops
from .variable_scope import variable_scope
from .variables import Variable


def metric_variable(shape: Any, dtype: Any, validate_shape: bool = True, name: str | None = None) -> Variable:
    """A zero-initialized, non-trainable local variable in ``METRIC_VARIABLES``: a metric's counter.

    Example:
        >>> import tensorflux as tf
        >>> count = metric_variable([], tf.float32, name="count")
        >>> count in tf.local_variables(), count in tf.get_collection(tf.GraphKeys.METRIC_VARIABLES)
        (True, True)
    """
    dtype = _dtypes.as_dtype(dtype)
    return Variable(lambda: array_ops.zeros(shape, dtype), trainable=False, validate_shape=validate_shape,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES], name=name)


def add_to_collections(collections: Any, value: Any) -> None:
    graph = get_default_graph()
    for key in collections or ():
        graph.add_to_collection(key, value)


def _squeeze_pair(labels: Tensor, predictions: Tensor) -> tuple[Tensor, Tensor]:
    """Drop a size-1 last axis from whichever of labels and predictions has one more dimension."""
    lr, pr = labels.shape.rank, predictions.shape.rank
    if lr is None or pr is None:
        return labels, predictions
    if pr - lr == 1 and predictions.shape[-1] in (1, None):
        predictions = array_ops.squeeze(predictions, [-1])
    elif lr - pr == 1 and labels.shape[-1] in (1, None):
        labels = array_ops.squeeze(labels, [-1])
    return labels, predictions


def align_inputs(predictions: Any, labels: Any, weights: Any) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """TF's ``_remove_squeezable_dimensions``: align predictions, labels and weights of off-by-one ranks."""
    predictions = convert_to_tensor(predictions)
    if labels is not None:
        labels, predictions = _squeeze_pair(convert_to_tensor(labels), predictions)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible (predictions "
                             f"'{predictions.name}' and labels '{labels.name}')")
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights, preferred_dtype=_dtypes.float32)
    wr, pr = weights.shape.rank, predictions.shape.rank
    if wr and pr is not None:
        if wr - pr == 1:
            weights = array_ops.squeeze(weights, [-1])
        elif pr - wr == 1:
            weights = array_ops.expand_dims(weights, -1)
    return predictions, labels, weights


def mean(values: Any, weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
         name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) mean of every ``values`` seen so far.

    Example:
        >>> import tensorflux as tf
        >>> value, update = tf.metrics.mean([1.0, 2.0, 6.0])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        3.0
    """
    with variable_scope(name, default_name="mean"):
        values = math_ops.cast(convert_to_tensor(values), _dtypes.float32)
        total = metric_variable([], _dtypes.float32, name="total")
        count = metric_variable([], _dtypes.float32, name="count")
        if weights is None:
            num_values = math_ops.cast(array_ops.size(values), _dtypes.float32)
        else:
            values, _, weights = align_inputs(values, None, weights)
            weights = broadcast_weights(math_ops.cast(weights, _dtypes.float32), values)
            values = math_ops.multiply(values, weights)
            num_values = math_ops.reduce_sum(weights)
        update_total = total.assign_add(math_ops.reduce_sum(values))
        update_count = count.assign_add(num_values)
        zero = np.float32(0)
        value = safe_div(total, math_ops.maximum(count, zero), name="value")
        update_op = safe_div(update_total, math_ops.maximum(update_count, zero), name="update_op")
        add_to_collections(metrics_collections, value)
        add_to_collections(updates_collections, update_op)
        return value, update_op


def accuracy(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
             updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) fraction of ``predictions`` equal to ``labels``.

    Example:
        >>> import tensorflux as tf
        >>> acc, update = tf.metrics.accuracy(labels=[1, 2, 3, 4], predictions=[1, 2, 0, 0])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        0.5
    """
    predictions, labels, weights = align_inputs(predictions, labels, weights)
    if labels.dtype is not predictions.dtype:
        predictions = math_ops.cast(predictions, labels.dtype)
    is_correct = math_ops.cast(math_ops.equal(predictions, labels), _dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def mean_squared_error(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
                       updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) mean of ``(labels - predictions) ** 2`` so far.

    Example:
        >>> import tensorflux as tf
        >>> mse, update = tf.metrics.mean_squared_error([0.0, 0.0], [1.0, 3.0])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        5.0
    """
    predictions, labels, weights = align_inputs(predictions, labels, weights)
    errors = math_ops.squared_difference(math_ops.cast(labels, _dtypes.float32),
                                         math_ops.cast(predictions, _dtypes.float32))
    return mean(errors, weights, metrics_collections, updates_collections, name or "mean_squared_error")


def mean_absolute_error(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
                        updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) mean of ``|labels - predictions|`` so far.

    Example:
        >>> import tensorflux as tf
        >>> mae, update = tf.metrics.mean_absolute_error([0.0, 0.0], [1.0, -3.0])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        2.0
    """
    predictions, labels, weights = align_inputs(predictions, labels, weights)
    errors = math_ops.abs(math_ops.subtract(math_ops.cast(predictions, _dtypes.float32),
                                            math_ops.cast(labels, _dtypes.float32)))
    return mean(errors, weights, metrics_collections, updates_collections, name or "mean_absolute_error")


def root_mean_squared_error(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
                            updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The square root of the streaming mean squared error.

    Example:
        >>> import tensorflux as tf
        >>> rmse, update = tf.metrics.root_mean_squared_error([0.0, 0.0], [3.0, 4.0])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     round(float(sess.run(update)), 4)
        3.5355
    """
    predictions, labels, weights = align_inputs(predictions, labels, weights)
    mse, update_mse = mean_squared_error(labels, predictions, weights, None, None,
                                         name or "root_mean_squared_error")
    value, update_op = math_ops.sqrt(mse), math_ops.sqrt(update_mse)
    add_to_collections(metrics_collections, value)
    add_to_collections(updates_collections, update_op)
    return value, update_op


# -- confusion counts ------------------------------------------------------------------------------------------
def _count_condition(values: Tensor, weights: Any, metrics_collections: Any,
                     updates_collections: Any) -> tuple[Tensor, Tensor]:
    count = metric_variable([], _dtypes.float32, name="count")
    values = math_ops.cast(values, _dtypes.float32)
    if weights is not None:
        values = math_ops.multiply(values, math_ops.cast(weights, _dtypes.float32))
    value = array_ops.identity(count)
    update_op = count.assign_add(math_ops.reduce_sum(values))
    add_to_collections(metrics_collections, value)
    add_to_collections(updates_collections, update_op)
    return value, update_op


def _confusion_count(default_name: str, label_is: bool, prediction_is: bool) -> Any:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
               updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
        with variable_scope(name, default_name=default_name):
            predictions, labels, weights = align_inputs(math_ops.cast(predictions, _dtypes.bool_),
                                                    math_ops.cast(labels, _dtypes.bool_), weights)
            label_match = labels if label_is else math_ops.logical_not(labels)
            prediction_match = predictions if prediction_is else math_ops.logical_not(predictions)
            return _count_condition(math_ops.logical_and(label_match, prediction_match), weights,
                                    metrics_collections, updates_collections)

    metric.__name__ = metric.__qualname__ = default_name
    metric.__doc__ = (
        f"The (weighted) count of examples whose label is {label_is} and prediction is {prediction_is}.\n\n"
        f"    Example:\n"
        f"        >>> import tensorflux as tf\n"
        f"        >>> value, update = tf.metrics.{default_name}([True, False], [True, False])\n"
        f"        >>> value.name\n"
        f"        '{default_name}/Identity:0'\n")
    return metric


true_positives = _confusion_count("true_positives", True, True)
false_positives = _confusion_count("false_positives", False, True)
true_negatives = _confusion_count("true_negatives", False, False)
false_negatives = _confusion_count("false_negatives", True, False)


def _ratio(hits: Tensor, misses: Tensor, name: str) -> Tensor:
    both = math_ops.add(hits, misses)
    positive = math_ops.greater(both, np.float32(0))
    quotient = math_ops.truediv(hits, array_ops.where(positive, both, array_ops.ones_like(both)))
    return array_ops.where(positive, quotient, array_ops.zeros_like(quotient), name=name)


def _ratio_metric(default_name: str, misses_metric: Any, labels: Any, predictions: Any, weights: Any,
                  metrics_collections: Any, updates_collections: Any, name: str | None) -> tuple[Tensor, Tensor]:
    with variable_scope(name, default_name=default_name):
        predictions, labels, weights = align_inputs(math_ops.cast(predictions, _dtypes.bool_),
                                                math_ops.cast(labels, _dtypes.bool_), weights)
        tp, tp_update = true_positives(labels, predictions, weights)
        misses, misses_update = misses_metric(labels, predictions, weights)
        value = _ratio(tp, misses, "value")
        update_op = _ratio(tp_update, misses_update, "update_op")
        add_to_collections(metrics_collections, value)
        add_to_collections(updates_collections, update_op)
        return value, update_op


def precision(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
              updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """``tp / (tp + fp)`` over boolean labels and predictions so far (0 before any positive prediction).

    Example:
        >>> import tensorflux as tf
        >>> p, update = tf.metrics.precision(labels=[1, 0, 1], predictions=[1, 1, 0])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        0.5
    """
    return _ratio_metric("precision", false_positives, labels, predictions, weights, metrics_collections,
                         updates_collections, name)


def recall(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
           updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """``tp / (tp + fn)`` over boolean labels and predictions so far (0 before any positive label).

    Example:
        >>> import tensorflux as tf
        >>> r, update = tf.metrics.recall(labels=[1, 1, 0, 1], predictions=[1, 0, 0, 1])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     round(float(sess.run(update)), 4)
        0.6667
    """
    return _ratio_metric("recall", false_negatives, labels, predictions, weights, metrics_collections,
                         updates_collections, name)


# -- mean intersection over union --------------------------------------------------------------------------------
def _confusion_matrix(labels: Tensor, predictions: Tensor, num_classes: int, weights: Any) -> Tensor:
    """``cm[i, j]``: the (weighted) count of examples labelled ``i`` and predicted ``j``, in float64 (ids outside
    ``[0, num_classes)`` count nowhere)."""
    rows = array_ops.one_hot(labels, num_classes, dtype=_dtypes.float64)
    cols = array_ops.one_hot(predictions, num_classes, dtype=_dtypes.float64)
    if weights is not None:
        rows = math_ops.multiply(rows, array_ops.expand_dims(math_ops.cast(weights, _dtypes.float64), -1))
    return math_ops.matmul(rows, cols, transpose_a=True)


def mean_iou(labels: Any, predictions: Any, num_classes: int, weights: Any = None, metrics_collections: Any = None,
             updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean over classes of ``tp / (tp + fp + fn)`` (intersection over union), from a streaming confusion
    matrix; classes never labelled nor predicted are left out of the mean.

    The ``[num_classes, num_classes]`` float64 counts live in ``mean_iou/total_confusion_matrix``; labels and
    predictions of any shape are flattened, as in TF.

    Example:
        >>> import tensorflux as tf
        >>> iou, update = tf.metrics.mean_iou(labels=[0, 0, 1, 1], predictions=[0, 1, 1, 1], num_classes=2)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     _ = sess.run(update)
        ...     round(float(sess.run(iou)), 4)
        0.5833
    """
    with variable_scope(name, default_name="mean_iou"):
        predictions, labels = convert_to_tensor(predictions), convert_to_tensor(labels)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"mean_iou: Shapes {predictions.shape} and {labels.shape} are incompatible (predictions "
                             f"'{predictions.name}' and labels '{labels.name}')")
        num_classes = int(num_classes)
        total_cm = metric_variable([num_classes, num_classes], _dtypes.float64, name="total_confusion_matrix")
        flat = [array_ops.reshape(math_ops.cast(t, _dtypes.int64), [-1]) for t in (labels, predictions)]
        if weights is not None:
            weights = convert_to_tensor(weights, preferred_dtype=_dtypes.float32)
            if weights.shape.rank is None or weights.shape.rank > 1:
                weights = array_ops.reshape(weights, [-1])
        update_op = total_cm.assign_add(_confusion_matrix(flat[0], flat[1], num_classes, weights))
        sum_over_row = math_ops.cast(math_ops.reduce_sum(total_cm, 0), _dtypes.float32)
        sum_over_col = math_ops.cast(math_ops.reduce_sum(total_cm, 1), _dtypes.float32)
        diag = math_ops.reduce_sum(math_ops.multiply(total_cm, np.eye(num_classes)), 1)
        cm_diag = math_ops.cast(diag, _dtypes.float32)
        denominator = math_ops.subtract(math_ops.add(sum_over_row, sum_over_col), cm_diag)
        zero = np.float32(0)
        num_valid = math_ops.reduce_sum(math_ops.cast(math_ops.not_equal(denominator, zero), _dtypes.float32))
        # A class absent from both labels and predictions has a zero denominator: it is kept out of the mean.
        denominator = array_ops.where(math_ops.greater(denominator, zero), denominator,
                                      array_ops.ones_like(denominator))
        iou = math_ops.truediv(cm_diag, denominator)
        valid = math_ops.greater(num_valid, zero)
        mean_value = math_ops.truediv(math_ops.reduce_sum(iou, name="mean_iou"),
                                      array_ops.where(valid, num_valid, array_ops.ones_like(num_valid)))
        value = array_ops.where(valid, mean_value, array_ops.zeros_like(mean_value))
        add_to_collections(metrics_collections, value)
        add_to_collections(updates_collections, update_op)
        return value, update_op
