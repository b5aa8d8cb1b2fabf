"""OpenCL kernels at shapes the conformance suite does not reach, checked against the cpu plugin.

Each test builds the same graph twice, placed on '/cpu:0' and on '/opencl:0', from the same seeded
inputs, and compares. float32 tolerances allow for a different summation order over up to a few
thousand terms (gemm, conv, reductions).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import list_devices

from .conftest import opencl_missing_reason

pytestmark = pytest.mark.skipif(bool(opencl_missing_reason()), reason=opencl_missing_reason() or "-")

RTOL, ATOL = 2e-4, 2e-5  # float32, sums of up to ~5000 terms in another order


def _on(device: str, build, seed: int = 0, init: bool = False):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        with tf.device(device):
            fetches, feeds = build(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any fallback to cpu would be a PlacementWarning
            with tf.Session(graph=graph) as sess:
                if init:
                    sess.run(tf.global_variables_initializer())
                return sess.run(fetches, feeds)


def _same(build, seed: int = 0, init: bool = False, rtol: float = RTOL, atol: float = ATOL):
    want = _on("/cpu:0", build, seed, init)
    got = _on("/opencl:0", build, seed, init)
    for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return got


def _ph(rng, shape, dtype=np.float32):
    value = rng.standard_normal(shape).astype(dtype)
    p = tf.placeholder(tf.as_dtype(dtype), shape)
    return p, value


@pytest.mark.parametrize("m, k, n, ta, tb", [(37, 53, 41, False, False), (64, 33, 70, True, False),
                                             (29, 64, 35, False, True), (40, 30, 50, True, True), (1, 300, 17, False, False)])
def test_packed_gemm_with_edges_and_transposes(m, k, n, ta, tb):
    def build(rng):
        a, av = _ph(rng, (k, m) if ta else (m, k))
        b, bv = _ph(rng, (n, k) if tb else (k, n))
        return tf.matmul(a, b, transpose_a=ta, transpose_b=tb), {a: av, b: bv}

    _same(build)


def test_batch_matmul_broadcasts_a_single_matrix():
    def build(rng):
        a, av = _ph(rng, (3, 4, 5))
        b, bv = _ph(rng, (5, 6))
        return tf.matmul(a, b), {a: av, b: bv}

    _same(build)


@pytest.mark.parametrize("strides, padding, fmt", [(1, "SAME", "NHWC"), (2, "VALID", "NHWC"), (2, "SAME", "NCHW")])
def test_conv2d_and_both_gradients(strides, padding, fmt):
    def build(rng):
        shape = (2, 9, 7, 3) if fmt == "NHWC" else (2, 3, 9, 7)
        x, xv = _ph(rng, shape)
        f = tf.constant(rng.standard_normal((3, 3, 3, 4)).astype(np.float32))
        y = tf.nn.conv2d(x, f, strides=strides, padding=padding, data_format=fmt)
        loss = tf.reduce_sum(y * y)
        return [y] + tf.gradients(loss, [x, f]), {x: xv}

    _same(build)


def test_conv_bias_relu_chain_fuses_like_cpu():
    def build(rng):
        x, xv = _ph(rng, (3, 8, 8, 2))
        f = tf.constant(rng.standard_normal((5, 5, 2, 6)).astype(np.float32))
        b = tf.constant(rng.standard_normal(6).astype(np.float32))
        return tf.nn.relu(tf.nn.conv2d(x, f, 1, "SAME") + b), {x: xv}

    _same(build)


def test_conv_bias_relu_pool_chain_keeps_its_pool():
    # The fusion pass once folded the 2x2 pool into a fused kernel here that ignores it: 4x the rows.
    def build(rng):
        x, xv = _ph(rng, (3, 8, 8, 2))
        f = tf.constant(rng.standard_normal((5, 5, 2, 6)).astype(np.float32))
        b = tf.constant(rng.standard_normal(6).astype(np.float32))
        h = tf.nn.relu(tf.nn.conv2d(x, f, 1, "SAME") + b)
        return tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"), {x: xv}

    assert _same(build).shape == (3, 4, 4, 6)


@pytest.mark.parametrize("ksize, stride, padding", [(2, 2, "SAME"), (3, 1, "SAME"), (3, 2, "VALID")])
def test_pooling_and_gradients(ksize, stride, padding):
    def build(rng):
        x, xv = _ph(rng, (2, 7, 9, 3))
        mx = tf.nn.max_pool(x, ksize, stride, padding)
        av = tf.nn.avg_pool(x, ksize, stride, padding)
        loss = tf.reduce_sum(mx * mx) + tf.reduce_sum(av * av * 3.0)
        return [mx, av, tf.gradients(loss, x)[0]], {x: xv}

    _same(build)


@pytest.mark.parametrize("axes", [[0], [1], [0, 2], [1, 2], [0, 1, 2]])
def test_reductions_along_any_axes(axes):
    def build(rng):
        x, xv = _ph(rng, (6, 300, 5))
        return [tf.reduce_sum(x, axes), tf.reduce_mean(x, axes, keepdims=True), tf.reduce_max(x, axes),
                tf.reduce_min(x, axes)], {x: xv}

    _same(build)


def test_long_reduction_takes_two_passes_and_stays_accurate():
    def build(rng):
        x, xv = _ph(rng, (20000,))
        return [tf.reduce_sum(x), tf.reduce_mean(x), tf.nn.l2_loss(x)], {x: xv}

    _same(build, rtol=1e-5, atol=1e-3)


def test_argmax_bias_add_grad_and_softmax_family():
    def build(rng):
        x, xv = _ph(rng, (7, 11))
        labels = tf.constant(np.arange(7) % 11)
        y = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x)
        g = tf.gradients(tf.reduce_sum(y), x)[0]
        return [tf.argmax(x, 1), tf.argmin(x, 0), tf.nn.log_softmax(x), y, g], {x: xv}

    _same(build)


def test_broadcasting_over_three_merged_dims_and_select():
    def build(rng):
        a, av = _ph(rng, (4, 1, 6, 5))
        b, bv = _ph(rng, (3, 1, 5))
        s = a * b - tf.maximum(a, b)
        return [s, tf.where(s > 0, s, -s), tf.cast(s > 0.5, tf.int32) * 3 // 2], {a: av, b: bv}

    _same(build)


def test_data_movement_ops():
    def build(rng):
        x, xv = _ph(rng, (4, 5, 6))
        idx = tf.constant([3, 0, 2, 2])
        return [tf.transpose(x, [2, 0, 1]), tf.tile(x, [2, 1, 3]), x[::-1, 1:4, ::2], tf.slice(x, [1, 0, 2], [2, -1, 3]),
                tf.gather(x, idx, axis=1), tf.concat([x, x * 2.0], axis=2), tf.stack([x, x], axis=1),
                tf.reshape(x, [-1, 6]), tf.expand_dims(x, 1), tf.zeros_like(x), tf.fill([3, 2], 7.0)], {x: xv}

    _same(build)


@pytest.mark.parametrize("optimizer", [
    lambda: tf.train.GradientDescentOptimizer(0.1), lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    lambda: tf.train.AdamOptimizer(0.01), lambda: tf.train.AdagradOptimizer(0.1), lambda: tf.train.RMSPropOptimizer(0.01),
    lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True)], ids=["sgd", "nesterov", "adam", "adagrad",
                                                                               "rmsprop", "centered_rmsprop"])
def test_fused_optimizer_updates_match_cpu(optimizer):
    def build(rng):
        x, xv = _ph(rng, (8, 5))
        w = tf.Variable(rng.standard_normal((5, 3)).astype(np.float32), name="w")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
        train = optimizer().minimize(loss)
        with tf.control_dependencies([train]):
            after = tf.identity(w.read_value() if hasattr(w, "read_value") else w)
        return after, {x: xv}

    def run(device):
        graph = tf.Graph()
        with graph.as_default():
            rng = np.random.default_rng(1)
            with tf.device(device):
                after, feeds = build(rng)
            with tf.Session(graph=graph) as sess:
                sess.run(tf.global_variables_initializer())
                return [sess.run(after, feeds) for _ in range(4)]

    for got, want in zip(run("/opencl:0"), run("/cpu:0")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_variables_stay_resident_and_buffers_are_reused():
    device = next(d for d in list_devices() if d.device_type == "opencl")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [32, 32])
        with tf.device(device.name):
            w = tf.Variable(np.ones((32, 32), np.float32), name="w")
            step = tf.assign(w, tf.matmul(x, w) * 0.01)
        with tf.Session(graph=graph) as sess:
            sess.run(w.initializer)
            feed = {x: np.ones((32, 32), np.float32)}
            sess.run(step, feed)
            in_use = device.pool.in_use
            for _ in range(5):
                sess.run(step, feed)
            assert device.pool.in_use == in_use  # every run's temporaries went back to the pool
            assert type(sess.state.variables["w"].value).__name__ == "DeviceArray"


def test_fallback_is_reported_once_naming_the_op():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [4])
        with tf.device("/opencl:0"):
            y = tf.nn.top_k(x * 2.0, k=2, name="the_top_k").values + 1.0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with tf.Session(graph=graph) as sess:
                for _ in range(3):
                    out = sess.run(y, {x: [1.0, 4.0, 2.0, 3.0]})
    messages = [str(w.message) for w in caught if "the_top_k" in str(w.message)]
    assert len(messages) == 1 and "/cpu:0" in messages[0], messages
    np.testing.assert_array_equal(out, [9.0, 7.0])


def test_sparse_labels_out_of_range_name_the_value():
    graph = tf.Graph()
    with graph.as_default():
        logits = tf.placeholder(tf.float32, [2, 3])
        labels = tf.placeholder(tf.int64, [2])
        with tf.device("/opencl:0"):
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 5"):
            tf.Session(graph=graph).run(loss, {logits: np.zeros((2, 3)), labels: [1, 5]})


def test_shape_arithmetic_stays_on_the_host():
    """Shapes and integer ops on constants are computed in numpy: no buffer is ever uploaded for them."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 6])
        with tf.device("/opencl:0"):
            n = tf.shape(x)[0] * 2 // 3 + tf.reduce_prod(tf.shape(x))
            y = tf.reshape(x, tf.stack([-1, 3]))
        with tf.Session(graph=graph) as sess:
            got_n, got_y = sess.run([n, y], {x: np.ones((3, 6))})
    assert got_n == 3 * 2 // 3 + 18 and got_y.shape == (6, 3)
