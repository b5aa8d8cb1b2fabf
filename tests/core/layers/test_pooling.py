"""tf.layers.max_pooling2d and average_pooling2d against TensorFlow: names, values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.*:UserWarning")
X = np.random.default_rng(3).normal(size=(2, 7, 6, 3)).astype(np.float32)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool_size, strides", [(2, 2), ((3, 2), (2, 1))])
def test_pooling_matches_tf(both, padding, pool_size, strides):
    def build(lib):
        x = lib.constant(X)
        ys = [lib.layers.max_pooling2d(x, pool_size, strides, padding=padding),
              lib.layers.average_pooling2d(x, pool_size, strides, padding=padding),
              lib.layers.MaxPooling2D(pool_size, strides, padding=padding, name="pool")(x)]
        loss = lib.add_n([lib.reduce_sum(y * y) for y in ys])
        return [ys + lib.gradients(loss, [x]) + [lib.constant([y.op.name for y in ys])]]

    theirs, ours = both(build)
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5) if a.dtype != object else \
            np.testing.assert_array_equal(b, a)


def test_pooling_channels_first_equals_channels_last():
    x = tf.constant(X)
    last = tf.layers.max_pooling2d(x, 2, 2, padding="same")
    first = tf.layers.average_pooling2d(tf.transpose(x, [0, 3, 1, 2]), 2, 2, data_format="channels_first")
    flat = tf.layers.average_pooling2d(x, 2, 2)
    a, b, c = tf.Session().run([last, first, flat])
    assert a.shape == (2, 4, 3, 3)
    np.testing.assert_allclose(b.transpose(0, 2, 3, 1), c, rtol=1e-6)


@pytest.mark.parametrize("padding, pool_size, strides", [("valid", 2, 2), ("same", 3, 1)])
def test_pooling1d_matches_tf(both, padding, pool_size, strides):
    steps = X.reshape(2, 21, 6)

    def build(lib):
        x = lib.constant(steps)
        ys = [lib.layers.max_pooling1d(x, pool_size, strides, padding=padding),
              lib.layers.average_pooling1d(x, pool_size, strides, padding=padding),
              lib.layers.AveragePooling1D(pool_size, strides, padding=padding, name="pool")(x)]
        loss = lib.add_n([lib.reduce_sum(y * y) for y in ys])
        return [ys + lib.gradients(loss, [x]) + [lib.constant([y.op.name for y in ys])]]

    theirs, ours = both(build)
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5) if a.dtype != object else \
            np.testing.assert_array_equal(b, a)


def test_pooling1d_channels_first_equals_channels_last():
    x = tf.constant(X.reshape(2, 21, 6))
    last = tf.layers.max_pooling1d(x, 3, 2)
    first = tf.layers.max_pooling1d(tf.transpose(x, [0, 2, 1]), 3, 2, data_format="channels_first")
    with tf.Session() as sess:
        a, b = sess.run([last, first])
    np.testing.assert_array_equal(b.transpose(0, 2, 1), a)
