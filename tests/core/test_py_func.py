"""tf.py_func / tf.numpy_function: results, output arity, dtype errors, placement and gradients, against TF."""

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.data import tokens


def _sort_and_double(x):
    return np.sort(x), (x * 2).astype(np.float32)


def _run_both(tfr, build):
    ours = tf.Session().run(build(tf))
    with tfr.Graph().as_default(), tfr.Session() as sess:
        theirs = sess.run(build(tfr))
    return ours, theirs


def test_results_match_tensorflow(tfr):
    def build(m):
        x = m.constant([3, 1, 2])
        return m.py_func(_sort_and_double, [x], [m.int32, m.float32])

    ours, theirs = _run_both(tfr, build)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_single_dtype_returns_one_tensor_and_numpy_function_alias(tfr):
    def build(m):
        return m.numpy_function(lambda a, b: a + b, [m.constant(1.5), m.constant(2.0)], m.float32)

    ours, theirs = _run_both(tfr, build)
    assert ours == theirs


def test_wrong_dtype_names_op_and_tout(tfr):
    y = tf.py_func(lambda a: a * 1.0, [tf.constant([1, 2])], tf.float32, name="to_float")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"to_float.*|expects float32 \(Tout \[float32\]\)") as err:
        tf.Session().run(y)
    assert "to_float" in str(err.value) and "Tout [float32]" in str(err.value) and "float64" in str(err.value)
    with tfr.Graph().as_default(), tfr.Session() as sess:
        theirs = tfr.py_func(lambda a: a * 1.0, [tfr.constant([1, 2])], tfr.float32)
        with pytest.raises(tfr.errors.InvalidArgumentError):
            sess.run(theirs)


def test_wrong_count_and_set_shape_mismatch_fail():
    two = tf.py_func(lambda a: (a, a), [tf.constant(1)], [tf.int32])
    with pytest.raises(tf.errors.InvalidArgumentError, match="returned 2 values, but Tout lists 1"):
        tf.Session().run(two)
    shaped = tf.py_func(lambda a: np.zeros(3, np.int32), [tf.constant(1)], tf.int32)
    shaped.set_shape([2])
    with pytest.raises(tf.errors.OpError):
        tf.Session().run(shaped)


def test_empty_tout_returns_the_op_and_runs_for_side_effects():
    seen = []
    op = tf.py_func(lambda a: seen.append(int(a)), [tf.constant(7)], [])
    assert isinstance(op, tf.Operation) and op.type == "PyFunc"
    tf.Session().run(op)
    assert seen == [7]


def test_stateless_op_type_and_token_in_graph_def():
    y = tf.py_func(np.negative, [tf.constant(1.0)], tf.float32, stateful=False)
    assert y.op.type == "PyFuncStateless"
    token = y.op.get_attr("token")
    assert token.startswith("pyfunc_") and tokens.lookup(token, "test") is np.negative
    del tokens._BY_TOKEN[token]  # as if the graph came from another process
    with pytest.raises(tf.errors.NotFoundError, match="only in the process that built it"):
        tf.Session().run(y)


def test_placement_log_names_the_host_device(capfd):
    y = tf.py_func(np.abs, [tf.constant(-1.0)], tf.float32, name="host_fn")
    tf.Session(config=tf.ConfigProto(log_device_placement=True)).run(y)
    assert "host_fn: (PyFunc): /cpu:0" in capfd.readouterr().err


def test_not_differentiable_as_in_tensorflow(tfr):
    x = tf.constant(2.0)
    y = tf.py_func(np.square, [x], tf.float32)
    assert tf.gradients(y, x) == [None]
    with tfr.Graph().as_default():
        tx = tfr.constant(2.0)
        assert tfr.gradients(tfr.py_func(np.square, [tx], tfr.float32), tx) == [None]


def test_runs_through_the_host_adapter():
    from tensorflux._internal.reference.host import kernels

    assert {"PyFunc", "PrintV2", "StringFormat", "Print"} <= set(kernels(np))
