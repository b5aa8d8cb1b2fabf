"""tf.metrics.{precision,recall}_at_k and *_at_top_k against TensorFlow's tf.compat.v1.metrics: values over several
batches (label sets with repeats and out-of-range ids, class_id, weights), variable names and NaN before data."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(43)
BATCHES, CLASSES = 3, 6
SCORES = RNG.uniform(size=(BATCHES, 5, CLASSES)).astype(np.float32)
# Several labels per example, with a repeated label and ids outside [0, CLASSES).
MULTI = RNG.integers(0, CLASSES, size=(BATCHES, 5, 2)).astype(np.int64)
MULTI[0, 0] = [3, 3]
MULTI[1, 2] = [7, 1]
SINGLE = RNG.integers(0, CLASSES, size=(BATCHES, 5)).astype(np.int64)
WEIGHTS = RNG.uniform(size=(BATCHES, 5)).astype(np.float64)
TOP = RNG.integers(0, CLASSES, size=(BATCHES, 5, 2)).astype(np.int32)

CASES = {
    "recall_at_k": lambda lib, s, m, o, w, t, k, c: lib.metrics.recall_at_k(m, s, k, class_id=c),
    "recall_at_k_single": lambda lib, s, m, o, w, t, k, c: lib.metrics.recall_at_k(o, s, k, class_id=c, weights=w),
    "precision_at_k": lambda lib, s, m, o, w, t, k, c: lib.metrics.precision_at_k(m, s, k, class_id=c, weights=w),
    "precision_at_k_single": lambda lib, s, m, o, w, t, k, c: lib.metrics.precision_at_k(o, s, k, class_id=c),
    "sparse_precision_at_k": lambda lib, s, m, o, w, t, k, c: lib.metrics.sparse_precision_at_k(m, s, k, class_id=c),
    "recall_at_top_k": lambda lib, s, m, o, w, t, k, c: lib.metrics.recall_at_top_k(m, t, class_id=c, weights=w),
    "precision_at_top_k": lambda lib, s, m, o, w, t, k, c: lib.metrics.precision_at_top_k(o, t, k=2, class_id=c),
}


def _stream(lib, case, k, class_id):
    with lib.Graph().as_default():
        scores = lib.placeholder(lib.float32, [5, CLASSES])
        multi = lib.placeholder(lib.int64, [5, 2])
        single = lib.placeholder(lib.int64, [5])
        weights = lib.placeholder(lib.float64, [5])
        top = lib.placeholder(lib.int32, [5, 2])
        value, update = CASES[case](lib, scores, multi, single, weights, top, k, class_id)
        names = (sorted(v.name for v in lib.local_variables()), value.name, value.dtype.name)
        with lib.Session() as sess:
            sess.run(lib.local_variables_initializer())
            before = sess.run(value)
            updates = [sess.run(update, {scores: SCORES[i], multi: MULTI[i], single: SINGLE[i], weights: WEIGHTS[i],
                                         top: TOP[i]}) for i in range(BATCHES)]
            return before, updates, sess.run(value), names


@pytest.mark.parametrize("k, class_id", [(1, None), (3, 1)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_at_k_matches_tf(tfr, case, k, class_id):
    theirs, ours = _stream(tfr, case, k, class_id), _stream(tf, case, k, class_id)
    assert ours[3] == theirs[3]
    np.testing.assert_allclose(ours[0], theirs[0])  # NaN before any count, as TF
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_at_k_collections_and_label_rank_errors():
    value, update = tf.metrics.recall_at_k([[1]], [[0.2, 0.8]], 1, metrics_collections=["v"],
                                           updates_collections=["u"], name="r")
    assert tf.get_collection("v") == [value] and tf.get_collection("u") == [update]
    with pytest.raises(ValueError, match="Predictions rank should be the same rank as labels rank or labels rank plus"):
        tf.metrics.precision_at_top_k(tf.zeros([2, 2, 2], tf.int64), tf.zeros([2], tf.int64))
