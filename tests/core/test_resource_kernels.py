"""The resource-variable ops' kernels without TensorFlow: a handle reads and writes the session's variable state.

(Against TensorFlow itself: tests/core/serialization/test_resource_variable_interop.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.op_builder import apply_op
from tensorflux._internal.resource_variables import ResourceVariable, op_without_outputs


def _variable(name, value):
    value = np.asarray(value, np.float32)
    h = apply_op("VarHandleOp", dtype=tf.float32, shape=list(value.shape), shared_name=name, name=name)[0]
    init = op_without_outputs("AssignVariableOp", h, tf.constant(value), dtype=tf.float32, name=f"{name}/Assign")
    read = apply_op("ReadVariableOp", h, dtype=tf.float32, name=f"{name}/Read/ReadVariableOp")[0]
    var = ResourceVariable._from_graph_elements(h, init, read)
    tf.add_to_collection(tf.GraphKeys.GLOBAL_VARIABLES, var)
    return var


def test_reads_see_writes_ordered_by_control_dependencies():
    v = _variable("v", [[1.0, 2.0], [3.0, 4.0]])
    add = v.assign_add(np.ones((2, 2), np.float32), read_value=False)
    with tf.control_dependencies([add]):
        after = v.read_value()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value v"):
            sess.run(v)
        assert not sess.run(v.is_initialized())
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(after), [[2.0, 3.0], [4.0, 5.0]])
        np.testing.assert_array_equal(sess.run(v.assign_sub(np.full((2, 2), 2.0, np.float32))), [[0, 1], [2, 3]])
        assert sess.read_variable(v).tolist() == [[0, 1], [2, 3]]


def test_gather_and_scatter_rows():
    v = _variable("table", np.arange(6).reshape(3, 2))
    rows = apply_op("ResourceGather", v._ref, np.array([[2], [0]], np.int64), dtype=tf.float32)[0]
    assert rows.shape.as_list() == [2, 1, 2]
    add = op_without_outputs("ResourceScatterAdd", v._ref, np.array([0, 0], np.int32),
                             np.ones((2, 2), np.float32), dtype=tf.float32)
    bad = apply_op("ResourceGather", v._ref, np.array([3], np.int32), dtype=tf.float32, name="bad")[0]
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(rows), [[[4, 5]], [[0, 1]]])
        sess.run(add)
        np.testing.assert_array_equal(sess.run(v), [[2, 3], [2, 3], [4, 5]])  # a repeated index adds twice
        with pytest.raises(tf.errors.InvalidArgumentError, match="op 'bad'.*index 3 is out of range for variable "
                                                                 "'table' of 3 rows"):
            sess.run(bad)


def test_shape_and_dtype_mismatches_are_named():
    v = _variable("w", [1.0, 2.0])
    with pytest.raises(ValueError, match="AssignAddVariableOp.*shape \\(3,\\) does not fit variable 'w' of shape \\(2,\\)"):
        v.assign_add(np.zeros(3, np.float32))
    loose = op_without_outputs("AssignVariableOp", v._ref, tf.placeholder(tf.float32, [None]), dtype=tf.float32,
                               validate_shape=True, name="loose")
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match="variable 'w'.*shape"):
            sess.run(loose, {"Placeholder:0": np.zeros(5, np.float32)})


def test_saver_round_trip_of_a_resource_variable(tmp_path):
    v = _variable("v", [1.0, 2.0])
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(v.assign([5.0, 6.0]))
        prefix = saver.save(sess, str(tmp_path / "model"))
    with tf.Session() as sess:
        saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(v), [5.0, 6.0])
        sess.run(v.initializer)
        sess.run(saver.saver_def.restore_op_name, {saver.saver_def.filename_tensor_name: prefix})  # the graph's ops
        np.testing.assert_array_equal(sess.run(v), [5.0, 6.0])


def _handle(name, shared_name, container="", dtype=tf.float32, shape=(2,)):
    return apply_op("VarHandleOp", dtype=dtype, shape=list(shape), shared_name=shared_name, container=container,
                    name=name)[0]


def test_handles_with_one_shared_name_share_the_variable():
    a, b = _handle("a", "v"), _handle("b", "v")
    other_container, other_name = _handle("c", "v", container="elsewhere"), _handle("d", "d")
    init = op_without_outputs("AssignVariableOp", a, tf.constant([1.0, 2.0]), dtype=tf.float32)
    add = op_without_outputs("AssignAddVariableOp", b, tf.constant([10.0, 10.0]), dtype=tf.float32)
    read_a = apply_op("ReadVariableOp", a, dtype=tf.float32)[0]
    unset = [apply_op("VarIsInitializedOp", h)[0] for h in (other_container, other_name)]
    ints = _handle("e", "v", dtype=tf.int32)
    with tf.Session() as sess:
        sess.run(init)
        sess.run(add)  # through the other handle
        np.testing.assert_array_equal(sess.run(read_a), [11.0, 12.0])
        assert sess.run(unset) == [False, False]  # another container, or another name, is another variable
        with pytest.raises(tf.errors.InvalidArgumentError, match="variable 'v' .*is float32, but this handle asks "
                                                                 "for int32"):
            sess.run(apply_op("ReadVariableOp", ints, dtype=tf.int32)[0])
    with tf.Session() as sess:  # the sharing is per session, as TF's resource manager is
        assert not sess.run(apply_op("VarIsInitializedOp", b)[0])


@pytest.mark.parametrize("batch_dims,indices", [(1, [[2, 0], [1, 1]]), (1, [[[2], [0]], [[1], [1]]]),
                                                (2, [[[1, 0], [3, 3], [0, 2]], [[2, 2], [1, 0], [3, 1]]])])
def test_gather_with_batch_dims_matches_tf(tfr, batch_dims, indices):
    import tensorflow

    value = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    indices = np.array(indices, np.int32)
    want = tensorflow.gather(value, indices, batch_dims=batch_dims).numpy()
    v = _variable("p", value)
    rows = apply_op("ResourceGather", v._ref, indices, dtype=tf.float32, batch_dims=batch_dims)[0]
    assert rows.shape.as_list() == list(want.shape)
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(rows), want)


def test_gather_with_batch_dims_names_bad_values():
    v = _variable("p", np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="ResourceGather 'g': batch_dims=2 must be in \\[-1, 1\\]"):
        apply_op("ResourceGather", v._ref, np.zeros((2,), np.int32), dtype=tf.float32, batch_dims=2, name="g")
    loose = apply_op("ResourceGather", v._ref, tf.placeholder(tf.int32), dtype=tf.float32, batch_dims=1, name="h")[0]
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match="op 'h'.*batch_dims=1 pairs the variable's leading "
                                                                 "axes \\[2\\] with the indices' \\[3\\]"):
            sess.run(loose, {"Placeholder:0": np.zeros((3, 1), np.int32)})
        with pytest.raises(tf.errors.InvalidArgumentError, match="op 'h'.*index 3 is out of range for axis 1"):
            sess.run(loose, {"Placeholder:0": np.full((2, 1), 3, np.int32)})
