"""``tf.metrics.precision_at_k`` / ``recall_at_k`` and their ``*_at_top_k`` forms: set overlaps of the top-k
predicted classes with the labels, summed over the batches seen.

Per example, the top-k class ids and the label ids are read as sets (duplicates count once), as TF's set ops do:
``tp = |top_k & labels|``, ``fp = |top_k - labels|``, ``fn = |labels - top_k|``. With ``class_id`` both sets are
first reduced to that one class. The counts are float64 metric variables named as TF names them
(``recall_at_5/true_positive_at_5``); the metric is ``tp / (tp + fp)`` or ``tp / (tp + fn)``, NaN before any
count, as in TF.
"""

from __future__ import annotations

from typing import Any

from . import dtypes as _dtypes
from .graph import Tensor, name_scope
from .losses import check_broadcastable
from .metrics import add_to_collections, metric_variable
from .op_builder import convert_to_tensor
from .ops import array_ops, math_ops, nn_ops


def _at_k_name(name: str, k: int | None = None, class_id: int | None = None) -> str:
    name = f"{name}_at_{int(k)}" if k is not None else f"{name}_at_k"
    return name if class_id is None else f"{name}_class{int(class_id)}"


def _expand_labels(labels: Any, predictions: Tensor) -> Tensor:
    """Labels ``[D1, ... DN]`` become ``[D1, ... DN, 1]`` beside ``[D1, ... DN, k]`` predictions."""
    labels = convert_to_tensor(labels)
    lr, pr = labels.shape.rank, predictions.shape.rank
    if lr is None or pr is None:
        raise ValueError(f"at_k metrics: labels '{labels.name}' and predictions '{predictions.name}' need known "
                         "ranks")
    if pr == lr:
        return labels
    if pr == lr + 1:
        with name_scope(None, default_name="expand_labels") as scope:
            return array_ops.expand_dims(labels, -1, name=scope)
    raise ValueError(f"Unexpected labels shape {labels.shape} for predictions shape {predictions.shape}. Predictions "
                     "rank should be the same rank as labels rank or labels rank plus one .")


def _firsts(ids: Tensor) -> Tensor:
    """Whether each entry of the last axis is the first of its value there: the entries that make the set."""
    positions = array_ops.range(0, array_ops.shape(ids)[-1])
    earlier = math_ops.less(array_ops.expand_dims(positions, 1), array_ops.expand_dims(positions, 0))  # [j', j]
    same = math_ops.equal(array_ops.expand_dims(ids, -1), array_ops.expand_dims(ids, -2))
    return math_ops.logical_not(math_ops.reduce_any(math_ops.logical_and(same, earlier), axis=-2))


def _member_of(ids: Tensor, other: Tensor) -> Tensor:
    """Whether each entry of ``ids``' last axis occurs in the same example of ``other``."""
    return math_ops.reduce_any(math_ops.equal(array_ops.expand_dims(ids, -1), array_ops.expand_dims(other, -2)),
                               axis=-1)


def _set_count(ids: Tensor, other: Tensor, inside: bool, class_id: int | None) -> Tensor:
    """Per example: how many distinct values of ``ids`` are (``inside``) or are not in ``other``, restricted to
    ``class_id`` when given."""
    chosen = math_ops.logical_and(_firsts(ids), _member_of(ids, other) if inside
                                  else math_ops.logical_not(_member_of(ids, other)))
    if class_id is not None:
        chosen = math_ops.logical_and(chosen, math_ops.equal(ids, math_ops.cast(class_id, ids.dtype)))
    return math_ops.cast(math_ops.reduce_sum(math_ops.cast(chosen, _dtypes.int32), axis=-1), _dtypes.float64)


def _streaming_count(kind: str, default_name: str, ids: Tensor, other: Tensor, inside: bool, k: int | None,
                     class_id: int | None, weights: Any) -> tuple[Tensor, Tensor]:
    with name_scope(None, default_name=_at_k_name(kind, k, class_id)) as scope:
        with name_scope(None, default_name=default_name):
            count = _set_count(ids, other, inside, class_id)
            if weights is not None:
                weights = convert_to_tensor(weights, preferred_dtype=_dtypes.float64)
                check_broadcastable(weights, count)
                count = math_ops.multiply(count, math_ops.cast(weights, _dtypes.float64))
        batch_total = math_ops.cast(math_ops.reduce_sum(count), _dtypes.float64)
        var = metric_variable([], _dtypes.float64, name=scope)
        return var, var.assign_add(batch_total, name="update")


def _at_top_k(metric: str, labels: Any, predictions_idx: Any, k: int | None, class_id: int | None, weights: Any,
              metrics_collections: Any, updates_collections: Any, name: str | None) -> tuple[Tensor, Tensor]:
    with name_scope(name, default_name=_at_k_name(metric, k, class_id)) as scope:
        predictions_idx = convert_to_tensor(predictions_idx)
        labels = math_ops.cast(_expand_labels(labels, predictions_idx), _dtypes.int64)
        top_k_idx = math_ops.cast(predictions_idx, _dtypes.int64)
        tp, tp_update = _streaming_count("true_positive", "true_positives", top_k_idx, labels, True, k, class_id,
                                         weights)
        if metric == "precision":
            miss, miss_update = _streaming_count("false_positive", "false_positives", top_k_idx, labels, False, k,
                                                 class_id, weights)
        else:
            miss, miss_update = _streaming_count("false_negative", "false_negatives", labels, top_k_idx, False, k,
                                                 class_id, weights)
        value = math_ops.truediv(tp, math_ops.add(tp, miss), name=scope)
        update = math_ops.truediv(tp_update, math_ops.add(tp_update, miss_update), name="update")
        add_to_collections(metrics_collections, value)
        add_to_collections(updates_collections, update)
        return value, update


def recall_at_top_k(labels: Any, predictions_idx: Any, k: int | None = None, class_id: int | None = None,
                    weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
                    name: str | None = None) -> tuple[Tensor, Tensor]:
    """Recall of already-chosen top-k class ids ``predictions_idx`` ``[D1, ... DN, k]`` against integer
    ``labels`` ``[D1, ... DN]`` or ``[D1, ... DN, num_labels]``: ``tp / (tp + fn)`` over the batches seen.

    Example:
        >>> import tensorflux as tf
        >>> r, update = tf.metrics.recall_at_top_k([[1, 3]], [[1, 2]], k=2)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        0.5
    """
    return _at_top_k("recall", labels, predictions_idx, k, class_id, weights, metrics_collections,
                     updates_collections, name)


def precision_at_top_k(labels: Any, predictions_idx: Any, k: int | None = None, class_id: int | None = None,
                       weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
                       name: str | None = None) -> tuple[Tensor, Tensor]:
    """Precision of already-chosen top-k class ids ``predictions_idx`` against integer ``labels``:
    ``tp / (tp + fp)`` over the batches seen.

    Example:
        >>> import tensorflux as tf
        >>> p, update = tf.metrics.precision_at_top_k([[1]], [[1, 2]], k=2)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        0.5
    """
    return _at_top_k("precision", labels, predictions_idx, k, class_id, weights, metrics_collections,
                     updates_collections, name)


def _at_k(metric: str, fn: Any, labels: Any, predictions: Any, k: int, class_id: int | None, weights: Any,
          metrics_collections: Any, updates_collections: Any, name: str | None) -> tuple[Tensor, Tensor]:
    with name_scope(name, default_name=_at_k_name(metric, k, class_id)) as scope:
        _, top_k_idx = nn_ops.top_k(predictions, k)
        return fn(labels, top_k_idx, k, class_id, weights, metrics_collections, updates_collections, scope)


def recall_at_k(labels: Any, predictions: Any, k: int, class_id: int | None = None, weights: Any = None,
                metrics_collections: Any = None, updates_collections: Any = None,
                name: str | None = None) -> tuple[Tensor, Tensor]:
    """Recall of the ``k`` highest-scoring classes of ``predictions`` ``[D1, ... DN, num_classes]`` against
    integer ``labels``; with ``class_id``, the recall of that class alone.

    Example:
        >>> import tensorflux as tf
        >>> r, update = tf.metrics.recall_at_k([[2]], [[0.1, 0.3, 0.6]], k=1)
        >>> r.op.name
        'recall_at_1'
    """
    return _at_k("recall", recall_at_top_k, labels, predictions, k, class_id, weights, metrics_collections,
                 updates_collections, name)


def precision_at_k(labels: Any, predictions: Any, k: int, class_id: int | None = None, weights: Any = None,
                   metrics_collections: Any = None, updates_collections: Any = None,
                   name: str | None = None) -> tuple[Tensor, Tensor]:
    """Precision of the ``k`` highest-scoring classes of ``predictions`` against integer ``labels``; with
    ``class_id``, the precision of that class alone.

    Example:
        >>> import tensorflux as tf
        >>> p, update = tf.metrics.precision_at_k([[2]], [[0.1, 0.3, 0.6]], k=2)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     float(sess.run(update))
        0.5
    """
    return _at_k("precision", precision_at_top_k, labels, predictions, k, class_id, weights, metrics_collections,
                 updates_collections, name)


def sparse_precision_at_k(labels: Any, predictions: Any, k: int, class_id: int | None = None, weights: Any = None,
                          metrics_collections: Any = None, updates_collections: Any = None,
                          name: str | None = None) -> tuple[Tensor, Tensor]:
    """TF 1.x's deprecated name of :func:`precision_at_k`.

    Example:
        >>> import tensorflux as tf
        >>> p, _ = tf.metrics.sparse_precision_at_k([[0]], [[0.9, 0.1]], k=1)
        >>> p.dtype
        tf.float64
    """
    return precision_at_k(labels, predictions, k, class_id, weights, metrics_collections, updates_collections, name)
