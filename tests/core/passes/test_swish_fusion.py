"""The fusion pass on swish activations (``_FusedSwish``): Keras's frozen form (a scale, Sigmoid, Mul and the
IdentityN wrapper) and ``tf.nn.swish``, merged into a fused depthwise convolution before it when it has no
activation; fetched intermediates and training graphs (whose gradients read the sigmoid) are left alone. Each
against the same graph with no passes."""

from __future__ import annotations

import numpy as np
from chain_helpers import run_both as _run_both

import tensorflux as tf


def _keras_swish(x, beta=1.0):
    """Keras's swish as TF freezes it: Mul(beta, x), Sigmoid, Mul(x, sigmoid), IdentityN(product, x, beta)."""
    b = tf.constant(np.float32(beta))
    product = x * tf.sigmoid(b * x)
    return tf.identity_n([product, x, b])[0]


def test_keras_and_plain_swishes_become_one_step_each():
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [2, 5, 5, 8])
    h = x * 2.0 + 1.0  # read by the swishes and by the sum: x's other readers do not matter
    y = tf.reduce_sum(_keras_swish(h), axis=[1, 2]) + tf.reduce_sum(h, axis=[1, 2])
    z = tf.nn.swish(x - 1.0)
    w = _keras_swish(x, beta=1.5)
    feed = {x: (rng.standard_normal((2, 5, 5, 8)) * 6).astype(np.float32)}
    opt, plain, kinds = _run_both([y, z, w], feed)
    for got, want in zip(opt, plain):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    assert "Sigmoid" not in kinds and kinds.count("IdentityN") == 2 and kinds.count("Mul") == 1  # Mul: z's swish


def test_a_fetched_or_shared_intermediate_keeps_the_swish_apart():
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float32, [3, 4])
    s = tf.sigmoid(x)
    fetched = x * s  # s is fetched too
    scaled = x * 2.0
    shared = scaled * tf.sigmoid(scaled) + scaled  # scaled has a second reader: a swish of scaled (beta 1)
    half = x * 0.5
    other = tf.sigmoid(half) * (x + 1.0)  # a product with something else than the sigmoid's input
    feed = {x: rng.standard_normal((3, 4)).astype(np.float32)}
    opt, plain, kinds = _run_both([fetched, s, shared, other], feed)
    for got, want in zip(opt, plain):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    # Sigmoids left: the fetched one, and other's (an elementwise chain with x * 0.5, named after the sigmoid).
    # Muls: x * s, the scale, the fused swish of the scaled value (named after its product), other's product.
    assert kinds.count("Sigmoid") == 2 and kinds.count("Mul") == 4


def test_a_training_graph_keeps_its_sigmoid_and_its_gradients():
    rng = np.random.default_rng(2)
    x = tf.placeholder(tf.float32, [4, 6])
    w = tf.Variable(rng.standard_normal((6, 6)).astype(np.float32))
    loss = tf.reduce_sum(tf.nn.swish(tf.matmul(x, w)) ** 2)
    grad, = tf.gradients(loss, [w])
    feed = {x: rng.standard_normal((4, 6)).astype(np.float32)}
    results = []
    for config in (None, {"disable_passes": "all"}):
        with tf.Session(config=config) as sess:
            sess.run(w.initializer)
            results.append(sess.run([loss, grad], feed))
            kinds = [op.type for plan, _ in sess._plans.values() for op in plan.step_ops]
            assert "Sigmoid" in kinds  # the gradient reads it: nothing fused
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_swish_after_a_frozen_depthwise_convolution_and_batch_norm_is_its_activation():
    rng = np.random.default_rng(3)
    x = tf.placeholder(tf.float32, [2, 8, 8, 16])
    f = tf.constant((rng.standard_normal((5, 5, 16, 1)) / 5).astype(np.float32))
    h = tf.nn.depthwise_conv2d_native(x, f, [1, 1, 1, 1], "SAME")
    h = h * tf.constant((rng.random(16) + 0.5).astype(np.float32)) + tf.constant(rng.standard_normal(16).astype(
        np.float32))
    y = tf.reduce_mean(_keras_swish(h), axis=[1, 2])
    feed = {x: (rng.standard_normal((2, 8, 8, 16)) * 2).astype(np.float32)}
    opt, plain, kinds = _run_both(y, feed)
    np.testing.assert_allclose(opt, plain, rtol=1e-4, atol=1e-5 * np.abs(plain).max())
    assert kinds == ["IdentityN", "Mean"]  # one fused node carrying the wrapper's name, then the mean
