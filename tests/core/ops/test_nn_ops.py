"""tf.nn as a graph-building API: wrappers and their spellings, composite functions, edge values, errors, gradients.

The ops' numerics and gradients over every dtype, shape and attr are the op-info table's
(test_op_table.py); here are the Python wrappers around them (argument orders, axes, ranks), the
functions composed from several ops (moments, batch normalization, embedding lookup, dropout,
sigmoid cross entropy), edge values and the errors, checked against independent numpy references.
"""

import math

import numpy as np
import pytest

import tensorflux as tf


def _rng(seed=0):
    return np.random.default_rng(seed)


# -- numpy references ---------------------------------------------------------------------------------
def _log_softmax(x):
    x = x.astype(np.float64)
    return np.array([[v - m - math.log(sum(math.exp(u - m) for u in row)) for v in row]
                     for row, m in ((r, max(r)) for r in x.reshape(-1, x.shape[-1]))]).reshape(x.shape)


# -- activations ------------------------------------------------------------------------------------
def _sigmoid(x):
    return np.array([1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in x.ravel()]).reshape(
        x.shape)


ACTIVATIONS = [
    (tf.nn.relu, lambda x: np.where(x > 0, x, 0)),
    (tf.nn.relu6, lambda x: np.minimum(np.where(x > 0, x, 0), 6)),
    (tf.nn.elu, lambda x: np.array([v if v > 0 else math.expm1(v) for v in x.ravel()]).reshape(x.shape)),
    (lambda x: tf.nn.leaky_relu(x, alpha=0.3), lambda x: np.where(x > 0, x, 0.3 * x)),
    (tf.nn.softplus, lambda x: np.array([max(v, 0) + math.log1p(math.exp(-abs(v))) for v in x.ravel()]).reshape(x.shape)),
    (tf.nn.sigmoid, _sigmoid),
    (tf.nn.tanh, lambda x: np.array([math.tanh(v) for v in x.ravel()]).reshape(x.shape)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn, reference", ACTIVATIONS)
def test_activations_keep_relative_accuracy_of_tiny_results(sess, fn, reference, dtype):
    """The table compares within an absolute tolerance too; here results as small as 1e-87 keep every digit."""
    x = np.concatenate([_rng().normal(0, 4, 20), [-200.0, -30.0, 0.0, 5.9, 6.1, 30.0, 200.0]]).astype(dtype)
    out = sess.run(fn(tf.constant(x)))
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, reference(x.astype(np.float64)), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-30)


def test_sigmoid_is_accurate_for_very_negative_inputs(sess):
    out = sess.run(tf.nn.sigmoid(tf.constant([-40.0, -700.0], tf.float64)))
    np.testing.assert_allclose(out, [math.exp(-40.0) / (1 + math.exp(-40.0)), math.exp(-700.0)], rtol=1e-12)


def test_activation_shape_is_inferred():
    x = tf.placeholder(tf.float32, [None, 7])
    assert tf.nn.elu(x).shape == [None, 7]


# -- softmax ---------------------------------------------------------------------------------------------
def test_softmax_over_another_axis_and_rank_1(sess):
    x = _rng(2).normal(size=(4, 3)).astype(np.float64)
    out = sess.run(tf.nn.softmax(tf.constant(x), axis=0))
    np.testing.assert_allclose(out, np.exp(_log_softmax(x.T)).T, rtol=1e-12)
    np.testing.assert_allclose(sess.run(tf.nn.softmax(tf.constant(x[0]))), np.exp(_log_softmax(x[:1]))[0], rtol=1e-12)
    np.testing.assert_allclose(sess.run(tf.nn.log_softmax(tf.constant(x), dim=0)), _log_softmax(x.T).T, rtol=1e-12)


def test_softmax_rejects_a_scalar():
    with pytest.raises(ValueError, match=r"Softmax.*rank >= 1"):
        tf.nn.softmax(tf.constant(1.0))


# -- cross-entropy -------------------------------------------------------------------------------------------
def _probabilities(shape, seed):
    p = _rng(seed).random(shape)
    return p / p.sum(axis=-1, keepdims=True)


def test_softmax_cross_entropy_positional_order_is_logits_then_labels(sess):
    logits = _rng(5).normal(size=(3, 4)).astype(np.float32)
    labels = _probabilities((3, 4), 6).astype(np.float32)
    by_keyword = sess.run(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    positional = sess.run(tf.nn.softmax_cross_entropy_with_logits(tf.constant(logits), tf.constant(labels)))
    np.testing.assert_array_equal(positional, by_keyword)


def test_softmax_cross_entropy_other_axis_and_rank_3(sess):
    logits = _rng(7).normal(size=(2, 3, 5))
    labels = _probabilities((2, 3, 5), 8)
    loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.constant(labels), logits=tf.constant(logits))
    assert loss.shape == [2, 3]
    np.testing.assert_allclose(sess.run(loss), -(labels * _log_softmax(logits)).sum(-1), rtol=1e-12)
    moved = tf.nn.softmax_cross_entropy_with_logits(labels=np.moveaxis(labels, -1, 0), logits=np.moveaxis(logits, -1, 0),
                                                    dim=0)
    assert moved.shape == [2, 3]
    np.testing.assert_allclose(sess.run(moved), -(labels * _log_softmax(logits)).sum(-1), rtol=1e-12)
    middle = tf.nn.softmax_cross_entropy_with_logits_v2(labels=np.moveaxis(labels, -1, 1),
                                                        logits=np.moveaxis(logits, -1, 1), axis=1)
    assert middle.shape == [2, 3]
    np.testing.assert_allclose(sess.run(middle), -(labels * _log_softmax(logits)).sum(-1), rtol=1e-12)


def test_sparse_softmax_cross_entropy_keyword_and_2016_positional_order(sess):
    logits = (_rng(11).normal(size=(5, 4)) * 100).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2], np.int64)
    expected = -_log_softmax(logits)[np.arange(5), labels]
    by_keyword = sess.run(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    positional = sess.run(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(logits), tf.constant(labels)))
    np.testing.assert_allclose(by_keyword, expected, rtol=1e-5)
    np.testing.assert_array_equal(positional, by_keyword)


def test_sparse_softmax_cross_entropy_int32_labels_rank_3_logits(sess):
    logits = _rng(12).normal(size=(2, 3, 4))
    labels = np.array([[0, 1, 3], [2, 2, 0]], np.int32)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(labels), logits=tf.constant(logits))
    assert loss.shape == [2, 3]
    expected = -np.take_along_axis(_log_softmax(logits), labels[..., None].astype(np.int64), -1)[..., 0]
    np.testing.assert_allclose(sess.run(loss), expected, rtol=1e-12)


def test_sparse_softmax_cross_entropy_swapped_arguments_say_so():
    with pytest.raises(TypeError, match=r"logits .* must be floating point, got int32.*\(logits, labels\)"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant([1, 0]), tf.constant([[0.5, 1.0], [1.0, 0.0]]))


def test_sparse_softmax_cross_entropy_label_out_of_range_is_an_error(sess):
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([1, 7]), logits=tf.zeros([2, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of 7 .* \[0, 3\)"):
        sess.run(loss)


def test_sparse_softmax_cross_entropy_checks_ranks():
    with pytest.raises(ValueError, match=r"labels must have rank 1"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([[1]]), logits=tf.zeros([1, 3]))


def test_sigmoid_cross_entropy_matches_reference_and_is_stable(sess):
    logits = np.array([-500.0, -3.0, 0.0, 2.5, 500.0])
    labels = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    out = sess.run(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    # -z log(p) - (1 - z) log(1 - p), with log p and log(1 - p) computed without cancellation
    log_p = np.array([-math.log1p(math.exp(-v)) if v >= 0 else v - math.log1p(math.exp(v)) for v in logits])
    log_q = np.array([-v - math.log1p(math.exp(-v)) if v >= 0 else -math.log1p(math.exp(v)) for v in logits])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, -(labels * log_p + (1 - labels) * log_q), rtol=1e-12, atol=1e-300)
    positional = sess.run(tf.nn.sigmoid_cross_entropy_with_logits(tf.constant(logits), tf.constant(labels)))
    np.testing.assert_array_equal(positional, out)


# -- bias_add, l2_loss, moments, batch_normalization ------------------------------------------------------
def test_bias_add_shape_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match=r"BiasAdd.*bias has 4 elements .* 5 channels"):
        tf.nn.bias_add(tf.zeros([2, 5]), tf.zeros([4]))


def test_moments_and_batch_normalization(sess):
    x = _rng(15).normal(3, 2, size=(6, 4))
    mean, var = tf.nn.moments(tf.constant(x), axes=[0])
    m, v = sess.run([mean, var])
    np.testing.assert_allclose(m, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(v, x.var(0), rtol=1e-12)
    kept = tf.nn.moments(tf.constant(x), axes=[0, 1], keep_dims=True)
    assert kept[0].shape == [1, 1] and kept[1].shape == [1, 1]
    scale, offset = np.arange(1.0, 5.0), np.arange(4.0)
    y = sess.run(tf.nn.batch_normalization(tf.constant(x), mean, var, offset, scale, 1e-3))
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) * scale + offset, rtol=1e-10)


def test_moments_of_half_precision_accumulate_in_float32(sess):
    x = np.full(4096, 1000.0, np.float16)
    mean, var = sess.run(tf.nn.moments(tf.constant(x), axes=[0]))
    assert mean.dtype == np.float16 and float(mean) == 1000.0 and float(var) == 0.0


# -- embedding_lookup -----------------------------------------------------------------------------------
def test_embedding_lookup_single_and_sharded(sess):
    table = _rng(16).normal(size=(7, 3))
    ids = np.array([[6, 0, 3], [2, 2, 5]])
    np.testing.assert_allclose(sess.run(tf.nn.embedding_lookup(tf.constant(table), ids)), table[ids])
    mod_shards = [tf.constant(table[i::3]) for i in range(3)]
    np.testing.assert_allclose(sess.run(tf.nn.embedding_lookup(mod_shards, ids)), table[ids])
    div_shards = [tf.constant(table[:3]), tf.constant(table[3:5]), tf.constant(table[5:])]
    np.testing.assert_allclose(sess.run(tf.nn.embedding_lookup(div_shards, ids, partition_strategy="div")), table[ids])


def test_embedding_lookup_max_norm_clips_rows(sess):
    table = np.array([[3.0, 4.0], [0.3, 0.4]])
    out = sess.run(tf.nn.embedding_lookup(tf.constant(table), [0, 1], max_norm=1.0))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-12)


# -- top_k, in_top_k -------------------------------------------------------------------------------------------
def test_top_k_is_a_named_tuple_sorted_with_ties_to_the_lower_index(sess):
    x = np.array([[1.0, 5.0, 3.0, 5.0, -2.0], [0.0, 0.0, 0.0, 1.0, 0.0]], np.float32)
    result = tf.nn.top_k(x, k=3)
    assert result._fields == ("values", "indices")
    assert result.values.shape == [2, 3] and result.indices.dtype == tf.int32
    values, indices = sess.run(result)
    expected = [sorted(range(5), key=lambda i, row=row: (-row[i], i))[:3] for row in x]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(values, np.take_along_axis(x, np.array(expected), 1))


def test_top_k_of_int64_extremes_and_k_too_large(sess):
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    values, indices = sess.run(tf.nn.top_k(tf.constant([lo, hi, 0], tf.int64), k=3))
    np.testing.assert_array_equal(values, [hi, 0, lo])
    np.testing.assert_array_equal(indices, [1, 2, 0])
    with pytest.raises(ValueError, match=r"TopKV2.*at least k=4 columns"):
        tf.nn.top_k(tf.zeros([2, 3]), k=4)


def test_in_top_k_counts_boundary_ties_as_in_and_bad_targets_as_out(sess):
    predictions = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.1, 0.3, 0.0], [0.3, np.nan, 0.1, 0.0], [1, 2, 3, 4]],
                           np.float32)
    targets = np.array([2, 2, 1, 9], np.int32)
    out = sess.run(tf.nn.in_top_k(predictions, targets, 1))
    np.testing.assert_array_equal(out, [True, False, False, False])
    np.testing.assert_array_equal(sess.run(tf.nn.in_top_k(predictions, targets, 2)), [True, True, False, False])


# -- conv2d ----------------------------------------------------------------------------------------------------
def test_conv2d_shape_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"Conv2D.*input has 3 channels but filter .* expects 2"):
        tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 2, 4]), strides=1, padding="SAME")
    with pytest.raises(ValueError, match=r"Conv2D.*strides over the batch and channel dimensions must be 1"):
        tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), strides=[2, 1, 1, 1], padding="SAME")
    with pytest.raises(ValueError, match=r"Conv2D.*smaller than the \(dilated\) window"):
        tf.nn.conv2d(tf.zeros([1, 2, 5, 3]), tf.zeros([3, 3, 3, 4]), strides=1, padding="VALID")
    with pytest.raises(ValueError, match=r"padding must be 'SAME', 'VALID'"):
        tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), strides=1, padding="FULL")


def test_conv2d_with_unknown_batch_infers_the_rest():
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    assert tf.nn.conv2d(x, tf.zeros([5, 5, 1, 32]), strides=[1, 1, 1, 1], padding="SAME").shape == [None, 28, 28, 32]


# -- pooling ----------------------------------------------------------------------------------------------------
def test_pool_errors_name_the_attr():
    with pytest.raises(ValueError, match=r"MaxPool.*ksize over the batch and channel dimensions must be 1"):
        tf.nn.max_pool(tf.zeros([1, 4, 4, 1]), [2, 2, 2, 1], [1, 1, 1, 1], "VALID")
    with pytest.raises(ValueError, match=r"AvgPool: padding must be 'SAME' or 'VALID'"):
        tf.nn.avg_pool(tf.zeros([1, 4, 4, 1]), 2, 2, "EXPLICIT")


# -- dropout ----------------------------------------------------------------------------------------------------
def test_dropout_scales_kept_values_and_drops_about_rate(sess):
    x = np.full(20000, 3.0, np.float32)
    out = sess.run(tf.nn.dropout(tf.constant(x), keep_prob=0.25, seed=7))
    assert set(np.unique(out).tolist()) <= {0.0, 12.0}
    assert abs((out != 0).mean() - 0.25) < 0.02


def test_dropout_rate_equals_one_minus_keep_prob_and_seed_repeats_across_sessions():
    x = tf.ones([64])
    a, b = tf.nn.dropout(x, rate=0.5, seed=3), tf.nn.dropout(x, keep_prob=0.5, seed=3)
    with tf.Session() as s1:
        first = s1.run(a)
        np.testing.assert_array_equal(s1.run(b), first)
    with tf.Session() as s2:
        np.testing.assert_array_equal(s2.run(a), first)


def test_dropout_keep_prob_placeholder(sess):
    keep = tf.placeholder(tf.float32)
    y = tf.nn.dropout(tf.ones([4, 8]), keep)
    np.testing.assert_array_equal(sess.run(y, {keep: 1.0}), np.ones([4, 8]))
    assert set(np.unique(sess.run(y, {keep: 0.5})).tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("kwargs, message", [
    ({"keep_prob": 0.0}, r"keep_prob must be a scalar in the range \(0, 1\], got 0.0"),
    ({"rate": 1.0}, r"rate must be a scalar in the range \[0, 1\), got 1.0"),
    ({"keep_prob": 0.5, "rate": 0.5}, r"exactly one of keep_prob and rate"),
    ({}, r"exactly one of keep_prob and rate"),
])
def test_dropout_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tf.nn.dropout(tf.ones([2]), **kwargs)


# -- gradients (float64, central differences) ----------------------------------------------------------------------
def _grad_error(y, xs, values, delta=1e-6):
    shapes = [list(v.shape) for v in values]
    return tf.test.compute_gradient_error(list(xs), shapes, y, y.shape.as_list(), x_init_value=list(values), delta=delta)


def _away_from_kinks(shape, seed, low=0.1, high=2.0):
    rng = _rng(seed)
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_softmax_cross_entropy_gradients_v1_and_v2():
    logits, labels = tf.placeholder(tf.float64, [3, 4]), tf.placeholder(tf.float64, [3, 4])
    values = [_rng(33).normal(size=(3, 4)) * 3, _probabilities((3, 4), 34)]
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    assert _grad_error(v2, [logits, labels], values) < 1e-7
    v1 = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    error = tf.test.compute_gradient_error(logits, [3, 4], v1, [3], x_init_value=values[0], delta=1e-6,
                                           extra_feed_dict={labels: values[1]})
    assert error < 1e-7
    g_logits, g_labels = tf.gradients(v1, [logits, labels])  # v1 stops the gradient into labels
    assert g_labels is None and g_logits is not None


def test_softmax_cross_entropy_logits_gradient_with_fixed_labels():
    logits = tf.placeholder(tf.float64, [3, 4])
    labels = tf.constant(_probabilities((3, 4), 35))
    for fn in (tf.nn.softmax_cross_entropy_with_logits, tf.nn.softmax_cross_entropy_with_logits_v2):
        assert _grad_error(fn(labels=labels, logits=logits), [logits], [_rng(36).normal(size=(3, 4))]) < 1e-7


def test_gradient_through_the_backprop_output_of_softmax_cross_entropy():
    logits = tf.placeholder(tf.float64, [2, 3])
    loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.constant(_probabilities((2, 3), 37)), logits=logits)
    backprop = loss.op.outputs[1]
    y = tf.reduce_sum(backprop * tf.constant(_rng(38).normal(size=(2, 3)))) + tf.reduce_sum(loss)
    assert _grad_error(y, [logits], [_rng(39).normal(size=(2, 3))]) < 1e-7


def test_sparse_softmax_and_sigmoid_cross_entropy_gradients():
    logits = tf.placeholder(tf.float64, [4, 5])
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([0, 4, 2, 2]), logits=logits)
    assert _grad_error(sparse, [logits], [_rng(40).normal(size=(4, 5)) * 3]) < 1e-7
    x, z = tf.placeholder(tf.float64, [6]), tf.placeholder(tf.float64, [6])
    sig = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
    assert _grad_error(sig, [x, z], [_away_from_kinks((6,), 41) * 5, _rng(42).random(6)]) < 1e-7


def test_conv2d_backprop_ops_gradients():
    x, f = tf.placeholder(tf.float64, [1, 4, 4, 2]), tf.placeholder(tf.float64, [2, 2, 2, 3])
    y = tf.nn.conv2d(x, f, strides=[1, 2, 2, 1], padding="SAME")
    w = tf.placeholder(tf.float64, [1, 2, 2, 3])
    dx, df = tf.gradients(y, [x, f], grad_ys=w)
    values = [_rng(48).normal(size=(1, 4, 4, 2)), _rng(49).normal(size=(2, 2, 2, 3)), _rng(50).normal(size=(1, 2, 2, 3))]
    assert dx.op.type == "Conv2DBackpropInput" and df.op.type == "Conv2DBackpropFilter"
    assert _grad_error(dx, [f, w], values[1:]) < 1e-7
    assert _grad_error(df, [x, w], [values[0], values[2]]) < 1e-7


def test_l2_loss_moments_batch_normalization_gradients():
    x = tf.placeholder(tf.float64, [4, 3])
    value = _rng(53).normal(size=(4, 3))
    assert _grad_error(tf.nn.l2_loss(x), [x], [value]) < 1e-7
    mean, var = tf.nn.moments(x, axes=[0])
    assert _grad_error(mean, [x], [value]) < 1e-7
    assert _grad_error(var, [x], [value]) < 1e-7
    m, v, o, s = (tf.placeholder(tf.float64, [3]) for _ in range(4))
    y = tf.nn.batch_normalization(x, m, v, o, s, 1e-3)
    values = [value, _rng(54).normal(size=3), _rng(55).random(3) + 0.5, _rng(56).normal(size=3), _rng(57).normal(size=3)]
    assert _grad_error(y, [x, m, v, o, s], values) < 1e-6


def test_embedding_lookup_and_top_k_gradients():
    params = tf.placeholder(tf.float64, [5, 2])
    y = tf.nn.embedding_lookup(params, tf.constant([[4, 0], [4, 2]]))
    assert _grad_error(y, [params], [_rng(58).normal(size=(5, 2))]) < 1e-7
    x = tf.placeholder(tf.float64, [2, 5])
    values, indices = tf.nn.top_k(x, k=3)
    assert _grad_error(values, [x], [_rng(59).permutation(10).reshape(2, 5) * 0.1]) < 1e-7
    assert tf.gradients(tf.cast(indices, tf.float64), [x]) == [None]


def test_in_top_k_is_not_differentiable():
    predictions = tf.placeholder(tf.float32, [2, 3])
    hits = tf.cast(tf.nn.in_top_k(predictions, [0, 1], 1), tf.float32)
    assert tf.gradients(hits, [predictions]) == [None]


def test_dropout_gradient_is_the_scaled_mask(sess):
    x = tf.placeholder(tf.float64, [200])
    y = tf.nn.dropout(x, keep_prob=0.5, seed=11)
    (g,) = tf.gradients(y, [x])
    out, grad = sess.run([y, g], {x: np.ones(200)})  # one run: one mask for both
    np.testing.assert_array_equal(grad, out)
    assert set(np.unique(grad).tolist()) == {0.0, 2.0}
