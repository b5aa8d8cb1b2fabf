import numpy as np
import pytest

import tensorflux as tf


def test_hello_string_fetches_as_bytes():
    assert tf.Session().run(tf.constant("Hello")) == b"Hello"


def test_placeholder_variable_scope_collection_graph_runs():
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    with tf.name_scope("layer"):
        w = tf.Variable(tf.ones([3, 2]), name="W")
        y = tf.matmul(x, w)
    tf.add_to_collection("logits", y)
    assert w.name == "layer/W:0"
    assert tf.get_collection("logits") == [y]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(y, {x: [[1, 2, 3]]})
    np.testing.assert_allclose(out, [[6.0, 6.0]])


def test_wrong_shape_feed_names_the_placeholder():
    x = tf.placeholder(tf.float32, shape=[None, 3], name="images")
    with pytest.raises(ValueError, match=r"images:0.*\(\?, 3\)"):
        tf.Session().run(x * 2, {x: [[1.0, 2.0]]})
