"""The example plugin's own tests: run them after installing the package (pip install .[test])."""

import numpy as np
import pytest
from tfx_example_plugin import swish

import tensorflux as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def test_swish_forward_matches_numpy():
    x = np.linspace(-30, 30, 13)
    expected = x / (1 + np.exp(-x))
    np.testing.assert_allclose(tf.Session().run(swish(x)), expected, rtol=1e-12)


def test_swish_gradient_matches_numeric():
    x = tf.constant(np.linspace(-3, 3, 7))
    assert tf.test.compute_gradient_error(x, [7], swish(x), [7]) < 1e-8


def test_swish_shape_is_inferred():
    assert swish(tf.placeholder(tf.float32, [None, 4])).shape.as_list() == [None, 4]


def test_lion_matches_its_update_rule():
    lr, b1, b2 = 0.1, 0.9, 0.99
    w0 = np.array([1.0, -2.0, 0.5])
    w = tf.Variable(w0)
    loss = tf.reduce_sum(tf.square(w))
    train = tf.train.get_optimizer("lion")(lr, beta1=b1, beta2=b2).minimize(loss)
    expected, m = w0.copy(), np.zeros(3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(train)
            g = 2 * expected
            expected = expected - lr * np.sign(b1 * m + (1 - b1) * g)
            m = b2 * m + (1 - b2) * g
        np.testing.assert_allclose(sess.run(w), expected, atol=1e-12)


def test_rawdir_format_round_trip_and_detection(tmp_path):
    v = tf.Variable(np.arange(6.0).reshape(2, 3), name="v")
    saver = tf.train.Saver(format="rawdir")
    with tf.Session() as sess:
        sess.run(v.initializer)
        prefix = saver.save(sess, str(tmp_path / "model"))
        sess.run(v.assign(np.zeros((2, 3))))
        tf.train.Saver().restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(v), np.arange(6.0).reshape(2, 3))
    assert (tmp_path / "model.rawidx").exists()


def test_rawdir_rejects_corrupt_data(tmp_path):
    v = tf.Variable(np.ones(4), name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        prefix = tf.train.Saver(format="rawdir").save(sess, str(tmp_path / "m"))
        data = tmp_path / "m.rawdata"
        raw = data.read_bytes()
        data.write_bytes(bytes([raw[0] ^ 0xFF]) + raw[1:])
        with pytest.raises(Exception, match="'v' is corrupt"):
            tf.train.Saver().restore(sess, prefix)
