"""Clipping: values against numpy, None entries, non-finite norms and gradients."""

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(3)
X = RNG.normal(size=(3, 4))


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def test_clip_by_value_matches_numpy_and_refuses_broadcasting():
    np.testing.assert_allclose(_run(tf.clip_by_value(tf.constant(X), -0.5, 0.5)), np.clip(X, -0.5, 0.5))
    with pytest.raises(ValueError, match="broadcast"):
        tf.clip_by_value(tf.constant([1.0]), tf.zeros([3]), 1.0)


@pytest.mark.parametrize("axes", [None, [0], [1]])
def test_clip_by_norm_matches_numpy(axes):
    norms = np.sqrt((X ** 2).sum(axis=None if axes is None else tuple(axes), keepdims=True))
    expected = X * 1.0 / np.maximum(norms, 1.0)
    np.testing.assert_allclose(_run(tf.clip_by_norm(tf.constant(X), 1.0, axes=axes)), expected, rtol=1e-12)


def test_clip_by_norm_of_zero_has_finite_gradient():
    x = tf.zeros([3], tf.float64)
    (grad,) = tf.gradients(tf.reduce_sum(tf.clip_by_norm(x, 1.0)), [x])
    assert np.all(np.isfinite(_run(grad)))


def test_global_norm_and_clip_by_global_norm_skip_none():
    a, b = tf.constant(X), tf.constant(X[:2] * 3)
    clipped, norm = tf.clip_by_global_norm([a, None, b], 2.0)
    expected_norm = np.sqrt((X ** 2).sum() + ((X[:2] * 3) ** 2).sum())
    assert clipped[1] is None
    got_a, got_b, got_norm = _run([clipped[0], clipped[2], norm])
    np.testing.assert_allclose(got_norm, expected_norm)
    np.testing.assert_allclose(got_a, X * 2.0 / expected_norm)
    np.testing.assert_allclose(got_b, X[:2] * 3 * 2.0 / expected_norm)
    np.testing.assert_allclose(_run(tf.global_norm([a, None])), np.linalg.norm(X))


def test_clip_by_global_norm_below_the_limit_is_identity_and_inf_gives_nan():
    clipped, _ = tf.clip_by_global_norm([tf.constant(X)], 1e6)
    np.testing.assert_allclose(_run(clipped[0]), X)
    poisoned, _ = tf.clip_by_global_norm([tf.constant([np.inf, 1.0])], 1.0)
    assert np.all(np.isnan(_run(poisoned[0])))


def test_sequences_only():
    with pytest.raises(TypeError, match="t_list should be a sequence"):
        tf.clip_by_global_norm(tf.constant([1.0]), 1.0)
    with pytest.raises(TypeError, match="t_list should be a sequence"):
        tf.global_norm(tf.constant([1.0]))


@pytest.mark.parametrize("build", [
    lambda x: tf.clip_by_value(x, -0.7, 0.7),
    lambda x: tf.clip_by_norm(x, 1.0),
    lambda x: tf.clip_by_norm(x, 1.0, axes=[1]),
    lambda x: tf.clip_by_global_norm([x, x * 2.0], 1.5)[0][1],
    lambda x: tf.global_norm([x]),
], ids=["value", "norm", "norm_axis", "global_norm_clip", "global_norm"])
def test_gradients(build):
    x = tf.placeholder(tf.float64, [3, 4])
    y = build(x)
    error = tf.test.compute_gradient_error(x, [3, 4], y, y.shape.as_list(), x_init_value=X, delta=1e-6)
    assert error < 1e-6
