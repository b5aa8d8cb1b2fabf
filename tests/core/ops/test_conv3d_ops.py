"""tf.nn.conv3d, conv3d_transpose, max_pool3d and avg_pool3d against TensorFlow: values, shapes, op names and
gradients (first and second order), plus the 3-D ops' shape functions and argument errors.

TF's CPU kernels of the 3-D ops take float32 in every layout (float64 only without dilations, in NDHWC), so the
comparisons run in float32; the float64 gradient checks against central differences are the op table's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import apply_op

RNG = np.random.default_rng(23)
NDHWC = RNG.normal(size=(2, 4, 5, 6, 3)).astype(np.float32)
FILTER = RNG.normal(size=(2, 3, 2, 3, 4)).astype(np.float32)
FILTER_T = RNG.normal(size=(3, 2, 3, 5, 3)).astype(np.float32)  # [kd, kh, kw, out, in] for conv3d_transpose


def _ncdhw(x):
    return x.transpose(0, 4, 1, 2, 3)


CASES = {
    "conv3d_same": lambda lib, x, w: lib.nn.conv3d(x, w, [1, 1, 1, 1, 1], "SAME"),
    "conv3d_valid_strided": lambda lib, x, w: lib.nn.conv3d(x, w, [1, 2, 1, 2, 1], "VALID", name="c"),
    "conv3d_same_strided_dilated": lambda lib, x, w: lib.nn.conv3d(input=x, filters=w, strides=[1, 1, 2, 1, 1],
                                                                   padding="SAME", dilations=[1, 2, 1, 2, 1]),
    "conv3d_ncdhw": lambda lib, x, w: lib.nn.conv3d(lib.transpose(x, [0, 4, 1, 2, 3]), w, [1, 1, 1, 2, 2], "SAME",
                                                    data_format="NCDHW"),
    "max_pool3d_same": lambda lib, x, w: lib.nn.max_pool3d(x, [1, 3, 2, 3, 1], [1, 2, 1, 2, 1], "SAME"),
    "max_pool3d_valid": lambda lib, x, w: lib.nn.max_pool3d(x, [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], "VALID", name="mp"),
    "max_pool3d_ncdhw": lambda lib, x, w: lib.nn.max_pool3d(lib.transpose(x, [0, 4, 1, 2, 3]), [1, 1, 2, 3, 3],
                                                            [1, 1, 2, 2, 1], "SAME", data_format="NCDHW"),
    "avg_pool3d_same": lambda lib, x, w: lib.nn.avg_pool3d(x, [1, 3, 2, 3, 1], [1, 2, 1, 2, 1], "SAME"),
    "avg_pool3d_valid": lambda lib, x, w: lib.nn.avg_pool3d(x, [1, 2, 3, 2, 1], [1, 1, 2, 2, 1], "VALID"),
    "avg_pool3d_ncdhw": lambda lib, x, w: lib.nn.avg_pool3d(lib.transpose(x, [0, 4, 1, 2, 3]), [1, 1, 3, 3, 2],
                                                            [1, 1, 1, 2, 2], "SAME", data_format="NCDHW"),
}
TRANSPOSE_CASES = {
    "same_strided": lambda lib, x, w: lib.nn.conv3d_transpose(x, w, [2, 8, 10, 12, 5], [1, 2, 2, 2, 1]),
    "valid": lambda lib, x, w: lib.nn.conv3d_transpose(x, w, lib.constant([2, 9, 10, 13, 5]), [1, 2, 2, 2, 1],
                                                       "VALID"),
    "unstrided_named": lambda lib, x, w: lib.nn.conv3d_transpose(x, w, [2, 4, 5, 6, 5], [1, 1, 1, 1, 1], name="up"),
}


def _both(tfr, fn, x_value, w_value, order=1):
    """(values, output shape, output op name) of ``fn`` in TF, then in Tensorflux: the output, then the gradients of
    sum(y^2) with respect to x and w, then (``order`` 2 and up) those of the sum of the last x gradient's cube."""
    results = []
    for lib in (tfr, tf):
        with lib.Graph().as_default():
            x, w = lib.constant(x_value), lib.constant(w_value)
            y = fn(lib, x, w)
            grads, target = [], lib.reduce_sum(y * y)
            for _ in range(order):
                dx, dw = lib.gradients(target, [x, w])
                grads += [g for g in (dx, dw) if g is not None]
                target = lib.reduce_sum(dx ** 3)
            with lib.Session() as sess:
                results.append((sess.run([y] + grads), y.shape.as_list(), y.op.name))
    return results


def _assert_same(theirs, ours):
    assert ours[1:] == theirs[1:]
    assert len(ours[0]) == len(theirs[0])
    for a, b in zip(theirs[0], ours[0]):
        scale = max(1.0, float(np.abs(a).max()))
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("case", sorted(CASES))
def test_3d_ops_match_tf(tfr, case):
    _assert_same(*_both(tfr, CASES[case], NDHWC, FILTER))


@pytest.mark.parametrize("case", sorted(TRANSPOSE_CASES))
def test_conv3d_transpose_matches_tf(tfr, case):
    x = RNG.normal(size=(2, 4, 5, 6, 3)).astype(np.float32)
    _assert_same(*_both(tfr, TRANSPOSE_CASES[case], x, FILTER_T))


@pytest.mark.parametrize("case, order", [("conv3d_valid_strided", 2), ("avg_pool3d_same", 2), ("max_pool3d_same", 3)])
def test_higher_order_gradients_match_tf(tfr, case, order):
    # Differentiates Conv3DBackpropInputV2 / Conv3DBackpropFilterV2, AvgPool3DGrad, MaxPool3DGrad (its gradient is
    # MaxPool3DGradGrad) and MaxPool3DGradGrad (its gradient is MaxPool3DGrad).
    _assert_same(*_both(tfr, CASES[case], NDHWC[:1], FILTER, order=order))


def test_max_pool3d_gradient_with_ties_matches_tf(tfr):
    # TF 2.x's default CPU kernel (oneDNN) gives each window's gradient to its first maximum, as ours does; TF's
    # Eigen kernel (TF 1.15, TF_ENABLE_ONEDNN_OPTS=0, or Grappler folding constants) gives it to every cell within
    # 1e-5 of the maximum. So the input is fed, not a constant.
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        pytest.skip("TF_ENABLE_ONEDNN_OPTS=0 selects TF's Eigen MaxPool3DGrad, which shares a gradient among ties")
    coarse = RNG.integers(0, 3, size=(2, 5, 4, 6, 3)).astype(np.float32)  # windows tie often
    grad = RNG.normal(size=(2, 3, 4, 3, 3)).astype(np.float32)
    results = []
    for lib in (tfr, tf):
        with lib.Graph().as_default():
            x = lib.placeholder(lib.float32, coarse.shape)
            y = lib.nn.max_pool3d(x, [1, 3, 2, 3, 1], [1, 2, 1, 2, 1], "SAME")
            dx = lib.gradients(y, x, grad_ys=lib.constant(grad))[0]
            with lib.Session() as sess:
                results.append(sess.run(dx, {x: coarse}))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-6)  # a cell two windows pick sums them


def test_graph_defs_run_in_both_directions(tfr):
    # Ours (forward and gradient ops) imported and run by TF, and TF's conv3d_transpose with its gradient by us.
    x_value = NDHWC[:1]
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 4, 5, 6, 3], name="x")
        y = tf.nn.max_pool3d(tf.nn.conv3d(x, FILTER, [1, 1, 2, 1, 1], "SAME"), 2, 2, "SAME")
        y = tf.nn.avg_pool3d(y, [1, 1, 2, 2, 1], 1, "VALID", name="out")
        tf.identity(tf.gradients(tf.reduce_sum(y * y), x)[0], name="dx")
        with tf.Session() as sess:
            ours = sess.run(["out:0", "dx:0"], {"x:0": x_value})
    with tfr.Graph().as_default():
        tfr.import_graph_def(tfr.GraphDef.FromString(graph.as_graph_def().SerializeToString()), name="")
        with tfr.Session() as sess:
            theirs = sess.run(["out:0", "dx:0"], {"x:0": x_value})
    with tfr.Graph().as_default() as tf_graph:
        x = tfr.placeholder(tfr.float32, [None, 4, 5, 6, 3], name="x")
        y = tfr.nn.conv3d_transpose(x, FILTER_T, [1, 8, 10, 12, 5], [1, 2, 2, 2, 1], name="up")
        tfr.identity(tfr.gradients(tfr.reduce_sum(y * y), x)[0], name="dup")
        with tfr.Session() as sess:
            theirs += sess.run(["up:0", "dup:0"], {"x:0": x_value})
    with tf.Graph().as_default():
        tf.import_graph_def(tf_graph.as_graph_def().SerializeToString(), name="")
        with tf.Session() as sess:
            ours += sess.run(["up:0", "dup:0"], {"x:0": x_value})
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(a).max())))


def test_max_pool3d_gradient_goes_to_the_first_maximum_of_a_window():
    # A window of equal values gives its whole gradient to its first cell in (depth, height, width) order; with
    # SAME padding, a window of -inf still routes to a real cell, never to the padding.
    x = tf.constant(np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], np.float32).reshape(1, 2, 2, 2, 1))
    dx = tf.gradients(tf.nn.max_pool3d(x, 2, 2, "VALID"), x, grad_ys=tf.constant([[[[[3.0]]]]]))[0]
    ninf = tf.constant(np.full((1, 1, 1, 3, 1), -np.inf, np.float32))
    dn = tf.gradients(tf.nn.max_pool3d(ninf, [1, 1, 1, 2, 1], [1, 1, 1, 2, 1], "SAME"), ninf,
                      grad_ys=tf.constant(np.array([2.0, 5.0], np.float32).reshape(1, 1, 1, 2, 1)))[0]
    with tf.Session() as sess:
        a, b = sess.run([dx, dn])
    assert a.ravel().tolist() == [3.0, 0, 0, 0, 0, 0, 0, 0]
    assert b.ravel().tolist() == [2.0, 0.0, 5.0]


def test_shapes_with_unknown_dimensions_and_graph_names():
    x = tf.placeholder(tf.float32, [None, 8, None, 6, 3])
    y = tf.nn.conv3d(x, tf.zeros([3, 3, 3, 3, 5]), [1, 2, 2, 2, 1], "SAME")
    assert y.shape.as_list() == [None, 4, None, 3, 5] and y.op.name == "Conv3D"
    assert tf.nn.max_pool3d(x, 2, 2, "VALID").shape.as_list() == [None, 4, None, 3, 3]
    assert tf.nn.avg_pool3d(x, [1, 3, 3, 3, 1], 1, "VALID").shape.as_list() == [None, 6, None, 4, 3]
    dx = tf.gradients(tf.reduce_sum(y), x)[0]
    assert dx.op.type == "Conv3DBackpropInputV2" and dx.shape.as_list() == [None, 8, None, 6, 3]
    t = tf.nn.conv3d_transpose(y, tf.zeros([3, 3, 3, 3, 5]), tf.shape(x), [1, 2, 2, 2, 1])
    assert t.op.type == "Conv3DBackpropInputV2" and t.shape.rank == 5
    df = tf.nn.conv3d_backprop_filter_v2(x, [3, 3, 3, 3, 5], y, [1, 2, 2, 2, 1], "SAME")
    assert df.shape.as_list() == [3, 3, 3, 3, 5] and tf.nn.conv3d_backprop_filter is tf.nn.conv3d_backprop_filter_v2
    with tf.Session() as sess:
        value = np.ones((1, 8, 4, 6, 3), np.float32)
        got = sess.run([y, dx], {x: value})
    assert got[0].shape == (1, 4, 2, 3, 5) and got[1].shape == value.shape


def test_argument_errors_name_the_op_and_the_values():
    x = tf.zeros([1, 4, 4, 4, 2])
    with pytest.raises(ValueError, match="input has 2 channels but filter .* expects 3"):
        tf.nn.conv3d(x, tf.zeros([2, 2, 2, 3, 1]), 1, "SAME")
    with pytest.raises(ValueError, match=r"conv3d: strides must be an int or a list of 1, 3 or 5 ints, got \[1, 1\]"):
        tf.nn.conv3d(x, tf.zeros([2, 2, 2, 2, 1]), [1, 1], "SAME")
    with pytest.raises(ValueError, match=r"Conv3D 'Conv3D.*': attr dilations must have 5 elements .* got \[1, 1, 1, 1\]"):
        apply_op("Conv3D", x, tf.zeros([2, 2, 2, 2, 1]), strides=[1] * 5, padding="SAME", dilations=[1, 1, 1, 1])
    with pytest.raises(ValueError, match="batch and channel dimensions must be 1"):
        tf.nn.max_pool3d(x, 2, [2, 1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        tf.nn.avg_pool3d(x, 2, 2, "EXPLICIT")
    with pytest.raises(ValueError, match="data_format must be 'NDHWC' or 'NCDHW'"):
        tf.nn.conv3d(x, tf.zeros([2, 2, 2, 2, 1]), 1, "SAME", data_format="NHWC")
    with pytest.raises(ValueError, match="input depth of size 4 .* smaller than the .* window of size 5"):
        tf.nn.conv3d(x, tf.zeros([5, 2, 2, 2, 1]), 1, "VALID")
    with pytest.raises(ValueError, match="must be 5-D"):
        tf.nn.max_pool3d(tf.zeros([1, 4, 4, 2]), 2, 2, "SAME")
    with pytest.raises(TypeError, match="float64"):
        tf.nn.max_pool3d(tf.zeros([1, 4, 4, 4, 2], tf.float64), 2, 2, "SAME")
    with pytest.raises(ValueError, match="input channels does not match filter's input channels, 2 != 3"):
        tf.nn.conv3d_transpose(x, tf.zeros([2, 2, 2, 4, 3]), [1, 8, 8, 8, 4], 2)
    with pytest.raises(ValueError, match="output_shape does not match filter's output channels, 5 != 4"):
        tf.nn.conv3d_transpose(x, tf.zeros([2, 2, 2, 4, 2]), [1, 8, 8, 8, 5], 2)
    bad = tf.nn.conv3d_transpose(x, tf.zeros([2, 2, 2, 4, 2]), [1, 9, 8, 8, 4], 2)  # wants a 5-deep value
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError,
                                             match=r"'conv3d_transpose_\d+' \(Conv3DBackpropInputV2\): out_backprop has "
                                                   r"shape \[1, 4, 4, 4, 2\], expected \[1, 5, 4, 4, 2\]"):
        sess.run(bad)
