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
