"""The fusion pass on frozen-graph convolution chains: batch norm folded into constant filters, residual adds,
Relu6, and bias-less convolutions with constant filters, each against the same graph with no passes."""

from __future__ import annotations

import numpy as np
import pytest
from chain_helpers import batch_norm as _batch_norm, close as _close, run_both as _run_both

import tensorflux as tf


def _conv(x, rng, k, c, o, stride=1, bias=True):
    f = tf.constant((rng.standard_normal((k, k, c, o)) / np.sqrt(k * k * c)).astype(np.float32))
    h = tf.nn.conv2d(x, f, [1, stride, stride, 1], "SAME")
    return tf.nn.bias_add(h, tf.constant(rng.standard_normal(o).astype(np.float32))) if bias else h


def test_a_frozen_residual_block_is_three_fused_convolutions():
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [2, 9, 9, 16])
    a = tf.nn.relu(_batch_norm(_conv(x, rng, 1, 16, 24), 24, rng))
    a = tf.nn.relu(_batch_norm(_conv(a, rng, 3, 24, 24, bias=False), 24, rng, shape=[24]))
    a = _batch_norm(_conv(a, rng, 1, 24, 32), 32, rng)
    shortcut = _batch_norm(_conv(x, rng, 1, 16, 32), 32, rng)
    y = tf.nn.relu(a + shortcut)
    feed = {x: rng.standard_normal((2, 9, 9, 16)).astype(np.float32)}
    opt, plain, kinds = _run_both(y, feed)
    _close(opt, plain)
    # the first two convolutions end in their relus, the shortcut in its batch norm, the last in the block's relu
    assert kinds == ["Relu", "Relu", "AddV2", "Relu"]


def test_relu6_and_a_residual_input_of_another_shape_is_not_added():
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float32, [1, 6, 6, 8])
    h = _conv(x, rng, 3, 8, 8)
    y6 = tf.nn.relu6(_batch_norm(h, 8, rng))
    broadcast = tf.nn.relu(_conv(x, rng, 1, 8, 8) + tf.placeholder_with_default(np.ones((1, 1, 1, 8), np.float32),
                                                                                 [1, 1, 1, 8]))
    feed = {x: rng.standard_normal((1, 6, 6, 8)).astype(np.float32)}
    opt, plain, kinds = _run_both([y6, broadcast], feed)
    for got, want in zip(opt, plain):
        _close(got, want)
    # relu6 joins its convolution; the broadcast add stays out (with its relu, an elementwise chain)
    assert kinds == ["Relu6", "BiasAdd", "Relu"]


def test_no_folding_where_the_filter_may_change():
    rng = np.random.default_rng(2)
    x = tf.placeholder(tf.float32, [1, 6, 6, 4])
    w = tf.Variable(rng.standard_normal((3, 3, 4, 8)).astype(np.float32))
    y = _batch_norm(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), 8, rng)
    feed = {x: rng.standard_normal((1, 6, 6, 4)).astype(np.float32)}
    results = []
    for config in (None, {"disable_passes": "all"}):
        with tf.Session(config=config) as sess:
            sess.run(w.initializer)
            results.append(sess.run(y, feed))
            kinds = [op.type for plan, _ in sess._plans.values() for op in plan.step_ops]
            assert "Conv2D" in kinds  # a variable's filter: no folding, and no bias to fuse
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-6)


def test_a_bias_less_constant_convolution_is_fused_alone_and_keeps_a_fetched_output():
    rng = np.random.default_rng(3)
    x = tf.placeholder(tf.float32, [2, 8, 8, 16])
    h = _conv(x, rng, 3, 16, 32, bias=False)
    y = tf.concat([h, x], axis=3)
    feed = {x: rng.standard_normal((2, 8, 8, 16)).astype(np.float32)}
    opt, plain, kinds = _run_both([y, h], feed)
    for got, want in zip(opt, plain):
        _close(got, want)
    assert kinds == ["Conv2D", "ConcatV2"]


@pytest.mark.parametrize("offset_op", ["sub", "add"])
def test_folding_takes_a_scale_alone_or_with_an_offset_either_way(offset_op):
    rng = np.random.default_rng(4)
    x = tf.placeholder(tf.float32, [1, 5, 5, 3])
    h = _conv(x, rng, 3, 3, 4) * tf.constant(rng.random(4).astype(np.float32) + 0.5)
    t = tf.constant(rng.standard_normal(4).astype(np.float32))
    y = h - t if offset_op == "sub" else t + h
    scaled_only = tf.nn.relu(_conv(x, rng, 1, 3, 4, bias=False) * 3.0)
    feed = {x: rng.standard_normal((1, 5, 5, 3)).astype(np.float32)}
    opt, plain, kinds = _run_both([y, scaled_only], feed)
    for got, want in zip(opt, plain):
        _close(got, want)
    assert "Conv2D" not in kinds and "Mul" not in kinds and kinds.count("Relu") == 1


def test_a_batch_norm_no_convolution_absorbs_is_one_scale_shift_step():
    rng = np.random.default_rng(5)
    x = tf.placeholder(tf.float32, [2, 5, 5, 8])
    concat = tf.concat([x, x * 2.0], axis=3)  # read twice, as DenseNet's concatenations are
    y = tf.nn.relu(_batch_norm(concat, 16, rng))
    z = tf.concat([concat, y], axis=3)
    six = tf.nn.relu6(x * tf.constant(np.full(8, 9.0, np.float32)))
    feed = {x: rng.standard_normal((2, 5, 5, 8)).astype(np.float32)}
    opt, plain, kinds = _run_both([z, six], feed)
    for got, want in zip(opt, plain):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert kinds.count("Relu") == 1 and kinds.count("Relu6") == 1 and "AddV2" not in kinds


def test_a_zero_pad_before_a_valid_convolution_becomes_its_padding():
    rng = np.random.default_rng(6)
    x = tf.placeholder(tf.float32, [2, 9, 8, 3])
    padded = tf.pad(x, [[0, 0], [3, 2], [1, 3], [0, 0]])
    y = tf.nn.relu(_batch_norm(_conv_valid(padded, rng, (7, 7, 3, 8), 2), 8, rng))
    fetched = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    z = _conv_valid(fetched, rng, (3, 3, 3, 4), 1)
    channels = _conv_valid(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 1]]), rng, (3, 3, 4, 4), 1)
    feed = {x: rng.standard_normal((2, 9, 8, 3)).astype(np.float32)}
    opt, plain, kinds = _run_both([y, z, fetched, channels], feed)
    for got, want in zip(opt, plain):
        _close(got, want)
    # the first pad is absorbed; one is fetched and one pads channels: both stay (bias-less convolutions, fused
    # alone, keep their name)
    assert kinds == ["Relu", "Pad", "Conv2D", "Pad", "Conv2D"]


def _conv_valid(x, rng, f_shape, stride):
    f = tf.constant((rng.standard_normal(f_shape) / np.sqrt(np.prod(f_shape[:3]))).astype(np.float32))
    return tf.nn.conv2d(x, f, [1, stride, stride, 1], "VALID")
