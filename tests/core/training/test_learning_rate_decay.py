"""Learning-rate schedules of the global step."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf


def values_over_steps(lr, step, n):
    out = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for k in range(n):
            step.load(k, sess)
            out.append(sess.run(lr))
    return np.array(out)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    step = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(0.1, step, decay_steps=4, decay_rate=0.5, staircase=staircase, name="lr")
    assert lr.op.name == "lr" and lr.dtype == tf.float32
    steps = np.arange(10)
    exponent = np.floor(steps / 4) if staircase else steps / 4
    np.testing.assert_allclose(values_over_steps(lr, step, 10), 0.1 * 0.5 ** exponent, rtol=1e-6)


def test_exponential_decay_keeps_the_learning_rate_dtype():
    step = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(tf.constant(0.2, tf.float64), step, 10, 0.9)
    assert lr.dtype == tf.float64
    np.testing.assert_allclose(values_over_steps(lr, step, 3), 0.2 * 0.9 ** (np.arange(3) / 10), rtol=1e-12)


def test_inverse_time_decay():
    step = tf.train.get_or_create_global_step()
    lr = tf.train.inverse_time_decay(0.1, step, decay_steps=2, decay_rate=0.5)
    np.testing.assert_allclose(values_over_steps(lr, step, 5), 0.1 / (1 + 0.5 * np.arange(5) / 2), rtol=1e-6)


def test_decay_needs_a_global_step():
    with pytest.raises(ValueError, match="exponential_decay needs a global_step"):
        tf.train.exponential_decay(0.1, None, 10, 0.5)
