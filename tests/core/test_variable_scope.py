"""Variable scopes and get_variable: names, sharing, defaults, regularizers, custom getters and errors."""

import numpy as np
import pytest

import tensorflux as tf


def test_nested_scopes_name_variables_and_ops():
    with tf.variable_scope("outer"):
        with tf.variable_scope("inner"):
            w = tf.get_variable("w", [2, 3])
            c = tf.constant(1.0, name="c")
    assert (w.name, c.name) == ("outer/inner/w:0", "outer/inner/c:0")
    assert w in tf.trainable_variables("outer/inner") and w in tf.global_variables()


def test_reentering_reuses_variable_names_but_opens_a_fresh_name_scope():
    with tf.variable_scope("s") as scope:
        w = tf.get_variable("w", [1])
    with tf.variable_scope(scope, reuse=True):
        again = tf.get_variable("w", [1])
        op = tf.constant(0.0, name="c")
    assert again is w
    assert op.name == "s_1/c:0"
    assert scope.original_name_scope == "s/"


def test_name_scope_does_not_prefix_get_variable():
    with tf.name_scope("ns"):
        v = tf.get_variable("v", [1])
        plain = tf.Variable(1.0, name="plain")
    assert (v.name, plain.name) == ("v:0", "ns/plain:0")


def test_reuse_is_inherited_and_cannot_be_turned_off():
    with tf.variable_scope("a"):
        tf.get_variable("w", [1])
    with tf.variable_scope("a", reuse=True):
        with tf.variable_scope("b", reuse=False):
            assert tf.get_variable_scope().reuse is True


def test_reuse_variables_on_the_scope():
    with tf.variable_scope("r") as scope:
        w = tf.get_variable("w", [2])
        scope.reuse_variables()
        assert tf.get_variable("w", [2]) is w


def test_auto_reuse_creates_then_shares():
    def layer():
        with tf.variable_scope("shared", reuse=tf.AUTO_REUSE):
            return tf.get_variable("w", [3])

    assert layer() is layer()
    assert len(tf.global_variables()) == 1


def test_creating_twice_is_refused_with_tf_message():
    tf.get_variable("w", [1])
    with pytest.raises(ValueError, match=r"Variable w already exists, disallowed\. Did you mean to set reuse=True"):
        tf.get_variable("w", [1])


def test_reusing_a_missing_variable_is_refused_with_tf_message():
    with tf.variable_scope("m", reuse=True):
        with pytest.raises(ValueError, match=r"Variable m/x does not exist, or was not created with tf.get_variable"):
            tf.get_variable("x", [1])


def test_sharing_with_another_shape_or_dtype_is_refused():
    with tf.variable_scope("d"):
        tf.get_variable("w", [2])
    with tf.variable_scope("d", reuse=True):
        with pytest.raises(ValueError, match="specified shape"):
            tf.get_variable("w", [3])
        with pytest.raises(ValueError, match="specified dtype"):
            tf.get_variable("w", [2], dtype=tf.float64)


def test_default_name_is_made_unique_per_parent_entry():
    names = []
    for _ in range(2):
        with tf.variable_scope(None, default_name="dense"):
            names.append(tf.get_variable("w", [1]).name)
    with tf.variable_scope("block"):
        with tf.variable_scope(None, default_name="dense"):
            names.append(tf.get_variable("w", [1]).name)
    with tf.variable_scope("block", reuse=True):
        with tf.variable_scope(None, default_name="dense"):
            names.append(tf.get_variable("w", [1]).name)
    assert names == ["dense/w:0", "dense_1/w:0", "block/dense/w:0", "block/dense/w:0"]


def test_scope_initializer_dtype_and_regularizer_apply():
    def reg(v):
        return tf.reduce_sum(v)

    with tf.variable_scope("init", initializer=tf.constant_initializer(2.0), regularizer=reg, dtype=tf.float64):
        w = tf.get_variable("w", [2])
        b = tf.get_variable("b", [2], initializer=tf.zeros_initializer(), regularizer=lambda v: None)
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert w.dtype == tf.float64 and len(losses) == 1
    assert losses[0].op.name.startswith("init/w/Regularizer/")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w), [2.0, 2.0])
        np.testing.assert_array_equal(sess.run(b), [0.0, 0.0])
        assert sess.run(losses[0]) == 4.0


def test_tensor_and_value_initializers_take_their_shape():
    v = tf.get_variable("v", initializer=tf.constant([1, 2, 3]))
    n = tf.get_variable("n", initializer=np.ones((2, 2), np.float32))
    assert (v.dtype, v.shape.as_list(), n.shape.as_list()) == (tf.int32, [3], [2, 2])
    with pytest.raises(ValueError, match="do not specify shape"):
        tf.get_variable("bad", [3], initializer=tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="don't match"):
        tf.get_variable("bad2", initializer=tf.constant([1, 2]), dtype=tf.float32)


def test_integer_and_bool_default_to_zeros_and_shape_must_be_known():
    i = tf.get_variable("i", [2], dtype=tf.int32)
    with tf.Session() as sess:
        sess.run(i.initializer)
        np.testing.assert_array_equal(sess.run(i), [0, 0])
    with pytest.raises(ValueError, match=r"Shape of a new variable \(u\) must be fully defined"):
        tf.get_variable("u", [None, 2])


def test_custom_getters_nest_inner_first():
    calls = []

    def outer_getter(getter, name, *args, **kwargs):
        calls.append("outer")
        return getter(name, *args, **kwargs)

    def inner_getter(getter, name, *args, **kwargs):
        calls.append("inner")
        kwargs["trainable"] = False
        return getter(name, *args, **kwargs)

    with tf.variable_scope("g", custom_getter=outer_getter):
        with tf.variable_scope("h", custom_getter=inner_getter):
            v = tf.get_variable("v", [1])
    assert calls == ["inner", "outer"]
    assert v.name == "g/h/v:0" and v not in tf.trainable_variables()


def test_local_variables_and_initializers():
    count = tf.get_local_variable("count", [], dtype=tf.int64)
    assert count in tf.local_variables() and count not in tf.global_variables()
    assert count not in tf.trainable_variables()
    with tf.Session() as sess:
        sess.run([tf.local_variables_initializer(), tf.tables_initializer()])
        assert sess.run(count) == 0
    assert tf.tables_initializer().type == "NoOp"


def test_partitioner_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="partitioned variables are not supported"):
        tf.variable_scope("p", partitioner=lambda shape, dtype: [1, 1])
    with pytest.raises(ValueError, match="partitioned variables are not supported"):
        tf.get_variable("q", [4], partitioner=lambda shape, dtype: [2])
    with pytest.raises(TypeError, match="default_name is None"):
        tf.variable_scope(None)
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        tf.variable_scope(None, default_name="x", reuse=True)


def test_each_graph_has_its_own_store():
    with tf.Graph().as_default():
        first = tf.get_variable("w", [1])
    with tf.Graph().as_default():
        second = tf.get_variable("w", [1])
    assert first is not second and first.name == second.name
