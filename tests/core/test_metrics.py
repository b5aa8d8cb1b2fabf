"""tf.metrics against TensorFlow's tf.compat.v1.metrics: values after several update runs, variable names and
collections."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(41)
BATCHES = 3
LABELS = RNG.integers(0, 2, size=(BATCHES, 8)).astype(np.int64)
SCORES = RNG.uniform(size=(BATCHES, 8)).astype(np.float32)
WEIGHTS = RNG.uniform(size=(BATCHES, 8)).astype(np.float32) * (RNG.uniform(size=(BATCHES, 8)) > 0.2)
CLASSES = RNG.integers(0, 3, size=(BATCHES, 8)).astype(np.int32)
GUESSES = RNG.integers(0, 3, size=(BATCHES, 8)).astype(np.int32)

METRICS = {
    "accuracy": lambda lib, y, s, c, g, w: lib.metrics.accuracy(c, g, weights=w),
    "accuracy_column": lambda lib, y, s, c, g, w: lib.metrics.accuracy(lib.expand_dims(c, 1), g, weights=w),
    "mean": lambda lib, y, s, c, g, w: lib.metrics.mean(s, weights=w),
    "mean_squared_error": lambda lib, y, s, c, g, w: lib.metrics.mean_squared_error(lib.cast(y, lib.float32), s,
                                                                                     weights=w),
    "mean_absolute_error": lambda lib, y, s, c, g, w: lib.metrics.mean_absolute_error(lib.cast(y, lib.float32), s,
                                                                                       weights=w),
    "root_mean_squared_error": lambda lib, y, s, c, g, w: lib.metrics.root_mean_squared_error(
        lib.cast(y, lib.float32), s, weights=w),
    "precision": lambda lib, y, s, c, g, w: lib.metrics.precision(y, s > 0.5, weights=w),
    "recall": lambda lib, y, s, c, g, w: lib.metrics.recall(y, s > 0.5, weights=w),
    "true_positives": lambda lib, y, s, c, g, w: lib.metrics.true_positives(y, s > 0.5, weights=w),
    "false_positives": lambda lib, y, s, c, g, w: lib.metrics.false_positives(y, s > 0.5, weights=w),
    "true_negatives": lambda lib, y, s, c, g, w: lib.metrics.true_negatives(y, s > 0.5, weights=w),
    "false_negatives": lambda lib, y, s, c, g, w: lib.metrics.false_negatives(y, s > 0.5, weights=w),
    "auc_roc": lambda lib, y, s, c, g, w: lib.metrics.auc(y, s, weights=w),
    "auc_pr": lambda lib, y, s, c, g, w: lib.metrics.auc(y, s, weights=w, curve="PR", num_thresholds=50),
    "auc_pr_careful": lambda lib, y, s, c, g, w: lib.metrics.auc(y, s, weights=w, curve="PR",
                                                                 summation_method="careful_interpolation"),
    "auc_minoring": lambda lib, y, s, c, g, w: lib.metrics.auc(y, s, weights=w, summation_method="minoring",
                                                               thresholds=[0.25, 0.5, 0.75]),
    "auc_majoring": lambda lib, y, s, c, g, w: lib.metrics.auc(y, s, weights=w, summation_method="majoring"),
    "mean_iou": lambda lib, y, s, c, g, w: lib.metrics.mean_iou(c, g, 3, weights=w),
    "mean_iou_absent_class": lambda lib, y, s, c, g, w: lib.metrics.mean_iou(lib.reshape(c, [2, 4]),
                                                                             lib.reshape(g, [2, 4]), 5, weights=w),
}


def _stream(lib, metric, weighted):
    """Feed BATCHES batches through the metric's update op; the update results, the final value, the names."""
    with lib.Graph().as_default():
        labels = lib.placeholder(lib.int64, [8])
        scores = lib.placeholder(lib.float32, [8])
        classes = lib.placeholder(lib.int32, [8])
        guesses = lib.placeholder(lib.int32, [8])
        weights = lib.placeholder(lib.float32, [8]) if weighted else None
        value, update = METRICS[metric](lib, labels, scores, classes, guesses, weights)
        names = ([v.name for v in lib.local_variables()], [v.name for v in lib.get_collection(
            lib.GraphKeys.METRIC_VARIABLES)], lib.global_variables(), value.dtype.name)
        with lib.Session() as sess:
            sess.run(lib.local_variables_initializer())
            updates = []
            for i in range(BATCHES):
                feed = {labels: LABELS[i], scores: SCORES[i], classes: CLASSES[i], guesses: GUESSES[i]}
                if weighted:
                    feed[weights] = WEIGHTS[i]
                updates.append(sess.run(update, feed))
            final = sess.run(value)
            sess.run(lib.local_variables_initializer())
            reset = sess.run(value)
        return updates, final, reset, names


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("metric", sorted(METRICS))
def test_metric_matches_tf(tfr, metric, weighted):
    theirs, ours = _stream(tfr, metric, weighted), _stream(tf, metric, weighted)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2])
    assert ours[3] == theirs[3]


def _names_and_collections(lib):
    with lib.Graph().as_default():
        acc, acc_update = lib.metrics.accuracy([1, 2], [1, 1], metrics_collections=["values"],
                                               updates_collections=["updates"])
        lib.metrics.accuracy([1, 2], [1, 1])
        with lib.variable_scope("eval"):
            p, p_update = lib.metrics.precision([True], [True], name="prec")
        return ([v.name for v in lib.local_variables()], [t.name for t in lib.get_collection("values")],
                [t.name for t in lib.get_collection("updates")], acc.name, acc_update.name, p.name, p_update.name)


def test_variable_names_and_collections_match_tf(tfr):
    assert _names_and_collections(tf) == _names_and_collections(tfr)


def test_auc_argument_errors():
    with pytest.raises(ValueError, match="curve must be either ROC or PR"):
        tf.metrics.auc([1], [0.5], curve="DET")
    with pytest.raises(ValueError, match="Invalid summation_method"):
        tf.metrics.auc([1], [0.5], summation_method="simpson")
