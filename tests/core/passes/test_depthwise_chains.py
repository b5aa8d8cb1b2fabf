"""The fusion pass on depthwise convolution chains (``_FusedDepthwiseConv2dNative``): a bias or a frozen batch norm
folded into a constant filter, Relu/Relu6, a zero Pad taken as padding; intermediates that are fetched stay, and
training graphs (variable filters) keep their gradients. Each against the same graph with no passes."""

from __future__ import annotations

import numpy as np
from chain_helpers import batch_norm as _batch_norm, close as _close, run_both as _run_both

import tensorflux as tf


def _depthwise(x, rng, c, m=1, k=3, stride=1, padding="SAME"):
    f = tf.constant((rng.standard_normal((k, k, c, m)) / k).astype(np.float32))
    return tf.nn.depthwise_conv2d_native(x, f, [1, stride, stride, 1], padding)


def test_a_frozen_inverted_residual_block_fuses_each_depthwise_with_its_batch_norm_and_relu6():
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [2, 9, 9, 8])
    a = tf.nn.relu6(_batch_norm(_depthwise(x, rng, 8), 8, rng))
    # MobileNet's stride-2 blocks: a zero Pad, then a VALID depthwise convolution
    padded = tf.pad(a, [[0, 0], [0, 1], [0, 1], [0, 0]])
    b = tf.nn.relu6(_batch_norm(_depthwise(padded, rng, 8, stride=2, padding="VALID"), 8, rng, shape=[8]))
    c = tf.nn.relu(tf.nn.bias_add(_depthwise(b, rng, 8, m=2, k=5), tf.constant(rng.standard_normal(16).astype(
        np.float32))))
    feed = {x: (rng.standard_normal((2, 9, 9, 8)) * 3).astype(np.float32)}
    opt, plain, kinds = _run_both(c, feed)
    _close(opt, plain)
    assert kinds == ["Relu6", "Relu6", "Relu"]  # each fused node carries its chain's last op


def test_a_fetched_depthwise_output_or_padding_stays():
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float32, [1, 7, 7, 4])
    h = _depthwise(x, rng, 4)
    y = tf.nn.relu6(_batch_norm(h, 4, rng))
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    z = tf.nn.relu(_batch_norm(_depthwise(padded, rng, 4, padding="VALID"), 4, rng))
    bare = _depthwise(x, rng, 4)  # nothing after it: not worth a fused node
    feed = {x: rng.standard_normal((1, 7, 7, 4)).astype(np.float32)}
    opt, plain, kinds = _run_both([y, h, z, padded, bare], feed)
    for got, want in zip(opt, plain):
        _close(got, want)
    # h is fetched: its batch norm and relu6 become one scale-shift step; the fetched pad stays before its fused node
    assert kinds.count("DepthwiseConv2dNative") == 2 and kinds.count("Pad") == 1
    assert kinds.count("Relu6") == 1 and kinds.count("Relu") == 1


def test_a_training_graph_fuses_bias_and_relu_and_keeps_its_gradients():
    rng = np.random.default_rng(2)
    x = tf.placeholder(tf.float32, [2, 6, 6, 3])
    w = tf.Variable((rng.standard_normal((3, 3, 3, 2)) / 3).astype(np.float32))
    b = tf.Variable(rng.standard_normal(6).astype(np.float32))
    y = tf.nn.relu(tf.nn.bias_add(tf.nn.depthwise_conv2d_native(x, w, [1, 2, 2, 1], "SAME"), b))
    loss = tf.reduce_sum(y * y)
    grads = tf.gradients(loss, [x, w, b])
    feed = {x: rng.standard_normal((2, 6, 6, 3)).astype(np.float32)}
    results, kinds = [], []
    for config in (None, {"disable_passes": "all"}):
        with tf.Session(config=config) as sess:
            sess.run([w.initializer, b.initializer])
            results.append(sess.run([y, *grads], feed))
            kinds.append([op.type for plan, _ in sess._plans.values() for op in plan.step_ops])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # the forward chain is one node (a variable filter: nothing folded); the backward ops are untouched
    assert "BiasAdd" not in kinds[0] and "DepthwiseConv2dNative" not in kinds[0]
    assert "DepthwiseConv2dNativeBackpropFilter" in kinds[0] and "DepthwiseConv2dNativeBackpropInput" in kinds[0]
