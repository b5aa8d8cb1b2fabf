"""Variables: creation, initializers, assignment ops, collections and per-session storage."""

import numpy as np
import pytest

import tensorflux as tf


# -- creation -----------------------------------------------------------------------------------------
def test_variable_names_shape_dtype_and_ops():
    with tf.name_scope("layer"):
        w = tf.Variable(tf.zeros([3, 2]), name="W")
    assert w.name == "layer/W:0" and w.op.name == "layer/W" and w.op.type == "VariableV2"
    assert w.shape == [3, 2] and w.get_shape() == [3, 2] and w.dtype is tf.float32
    assert w.initializer.type == "Assign"
    assert w.value().op.type == "Identity" and w.value().name == "layer/W/read:0"
    assert w.graph is tf.get_default_graph()
    assert repr(w) == "<tf.Variable 'layer/W:0' shape=(3, 2) dtype=float32>"


def test_duplicate_variable_names_are_made_unique():
    a, b = tf.Variable(1.0, name="v"), tf.Variable(1.0, name="v")
    assert (a.name, b.name) == ("v:0", "v_1:0")
    assert tf.Variable(1.0).name == "Variable:0"


@pytest.mark.parametrize("initial, dtype, expected", [
    ([1.0, 2.0], None, np.array([1.0, 2.0], np.float32)),
    (3, None, np.int32(3)),
    (3, tf.float32, np.float32(3)),
    (np.arange(4, dtype=np.float64).reshape(2, 2), None, np.arange(4, dtype=np.float64).reshape(2, 2)),
    ([True, False], None, np.array([True, False])),
    ("text", None, b"text"),
])
def test_initial_values_and_dtypes(sess, initial, dtype, expected):
    v = tf.Variable(initial, dtype=dtype)
    sess.run(v.initializer)
    out = sess.run(v)
    assert np.asarray(out).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(out, expected)


def test_dtype_argument_casts_a_tensor_initial_value(sess):
    v = tf.Variable(tf.constant([1, 2]), dtype=tf.float64)
    assert v.dtype is tf.float64
    sess.run(v.initializer)
    assert sess.run(v).dtype == np.float64


def test_callable_initial_value_builds_under_initializer_scope(sess):
    v = tf.Variable(lambda: tf.ones([2]), name="lazy")
    assert v.initial_value.name.startswith("lazy/Initializer/")
    sess.run(v.initializer)
    np.testing.assert_array_equal(sess.run(v), [1.0, 1.0])


def test_variable_requires_an_initial_value():
    with pytest.raises(ValueError, match="initial_value"):
        tf.Variable()


def test_partially_known_initial_shape_needs_validate_shape_false():
    x = tf.placeholder(tf.float32, [None])
    with pytest.raises(ValueError, match=r"'v'.*\(\?,\)"):
        tf.Variable(x, name="v")
    v = tf.Variable(x, validate_shape=False, name="free")
    assert v.shape.rank is None


def test_initializer_ignores_enclosing_control_dependencies(sess):
    gate = tf.no_op(name="gate")
    with tf.control_dependencies([gate]):
        v = tf.Variable(1.0)
    assert gate not in v.initial_value.op.control_inputs


# -- initializers ---------------------------------------------------------------------------------------
def test_uninitialized_read_names_the_variable(sess):
    v = tf.Variable([1.0], name="weights")
    for fetch in (v, v + 1, v.read_value()):
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value weights") as info:
            sess.run(fetch)
        assert "global_variables_initializer" in str(info.value)


@pytest.mark.parametrize("init", [tf.global_variables_initializer, tf.initialize_all_variables])
def test_global_initializers_initialize_every_variable(sess, init):
    a, b = tf.Variable(1.0), tf.Variable([2, 3])
    op = init()
    assert isinstance(op, tf.Operation)
    sess.run(op)
    assert sess.run(a) == 1.0
    assert sess.run(b).tolist() == [2, 3]


def test_variables_initializer_initializes_only_its_list(sess):
    a, b = tf.Variable(1.0, name="a"), tf.Variable(2.0, name="b")
    sess.run(tf.variables_initializer([a]))
    assert sess.run(a) == 1.0
    with pytest.raises(tf.errors.FailedPreconditionError, match="value b"):
        sess.run(b)
    assert sess.run([a.is_initialized(), b.is_initialized()]) == [True, False]


def test_initial_value_may_read_another_variable(sess):
    a = tf.Variable(2.0, name="a")
    b = tf.Variable(a * 3, name="b")
    sess.run(a.initializer)
    sess.run(b.initializer)
    assert sess.run(b) == 6.0


def test_reinitializing_resets_the_value(sess):
    v = tf.Variable(1.0)
    sess.run(v.initializer)
    sess.run(v.assign(9.0))
    sess.run(v.initializer)
    assert sess.run(v) == 1.0


# -- assignment -------------------------------------------------------------------------------------------
def test_assign_assign_add_assign_sub_and_read_value(sess):
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    np.testing.assert_array_equal(sess.run(v.assign([5.0, 6.0])), [5.0, 6.0])
    np.testing.assert_array_equal(sess.run(tf.assign_add(v, [1.0, 1.0])), [6.0, 7.0])
    np.testing.assert_array_equal(sess.run(tf.assign_sub(v, [2.0, 4.0])), [4.0, 3.0])
    np.testing.assert_array_equal(sess.run(v.assign_add(1.0)), [5.0, 4.0])  # broadcasts a scalar
    np.testing.assert_array_equal(sess.run(v.assign_sub(1.0)), [4.0, 3.0])
    np.testing.assert_array_equal(sess.run(v.read_value()), [4.0, 3.0])
    np.testing.assert_array_equal(sess.run(tf.assign(v, [0.0, 0.0])), [0.0, 0.0])
    np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])


def test_assign_with_read_value_false_returns_the_op(sess):
    v = tf.Variable(1.0)
    sess.run(v.initializer)
    op = v.assign(2.0, read_value=False)
    assert isinstance(op, tf.Operation) and sess.run(op) is None
    assert sess.run(v) == 2.0


@pytest.mark.parametrize("dtype", [tf.int8, tf.int32, tf.int64, tf.uint8, tf.float16, tf.bfloat16, tf.float64])
def test_counter_increments_keep_the_dtype(sess, dtype):
    v = tf.Variable(tf.zeros([2], dtype), name="count")
    inc = tf.assign_add(v, tf.ones([2], dtype))
    sess.run(v.initializer)
    for _ in range(3):
        sess.run(inc)
    out = sess.run(v)
    assert out.dtype == dtype.np_dtype
    np.testing.assert_array_equal(out.astype(np.float64), [3.0, 3.0])


def test_assign_shape_mismatch_names_variable_and_shapes():
    v = tf.Variable([1.0, 2.0], name="weights")
    with pytest.raises(ValueError, match=r"Assign.*'weights'.*\(2,\).*|Assign.*\(3,\).*'weights'.*\(2,\)"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'weights'.*\(2,\)"):
        v.assign_add([1.0, 2.0, 3.0])


def test_assign_dtype_mismatch_names_op_and_dtypes():
    v = tf.Variable([1.0, 2.0], name="weights")
    with pytest.raises(TypeError, match=r"Assign.*int32.*float32"):
        v.assign(tf.constant([1, 2]))


def test_assign_without_validate_shape_changes_shape(sess):
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    sess.run(tf.assign(v, [1.0, 2.0, 3.0], validate_shape=False))
    np.testing.assert_array_equal(sess.run(v), [1.0, 2.0, 3.0])


def test_assign_requires_a_variable_reference():
    with pytest.raises(TypeError, match="variable reference"):
        tf.extend.apply_op("Assign", tf.constant(1.0), 2.0)


def test_load_writes_without_new_ops(sess):
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    n_ops = len(tf.get_default_graph().get_operations())
    v.load([7.0, 8.0], sess)
    assert len(tf.get_default_graph().get_operations()) == n_ops
    np.testing.assert_array_equal(sess.run(v), [7.0, 8.0])
    with pytest.raises(ValueError, match="shape"):
        v.load([1.0], sess)


# -- use in expressions ---------------------------------------------------------------------------------
def test_variables_work_as_tensors(sess):
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="m")
    sess.run(v.initializer)
    np.testing.assert_array_equal(sess.run(v + 1), [[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(sess.run(v @ v), np.array([[7.0, 10.0], [15.0, 22.0]]))
    np.testing.assert_array_equal(sess.run(v[0]), [1.0, 2.0])
    np.testing.assert_array_equal(sess.run(-v), -np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(sess.run(tf.reduce_sum(v, axis=0)), [4.0, 6.0])
    assert sess.run("m:0").tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_integer_variable_true_division(sess):
    v = tf.Variable([7, 8])
    sess.run(v.initializer)
    out = sess.run(v / 2)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [3.5, 4.0])


def test_variable_in_control_dependencies(sess):
    v = tf.Variable(0)
    sess.run(v.initializer)
    with tf.control_dependencies([v.assign_add(1)]):
        out = tf.constant(0)
    sess.run(out)
    assert sess.run(v) == 1


# -- collections ----------------------------------------------------------------------------------------
def test_trainable_and_global_collections():
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(1.0, name="b", trainable=False)
    with tf.name_scope("scope"):
        c = tf.Variable(1.0, name="c")
    assert tf.global_variables() == [a, b, c]
    assert tf.trainable_variables() == [a, c]
    assert tf.trainable_variables(scope="scope") == [c]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [a, c]
    assert a.trainable and not b.trainable


def test_local_variables_and_custom_collections(sess):
    loc = tf.Variable(0, name="loc", trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES])
    custom = tf.Variable(0, name="custom", collections=["mine"])
    assert tf.local_variables() == [loc]
    assert loc not in tf.global_variables()
    assert tf.get_collection("mine") == [custom]
    assert custom in tf.trainable_variables()
    sess.run(tf.local_variables_initializer())
    assert sess.run(loc) == 0


# -- storage semantics ---------------------------------------------------------------------------------
def test_fetched_value_does_not_alias_variable_storage(sess):
    v = tf.Variable(np.arange(4.0).reshape(2, 2), name="d")
    sess.run(v.initializer)
    first = sess.run(v)
    first[0, 0] = 99.0
    np.testing.assert_array_equal(sess.run(v), np.arange(4.0).reshape(2, 2))
    for fetch in (v.read_value(), v.assign(np.ones((2, 2))), tf.assign_add(v, np.ones((2, 2))), v[0], tf.reshape(v, [4])):
        out = sess.run(fetch)
        snapshot = sess.run(v).copy()
        out.reshape(-1)[0] = -1.0
        np.testing.assert_array_equal(sess.run(v), snapshot)


def test_fetched_value_is_not_changed_by_later_assignments(sess):
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    before = sess.run(v)
    sess.run(v.assign([5.0, 5.0]))
    np.testing.assert_array_equal(before, [1.0, 2.0])


def test_variable_does_not_alias_the_fed_array(sess):
    v = tf.Variable([0.0, 0.0])
    x = tf.placeholder(tf.float32, [2])
    assign = v.assign(x)
    sess.run(v.initializer)
    fed = np.array([1.0, 2.0], np.float32)
    sess.run(assign, {x: fed})
    fed[:] = 9.0
    np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
