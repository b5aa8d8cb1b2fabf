"""tf.layers.conv1d and conv2d_transpose against TensorFlow's tf.compat.v1.layers: variable names, shapes,
values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.*:UserWarning")
RNG = np.random.default_rng(13)
NWC = RNG.normal(size=(2, 9, 3)).astype(np.float32)
NHWC = RNG.normal(size=(2, 5, 4, 3)).astype(np.float32)

CONV1D = {
    "valid": dict(filters=4, kernel_size=3),
    "same_strided": dict(filters=2, kernel_size=3, strides=2, padding="same", activation="relu"),
    "causal_dilated": dict(filters=3, kernel_size=2, dilation_rate=2, padding="causal"),
    "no_bias_regularized": dict(filters=2, kernel_size=1, use_bias=False, kernel_regularizer="l2"),
}
TRANSPOSE = {
    "valid": dict(filters=4, kernel_size=3),
    "same_strided": dict(filters=2, kernel_size=(3, 2), strides=2, padding="same", activation="relu"),
    "valid_strided_wide_kernel": dict(filters=3, kernel_size=(2, 5), strides=(3, 2), padding="valid"),
    "no_bias_regularized": dict(filters=2, kernel_size=1, use_bias=False, kernel_regularizer="l2"),
}


def _net(layer, value, kwargs):
    def build(lib):
        kwargs_ = dict(kwargs)
        if kwargs_.get("activation") == "relu":
            kwargs_["activation"] = lib.nn.relu
        if kwargs_.get("kernel_regularizer") == "l2":
            kwargs_["kernel_regularizer"] = lib.nn.l2_loss
        x = lib.constant(value)
        y = getattr(lib.layers, layer)(x, **kwargs_)
        loss = lib.reduce_sum(y * y) + lib.add_n(lib.get_collection(lib.GraphKeys.REGULARIZATION_LOSSES) + [0.0])
        grads = lib.gradients(loss, [x] + lib.trainable_variables())
        names = [(v.name, v.shape.as_list()) for v in lib.global_variables()]
        return [[y, loss] + grads + [lib.constant(repr(names + [y.shape.as_list(), y.op.name]))]]
    return build


def _check(theirs, ours):
    for a, b in zip(theirs[0], ours[0]):
        if isinstance(a, bytes):
            assert b == a
        else:
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", sorted(CONV1D))
def test_conv1d_matches_tf(both, case):
    _check(*both(_net("conv1d", NWC, CONV1D[case])))


@pytest.mark.parametrize("case", sorted(TRANSPOSE))
def test_conv2d_transpose_matches_tf(both, case):
    _check(*both(_net("conv2d_transpose", NHWC, TRANSPOSE[case])))


def test_conv2d_transpose_unknown_spatial_size_and_class_reuse():
    x = tf.placeholder(tf.float32, [None, None, 4, 3])
    layer = tf.layers.Conv2DTranspose(2, 3, strides=2, padding="valid")
    y = layer(x)
    assert y.shape.as_list() == [None, None, 9, 2]
    z = layer(tf.zeros([1, 2, 2, 3]))
    assert len(tf.trainable_variables()) == 2 and z.shape.as_list() == [1, 5, 5, 2]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(y, {x: NHWC[:, :3]}).shape == (2, 7, 9, 2)


def test_conv1d_channels_first_equals_channels_last_with_the_same_kernel():
    x = tf.constant(NWC)
    last = tf.layers.conv1d(x, 4, 3, padding="same", name="last")
    first = tf.layers.conv1d(tf.transpose(x, [0, 2, 1]), 4, 3, padding="same", data_format="channels_first",
                             name="first", bias_initializer=tf.constant_initializer(0.0))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        kernels = {v.op.name: v for v in tf.global_variables()}
        kernels["first/kernel"].load(sess.run(kernels["last/kernel"]), sess)
        a, b = sess.run([last, first])
    np.testing.assert_allclose(b.transpose(0, 2, 1), a, rtol=1e-5, atol=1e-5)


def test_argument_errors():
    with pytest.raises(ValueError, match="padding"):
        tf.layers.conv1d(tf.zeros([1, 5, 2]), 2, 3, padding="full")
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        tf.layers.conv1d(tf.zeros([1, 5, 2]), 2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="expected ndim=3"):
        tf.layers.conv1d(tf.zeros([1, 5, 5, 2]), 2, 3)
    with pytest.raises(ValueError, match="expected ndim=4"):
        tf.layers.conv2d_transpose(tf.zeros([1, 5, 2]), 2, 3)
    with pytest.raises(ValueError, match="tuple of 1 integers"):
        tf.layers.conv1d(tf.zeros([1, 5, 2]), 2, (3, 3))
