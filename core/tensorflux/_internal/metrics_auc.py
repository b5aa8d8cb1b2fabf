"""``tf.metrics.auc``: the area under the ROC or precision-recall curve, from confusion counts at thresholds.

The counts of true/false positives/negatives at each of ``num_thresholds`` thresholds accumulate in four
metric variables; the area is a Riemann sum over the thresholds (trapezoidal by default, as TF 1.15).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dtypes
from .graph import Tensor
from .losses import broadcast_weights, safe_div
from .metrics import add_to_collections, align_inputs, metric_variable
from .ops import array_ops, math_ops
from .variable_scope import variable_scope

_KEPSILON = 1e-7  # puts the end thresholds just outside [0, 1], so predictions of exactly 0 or 1 count
_EPSILON = 1e-6  # keeps the rates finite before any example of a class is seen


def thresholds_for(num_thresholds: int, thresholds: Any = None) -> list[float]:
    """TF's threshold list: ``num_thresholds`` evenly spaced over [0, 1], ends nudged outward.

    Example:
        >>> [round(t, 3) for t in thresholds_for(3)]
        [-0.0, 0.5, 1.0]
    """
    if thresholds is not None:
        inner = sorted(float(t) for t in thresholds)
    else:
        if num_thresholds < 2:
            raise ValueError(f"auc: num_thresholds must be > 1, got {num_thresholds}")
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - _KEPSILON] + inner + [1.0 + _KEPSILON]


def confusion_matrix_at_thresholds(labels: Any, predictions: Any, thresholds: list[float],
                                   weights: Any = None) -> tuple[dict, dict]:
    """Variables and update ops counting tp, fn, tn, fp for ``predictions > threshold``, one per threshold."""
    predictions, labels, weights = align_inputs(math_ops.cast(predictions, _dtypes.float32),
                                            math_ops.cast(labels, _dtypes.bool_), weights)
    column = np.asarray(thresholds, np.float32).reshape(-1, 1)
    # [thresholds, examples]: each row compares every prediction with one threshold.
    pred_is_pos = math_ops.greater(array_ops.reshape(predictions, [1, -1]), column)
    label_is_pos = array_ops.reshape(labels, [1, -1])  # broadcasts against the rows of pred_is_pos
    weights_row = None
    if weights is not None:
        weights_row = array_ops.reshape(broadcast_weights(math_ops.cast(weights, _dtypes.float32), predictions),
                                        [1, -1])
    cases = {"tp": ("true_positives", label_is_pos, pred_is_pos),
             "fn": ("false_negatives", label_is_pos, math_ops.logical_not(pred_is_pos)),
             "tn": ("true_negatives", math_ops.logical_not(label_is_pos), math_ops.logical_not(pred_is_pos)),
             "fp": ("false_positives", math_ops.logical_not(label_is_pos), pred_is_pos)}
    values, updates = {}, {}
    for key, (name, label_match, pred_match) in cases.items():
        counter = metric_variable([len(thresholds)], _dtypes.float32, name=name)
        hits = math_ops.cast(math_ops.logical_and(label_match, pred_match), _dtypes.float32)
        if weights_row is not None:
            hits = math_ops.multiply(hits, weights_row)
        values[key] = counter.value()
        updates[key] = counter.assign_add(math_ops.reduce_sum(hits, 1))
    return values, updates


def _pairs(t: Tensor, n: int) -> tuple[Tensor, Tensor]:
    return t[: n - 1], t[1:]


def _interpolated_pr_auc(tp: Tensor, fp: Tensor, fn: Tensor, n: int, name: str) -> Tensor:
    # Davis & Goadrich: precision interpolated along the curve as tp grows linearly with tp + fp.
    tp_hi, tp_lo = _pairs(tp, n)
    p_hi, p_lo = _pairs(math_ops.add(tp, fp), n)
    zero = np.float32(0)
    dtp = math_ops.subtract(tp_hi, tp_lo)
    slope = safe_div(dtp, math_ops.maximum(math_ops.subtract(p_hi, p_lo), zero))
    intercept = math_ops.subtract(tp_lo, math_ops.multiply(slope, p_lo))
    both_positive = math_ops.logical_and(math_ops.greater(p_hi, zero), math_ops.greater(p_lo, zero))
    ratio = array_ops.where(both_positive, safe_div(p_hi, math_ops.maximum(p_lo, zero)), array_ops.ones_like(p_lo))
    increments = safe_div(math_ops.multiply(slope, math_ops.add(dtp, math_ops.multiply(intercept, math_ops.log(ratio)))),
                          math_ops.maximum(math_ops.add(tp_lo, fn[1:]), zero))
    return math_ops.reduce_sum(increments, name=name)


def _area(counts: dict, n: int, curve: str, summation_method: str, name: str) -> Tensor:
    tp, fn, tn, fp = counts["tp"], counts["fn"], counts["tn"], counts["fp"]
    if curve == "PR" and summation_method == "careful_interpolation":
        return _interpolated_pr_auc(tp, fp, fn, n, name)
    eps = np.float32(_EPSILON)
    rec = math_ops.truediv(math_ops.add(tp, eps), math_ops.add(math_ops.add(tp, fn), eps))
    if curve == "ROC":
        x, y = math_ops.truediv(fp, math_ops.add(math_ops.add(fp, tn), eps)), rec
    else:
        x, y = rec, math_ops.truediv(math_ops.add(tp, eps), math_ops.add(math_ops.add(tp, fp), eps))
    x_hi, x_lo = _pairs(x, n)
    y_hi, y_lo = _pairs(y, n)
    if summation_method in ("trapezoidal", "careful_interpolation"):
        heights = math_ops.multiply(math_ops.add(y_hi, y_lo), np.float32(0.5))
    elif summation_method == "minoring":
        heights = math_ops.minimum(y_hi, y_lo)
    else:
        heights = math_ops.maximum(y_hi, y_lo)
    return math_ops.reduce_sum(math_ops.multiply(math_ops.subtract(x_hi, x_lo), heights), name=name)


def auc(labels: Any, predictions: Any, weights: Any = None, num_thresholds: int = 200,
        metrics_collections: Any = None, updates_collections: Any = None, curve: str = "ROC",
        name: str | None = None, summation_method: str = "trapezoidal",
        thresholds: Any = None) -> tuple[Tensor, Tensor]:
    """Streaming area under the ROC (``curve='ROC'``) or precision-recall (``'PR'``) curve.

    ``predictions`` are probabilities in [0, 1]; ``summation_method`` is 'trapezoidal', 'minoring',
    'majoring' or (PR only) 'careful_interpolation'.

    Example:
        >>> import tensorflux as tf
        >>> value, update = tf.metrics.auc(labels=[0, 0, 1, 1], predictions=[0.1, 0.4, 0.35, 0.8])
        >>> with tf.Session() as sess:
        ...     sess.run(tf.local_variables_initializer())
        ...     round(float(sess.run(update)), 2)
        0.75
    """
    if curve not in ("ROC", "PR"):
        raise ValueError(f"curve must be either ROC or PR, {curve} unknown")
    if summation_method not in ("trapezoidal", "careful_interpolation", "minoring", "majoring"):
        raise ValueError(f"Invalid summation_method: {summation_method}")
    with variable_scope(name, default_name="auc"):
        cuts = thresholds_for(num_thresholds, thresholds)
        n = len(cuts)
        values, updates = confusion_matrix_at_thresholds(labels, predictions, cuts, weights)
        value = _area(values, n, curve, summation_method, "value")
        update_op = _area(updates, n, curve, summation_method, "update_op")
        add_to_collections(metrics_collections, value)
        add_to_collections(updates_collections, update_op)
        return value, update_op
