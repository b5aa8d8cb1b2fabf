"""The fused optimizer update ops: signatures and build-time shape checks."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import apply_op


def test_fused_update_returns_the_new_value():
    w = tf.Variable(np.array([1.0, 2.0]), name="w")
    out = apply_op("ApplyGradientDescent", w._ref, np.float64(0.5), np.array([2.0, 2.0]))[0]
    assert out.shape == tf.TensorShape([2]) and out.dtype == tf.float64
    with tf.Session() as sess:
        sess.run(w.initializer)
        np.testing.assert_allclose(sess.run(out), [0.0, 1.0])
        np.testing.assert_allclose(sess.run(w), [0.0, 1.0])


def test_gradient_of_the_wrong_shape_is_refused_at_build_time():
    w = tf.Variable(np.zeros([2, 3]), name="w")
    with pytest.raises(ValueError, match=r"grad '.*' has shape \(3, 2\), but variable 'w' has shape \(2, 3\)"):
        apply_op("ApplyAdagrad", w._ref, tf.Variable(np.zeros([2, 3]))._ref, np.float64(0.1), np.zeros([3, 2]))


def test_hyperparameters_must_be_scalars():
    w = tf.Variable(np.zeros([2]), name="w")
    with pytest.raises(ValueError, match=r"alpha '.*' must be a scalar, got shape \(2,\)"):
        apply_op("ApplyGradientDescent", w._ref, np.zeros(2), np.zeros(2))


def test_variables_are_passed_by_reference():
    w = tf.Variable(np.zeros([2]), name="w")
    with pytest.raises(TypeError, match="input 'var' must be a variable reference"):
        apply_op("ApplyGradientDescent", w.value(), np.float64(0.1), np.zeros(2))


def test_fused_ops_are_not_differentiable():
    w = tf.Variable(np.ones([2]), name="w")
    out = apply_op("ApplyGradientDescent", w._ref, np.float64(0.1), w.value())[0]
    assert tf.gradients(out, w) == [None]
