"""tf.layers.conv3d, conv3d_transpose, max_pooling3d and average_pooling3d against TensorFlow's tf.compat.v1.layers:
variable names and shapes, output shapes and op names, values and gradients (with regularization losses)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.*:UserWarning")
RNG = np.random.default_rng(29)
NDHWC = RNG.normal(size=(2, 4, 5, 6, 3)).astype(np.float32)
NCDHW = NDHWC.transpose(0, 4, 1, 2, 3).copy()

CONV3D = {
    "valid": (NDHWC, dict(filters=4, kernel_size=3)),
    "same_strided_relu": (NDHWC, dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 2), padding="same",
                                      activation="relu")),
    "dilated": (NDHWC, dict(filters=3, kernel_size=2, dilation_rate=(1, 2, 2), padding="same")),
    "channels_first": (NCDHW, dict(filters=2, kernel_size=(1, 2, 3), strides=(1, 2, 1), data_format="channels_first")),
    "no_bias_regularized": (NDHWC, dict(filters=2, kernel_size=1, use_bias=False, kernel_regularizer="l2")),
}
TRANSPOSE = {
    "valid": (NDHWC, dict(filters=4, kernel_size=3)),
    "same_strided_relu": (NDHWC, dict(filters=2, kernel_size=(3, 2, 2), strides=2, padding="same", activation="relu",
                                      bias_regularizer="l2")),
    "valid_strided_wide_kernel": (NDHWC, dict(filters=3, kernel_size=(2, 1, 4), strides=(3, 2, 1))),
    "channels_first": (NCDHW, dict(filters=2, kernel_size=2, strides=(1, 2, 2), padding="same",
                                   data_format="channels_first")),
}
POOLING = {
    "max_valid": ("max_pooling3d", NDHWC, dict(pool_size=2, strides=2)),
    "max_same_channels_first": ("max_pooling3d", NCDHW, dict(pool_size=(3, 2, 3), strides=(2, 1, 2), padding="same",
                                                             data_format="channels_first")),
    "average_same": ("average_pooling3d", NDHWC, dict(pool_size=(2, 3, 3), strides=(1, 2, 2), padding="same")),
    "average_valid_channels_first": ("average_pooling3d", NCDHW, dict(pool_size=2, strides=(1, 2, 1),
                                                                      data_format="channels_first")),
}


def _net(layer, value, kwargs):
    def build(lib):
        kwargs_ = dict(kwargs)
        if kwargs_.get("activation") == "relu":
            kwargs_["activation"] = lib.nn.relu
        for key in ("kernel_regularizer", "bias_regularizer"):
            if kwargs_.get(key) == "l2":
                kwargs_[key] = lib.nn.l2_loss
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


@pytest.mark.parametrize("case", sorted(CONV3D))
def test_conv3d_matches_tf(both, case):
    value, kwargs = CONV3D[case]
    _check(*both(_net("conv3d", value, kwargs)))


@pytest.mark.parametrize("case", sorted(TRANSPOSE))
def test_conv3d_transpose_matches_tf(both, case):
    value, kwargs = TRANSPOSE[case]
    _check(*both(_net("conv3d_transpose", value, kwargs)))


@pytest.mark.parametrize("case", sorted(POOLING))
def test_pooling3d_matches_tf(both, case):
    layer, value, kwargs = POOLING[case]
    _check(*both(_net(layer, value, kwargs)))


def test_classes_reuse_their_variables_and_take_unknown_sizes():
    x = tf.placeholder(tf.float32, [None, None, 4, 3, 2])
    up = tf.layers.Conv3DTranspose(2, 3, strides=2, padding="valid")
    y = up(x)
    assert y.shape.as_list() == [None, None, 9, 7, 2]
    conv = tf.layers.Conv3D(5, 2, padding="same", name="shared")
    z = conv(y)
    conv(tf.zeros([1, 3, 3, 3, 2]))
    assert [v.name for v in tf.trainable_variables()] == [
        "conv3d_transpose/kernel:0", "conv3d_transpose/bias:0", "shared/kernel:0", "shared/bias:0"]
    assert up.kernel.shape.as_list() == [3, 3, 3, 2, 2] and conv.kernel.shape.as_list() == [2, 2, 2, 2, 5]
    pooled = tf.layers.MaxPooling3D(2, 2)(z)
    assert pooled.shape.as_list() == [None, None, 4, 3, 5]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(pooled, {x: NDHWC[:, :, :4, :3, :2]}).shape == (2, 4, 4, 3, 5)


def test_argument_errors():
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        tf.layers.conv3d(tf.zeros([1, 5, 5, 5, 2]), 2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="expected ndim=5"):
        tf.layers.conv3d(tf.zeros([1, 5, 5, 2]), 2, 3)
    with pytest.raises(ValueError, match="tuple of 3 integers"):
        tf.layers.conv3d_transpose(tf.zeros([1, 5, 5, 5, 2]), 2, (3, 3))
    with pytest.raises(ValueError, match="channel dimension of the inputs should be defined"):
        tf.layers.conv3d(tf.placeholder(tf.float32, [1, 5, 5, 5, None]), 2, 3)
    with pytest.raises(ValueError, match="padding"):
        tf.layers.max_pooling3d(tf.zeros([1, 4, 4, 4, 1]), 2, 2, padding="full")
    with pytest.raises(NotImplementedError, match="kernel_constraint"):
        tf.layers.conv3d(tf.zeros([1, 5, 5, 5, 2]), 2, 3, kernel_constraint=lambda w: w)
