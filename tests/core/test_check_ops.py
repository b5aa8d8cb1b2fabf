"""tf.Assert, the tf.assert_* family and tf.check_numerics: they pass quietly, and fail the run in TF's words."""

import numpy as np
import pytest

import tensorflux as tf


def _failure(lib, build, feed_value):
    x = lib.placeholder(lib.float32, [2])
    check = build(lib, x)
    with lib.control_dependencies([check]):
        y = lib.identity(x)
    sess = lib.Session()
    sess.run(y, {x: [1.0, 2.0]})
    with pytest.raises(lib.errors.InvalidArgumentError) as info:
        sess.run(y, {x: feed_value})
    return str(info.value)


@pytest.mark.parametrize("build", [
    lambda lib, x: lib.Assert(lib.reduce_all(x > 0), ["x must be positive:", x]),
    lambda lib, x: lib.assert_positive(x, message="positive"),
    lambda lib, x: lib.assert_less(x, lib.constant([5.0, 5.0]), summarize=1),
    lambda lib, x: lib.assert_equal(x, lib.constant([1.0, 2.0])),
    lambda lib, x: lib.assert_non_negative(x),
], ids=["Assert", "assert_positive", "assert_less", "assert_equal", "assert_non_negative"])
def test_failed_checks_read_as_tf_s(tfr, build):
    bad = [-1.0, 7.0]
    with tfr.Graph().as_default():
        theirs = _failure(tfr, build, bad)
    ours = _failure(tf, build, bad)
    # TF appends its node context ("[[{{node ...}}]]"); the assertion's own text must be the same.
    expected = theirs[theirs.index("assertion failed"):].split("\n")[0]
    assert expected in ours


def test_build_time_checks_name_the_tensor():
    with pytest.raises(ValueError, match="must have rank 2"):
        tf.assert_rank(tf.zeros([3]), 2)
    with pytest.raises(TypeError, match="must be of type int32; got float32"):
        tf.assert_type(tf.zeros([3]), tf.int32)


def test_check_numerics_passes_values_and_catches_nan_and_its_gradient():
    x = tf.placeholder(tf.float32, [2])
    y = tf.check_numerics(tf.log(x), "log of x")
    sess = tf.Session()
    np.testing.assert_allclose(sess.run(y, {x: [1.0, np.e]}), [0.0, 1.0], rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="log of x : Tensor had NaN values"):
        sess.run(y, {x: [-1.0, 1.0]})
    # The gradient flowing into a checked tensor is checked too: d log(x)/dx is infinite at 0.
    (g,) = tf.gradients(tf.reduce_sum(tf.log(tf.check_numerics(x, "x"))), [x])
    with pytest.raises(tf.errors.InvalidArgumentError, match="detected in gradient. x : Tensor had Inf values"):
        sess.run(g, {x: [0.0, 1.0]})


def test_add_check_numerics_ops_checks_every_float_output():
    x = tf.placeholder(tf.float32, [])
    y = tf.sqrt(x) * 2.0
    checks = tf.add_check_numerics_ops()
    sess = tf.Session()
    assert sess.run([y, checks], {x: 4.0})[0] == 4.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="Sqrt:0"):
        sess.run([y, checks], {x: -1.0})
