"""tf.init_scope and variables first asked for inside traced functions: they live in the user's graph, named by the
variable scope around the call, with their regularizer losses there too."""

import numpy as np

import tensorflux as tf


def test_get_variable_inside_a_scan_is_created_in_the_outer_graph_and_shared():
    def step(acc, x):
        w = tf.get_variable("w", [2, 2], initializer=tf.ones_initializer(), regularizer=tf.nn.l2_loss)
        return tf.matmul(x, w) + acc

    with tf.variable_scope("outer"):
        ys = tf.scan(step, tf.ones([3, 1, 2]), initializer=tf.zeros([1, 2]))
    graph = tf.get_default_graph()
    (w,) = tf.global_variables()
    assert w.name == "outer/w:0" and w.graph is graph
    (loss,) = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert loss.graph is graph and loss.op.name == "outer/w/Regularizer/L2Loss"
    (grad,) = tf.gradients(tf.reduce_sum(ys), [w])
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    values, g = sess.run([ys, grad])
    np.testing.assert_allclose(values[:, 0], [[2, 2], [4, 4], [6, 6]])
    np.testing.assert_allclose(g, np.full((2, 2), 6.0))
    with tf.variable_scope("outer", reuse=True):
        assert tf.get_variable("w") is w


def test_a_layer_first_called_in_a_cond_branch_keeps_its_variables_outside():
    x = tf.ones([1, 3])
    flag = tf.placeholder(tf.bool, [])
    layer = tf.layers.Dense(2, kernel_regularizer=tf.nn.l2_loss)
    y = tf.cond(flag, lambda: layer(x), lambda: tf.zeros([1, 2]))
    assert [v.name for v in tf.global_variables()] == ["dense/kernel:0", "dense/bias:0"]
    assert len(layer.losses) == 1 and layer.losses[0].graph is tf.get_default_graph()
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    assert sess.run(y, {flag: True}).shape == (1, 2)


def test_init_scope_clears_control_dependencies_and_leaves_function_graphs():
    x = tf.constant(1.0)
    with tf.control_dependencies([x]), tf.init_scope():
        y = tf.constant(2.0)
    assert y.op.control_inputs == []
    seen = []

    def branch():
        with tf.name_scope("inner"), tf.init_scope():
            seen.append(tf.constant(3.0, name="lifted"))
        return x * 2.0

    tf.cond(tf.constant(True), branch, lambda: x)
    (lifted,) = seen
    assert lifted.graph is tf.get_default_graph() and lifted.op.name.endswith("inner/lifted")
