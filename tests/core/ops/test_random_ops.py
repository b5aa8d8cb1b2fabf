"""Random ops as a graph-building API: bounds and shapes given as tensors, refused dtypes, and seeding rules.

Shapes, dtypes, supports and distributions (against a numpy sample) of every random op at every dtype are
the op-info table's (test_op_table.py). Moment checks here use N = 20000 samples: the standard error of
the mean is then under 0.01 standard deviations, so the bounds below fail by chance far less often than
once in a million runs.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

N = 20000


def run(fetch, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetch, feed_dict)


# -- random_uniform -----------------------------------------------------------------------------------
def test_random_uniform_excludes_maxval_in_float32():
    out = run(tf.random_uniform([N], dtype=tf.float32, seed=4))
    assert out.max() < 1.0


def test_random_uniform_with_tensor_bounds():
    lo = tf.placeholder(tf.float32, [])
    hi = tf.placeholder(tf.float32, [])
    out = run(tf.random_uniform([1000], lo, hi, seed=5), {lo: 10.0, hi: 11.0})
    assert out.min() >= 10.0 and out.max() <= 11.0


def test_random_uniform_integers_need_maxval_and_minval_below_maxval():
    with pytest.raises(ValueError, match="maxval.*int32"):
        tf.random_uniform([2], dtype=tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"minval < maxval.*5.*5"):
        run(tf.random_uniform([2], minval=5, maxval=5, dtype=tf.int32))


# -- random_normal / truncated_normal -----------------------------------------------------------------
def test_normal_with_tensor_mean_and_stddev():
    mean = tf.placeholder(tf.float32, [])
    out = run(tf.random_normal([N], mean=mean, stddev=tf.constant(0.1), seed=9), {mean: 50.0})
    assert abs(out.mean() - 50.0) < 0.01


# Integer dtypes are valid for random_uniform (as RandomUniformInt, tested above), so it is not listed with them.
@pytest.mark.parametrize("fn, dtype", [
    pytest.param(fn, dtype, id=f"{name}-{dtype.name}")
    for name, fn, dtypes in [("normal", tf.random_normal, (tf.int8, tf.uint8, tf.bool, tf.string)),
                             ("truncated", tf.truncated_normal, (tf.int8, tf.uint8, tf.bool, tf.string)),
                             ("uniform", tf.random_uniform, (tf.bool, tf.string))]
    for dtype in dtypes
])
def test_float_random_ops_reject_other_dtypes(fn, dtype):
    with pytest.raises(TypeError, match=dtype.name):
        fn([2], dtype=dtype)


# -- dynamic shapes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [tf.random_normal, tf.truncated_normal, tf.random_uniform],
                         ids=["normal", "truncated", "uniform"])
def test_shape_from_a_tensor(fn):
    dims = tf.placeholder(tf.int32, [2])
    t = fn(dims, seed=1)
    assert t.shape == [None, None]
    assert run(t, {dims: [3, 4]}).shape == (3, 4)
    like = fn(tf.shape(tf.zeros([2, 5])), seed=1)
    assert like.shape == [2, 5]
    assert run(like).shape == (2, 5)


def test_shape_int64_and_tensorshape():
    assert run(tf.random_normal(np.array([2, 2], np.int64))).shape == (2, 2)
    assert run(tf.random_uniform(tf.TensorShape([3]))).shape == (3,)


# -- seeding ------------------------------------------------------------------------------------------------
def test_each_run_draws_new_values():
    for t in (tf.random_uniform([16]), tf.random_normal([16], seed=1), tf.truncated_normal([16])):
        with tf.Session() as sess:
            assert not np.array_equal(sess.run(t), sess.run(t))


def test_op_seed_repeats_sequences_across_sessions():
    t = tf.random_normal([16], seed=42)
    with tf.Session() as a, tf.Session() as b:
        first = [a.run(t) for _ in range(3)]
        second = [b.run(t) for _ in range(3)]
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)


def test_graph_seed_makes_rebuilt_graphs_repeat():
    def build_and_draw():
        tf.reset_default_graph()
        tf.set_random_seed(1234)
        a, b = tf.random_uniform([8]), tf.random_normal([8])
        with tf.Session() as sess:
            return sess.run([a, b])

    first, second = build_and_draw(), build_and_draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_graph_seed_change_changes_values():
    def draw(seed):
        tf.reset_default_graph()
        tf.set_random_seed(seed)
        return run(tf.random_uniform([8]))

    assert not np.array_equal(draw(1), draw(2))


def test_op_seed_without_graph_seed_is_reproducible_and_differs_by_seed():
    a, b, c = tf.random_uniform([8], seed=1), tf.random_uniform([8], seed=1), tf.random_uniform([8], seed=2)
    x, y, z = run([a, b, c])
    np.testing.assert_array_equal(x, y)
    assert not np.array_equal(x, z)


def _draw_in_a_fresh_graph(graph_seed, op_seed=None):
    tf.reset_default_graph()
    tf.set_random_seed(graph_seed)
    # The random op comes first, so without an op seed it takes op id 0 and the pair (graph_seed, 0).
    a, b = tf.random_uniform([8], seed=op_seed), tf.random_normal([8], seed=op_seed)
    with tf.Session() as sess:
        return sess.run([a, b])


@pytest.mark.parametrize("op_seed", [None, 0], ids=["graph-seed-only", "op-seed-0"])
def test_graph_seed_0_is_reproducible(op_seed):
    # TF maps the seeded pair (0, 0) to (0, 2**31 - 1): seed 0 is a seed like any other, not "nondeterministic".
    first, second = _draw_in_a_fresh_graph(0, op_seed), _draw_in_a_fresh_graph(0, op_seed)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_negative_and_large_seeds_are_reproducible():
    # TF reduces seeds modulo 2**31 - 1; numpy would reject a negative seed outright.
    for graph_seed, op_seed in [(-3, None), (5, -7), (2**40, 2**35)]:
        first, second = _draw_in_a_fresh_graph(graph_seed, op_seed), _draw_in_a_fresh_graph(graph_seed, op_seed)
        np.testing.assert_array_equal(first[0], second[0])
        t = tf.random_uniform([1], seed=op_seed)
        assert 0 <= t.op.get_attr("seed") < 2**31 - 1 and 0 <= t.op.get_attr("seed2") < 2**31 - 1


def test_seed_attrs_follow_tf_rules():
    unseeded = tf.random_normal([1])
    assert (unseeded.op.get_attr("seed"), unseeded.op.get_attr("seed2")) == (0, 0)
    op_seeded = tf.random_normal([1], seed=7)
    assert op_seeded.op.get_attr("seed2") == 7 and op_seeded.op.get_attr("seed") != 0
    tf.set_random_seed(99)
    graph_seeded = tf.random_normal([1])
    assert graph_seeded.op.get_attr("seed") == 99
