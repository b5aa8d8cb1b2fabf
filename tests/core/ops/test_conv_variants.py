"""tf.nn.conv1d, conv2d_transpose, max_pool1d and avg_pool1d against TensorFlow: values, shapes, names and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(17)
NWC = RNG.normal(size=(2, 9, 3))
FILTER_1D = RNG.normal(size=(3, 3, 4))
NHWC = RNG.normal(size=(2, 5, 4, 4))
FILTER_T = RNG.normal(size=(3, 2, 6, 4))

CASES = {
    "conv1d_same_strided": lambda lib, x, w: lib.nn.conv1d(x, w, 2, "SAME"),
    "conv1d_input_filters_keywords": lambda lib, x, w: lib.nn.conv1d(input=x, filters=w, stride=[1, 1, 1],
                                                                     padding="VALID", name="c"),
    "max_pool1d": lambda lib, x, w: lib.nn.max_pool1d(x, 2, 2, "SAME"),
    "avg_pool1d": lambda lib, x, w: lib.nn.avg_pool1d(x, 3, 1, "VALID"),
}
TRANSPOSE_CASES = {
    "same": lambda lib, x, w: lib.nn.conv2d_transpose(x, w, [2, 10, 8, 6], [1, 2, 2, 1]),
    "valid": lambda lib, x, w: lib.nn.conv2d_transpose(x, w, lib.constant([2, 11, 9, 6]), 2, "VALID"),
    "unstrided": lambda lib, x, w: lib.nn.conv2d_transpose(x, w, [2, 5, 4, 6], 1, name="up"),
}


def _both(tfr, fn, x_value, w_value):
    results = []
    for lib in (tfr, tf):
        with lib.Graph().as_default():
            x, w = lib.constant(x_value), lib.constant(w_value)
            y = fn(lib, x, w)
            grads = lib.gradients(lib.reduce_sum(y * y), [x, w])
            fetches = [y] + [g for g in grads if g is not None]
            with lib.Session() as sess:
                results.append((sess.run(fetches), y.shape.as_list(), y.op.name))
    return results


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_d_ops_match_tf(tfr, case):
    theirs, ours = _both(tfr, CASES[case], NWC, FILTER_1D)
    assert ours[1:] == theirs[1:]
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", sorted(TRANSPOSE_CASES))
def test_conv2d_transpose_matches_tf(tfr, case):
    theirs, ours = _both(tfr, TRANSPOSE_CASES[case], NHWC, FILTER_T)
    assert ours[1:] == theirs[1:]
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


def test_dilated_conv1d_equals_a_kernel_with_holes():
    # TF's CPU Conv2D refuses dilations, so the dilated form is checked against the kernel it stands for.
    x, w = tf.constant(NWC), tf.constant(FILTER_1D)
    holed = np.zeros((5, 3, 4))
    holed[::2] = FILTER_1D
    dilated = tf.nn.conv1d(x, w, 1, "VALID", dilations=2)
    with tf.Session() as sess:
        a, b = sess.run([tf.nn.conv1d(x, tf.constant(holed), 1, "VALID"), dilated])
    np.testing.assert_allclose(b, a, rtol=1e-12)


def test_ncw_equals_nwc():
    x, w = tf.constant(NWC), tf.constant(FILTER_1D)
    nwc = tf.nn.conv1d(x, w, 2, "SAME")
    ncw = tf.nn.conv1d(tf.transpose(x, [0, 2, 1]), w, 2, "SAME", data_format="NCW")
    with tf.Session() as sess:
        a, b = sess.run([nwc, ncw])
    np.testing.assert_allclose(b.transpose(0, 2, 1), a, rtol=1e-12)


def test_argument_errors():
    with pytest.raises(ValueError, match="input channels does not match filter's input channels"):
        tf.nn.conv2d_transpose(tf.zeros([1, 3, 3, 2]), tf.zeros([3, 3, 4, 5]), [1, 6, 6, 4], 2)
    with pytest.raises(ValueError, match="output_shape does not match filter's output channels"):
        tf.nn.conv2d_transpose(tf.zeros([1, 3, 3, 5]), tf.zeros([3, 3, 4, 5]), [1, 6, 6, 3], 2)
    with pytest.raises(ValueError, match="data_format must be 'NWC' or 'NCW'"):
        tf.nn.conv1d(tf.zeros([1, 5, 2]), tf.zeros([3, 2, 2]), 1, "SAME", data_format="NHWCX")
