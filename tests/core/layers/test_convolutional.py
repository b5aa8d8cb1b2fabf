"""tf.layers.conv2d against TensorFlow's tf.compat.v1.layers: variable names, values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.*:UserWarning")
RNG = np.random.default_rng(11)
NHWC = RNG.normal(size=(2, 7, 6, 3)).astype(np.float32)

CASES = {
    "valid": dict(filters=4, kernel_size=3),
    "same_strided": dict(filters=2, kernel_size=(3, 2), strides=2, padding="same", activation="relu"),
    "dilated": dict(filters=3, kernel_size=2, dilation_rate=2, padding="SAME"),
    "no_bias_regularized": dict(filters=2, kernel_size=1, use_bias=False, kernel_regularizer="l2"),
}


def _conv_net(case, channels_first=False):
    def build(lib):
        kwargs = dict(CASES[case])
        if kwargs.get("activation") == "relu":
            kwargs["activation"] = lib.nn.relu
        if kwargs.get("kernel_regularizer") == "l2":
            kwargs["kernel_regularizer"] = lib.nn.l2_loss
        x = lib.constant(NHWC.transpose(0, 3, 1, 2) if channels_first else NHWC)
        if channels_first:
            kwargs["data_format"] = "channels_first"
        y = lib.layers.conv2d(x, **kwargs)
        loss = lib.reduce_sum(y * y) + lib.add_n(lib.get_collection(lib.GraphKeys.REGULARIZATION_LOSSES) + [0.0])
        grads = lib.gradients(loss, [x] + lib.trainable_variables())
        names = [(v.name, v.shape.as_list()) for v in lib.global_variables()]
        return [[y, loss] + grads], names + [y.shape.as_list()], None
    return build


@pytest.mark.parametrize("case", sorted(CASES))
def test_conv2d_matches_tf(both, case):
    meta = {}

    def build(lib):
        stages, meta["ours" if lib is tf else "theirs"], _ = _conv_net(case)(lib)
        return stages

    theirs, ours = both(build)
    assert meta["ours"] == meta["theirs"]
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


def test_conv2d_channels_first_equals_channels_last_with_the_same_kernel():
    # TF's CPU kernels cannot run NCHW convolutions, so channels_first is checked against channels_last here.
    x = tf.constant(NHWC)
    last = tf.layers.conv2d(x, 4, 3, padding="same", name="last")
    first = tf.layers.conv2d(tf.transpose(x, [0, 3, 1, 2]), 4, 3, padding="same", data_format="channels_first",
                             name="first", kernel_initializer=tf.constant_initializer(0.0))
    kernel = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, "first/kernel")[0]
    assert kernel.shape.as_list() == [3, 3, 3, 4] and first.shape.as_list() == [2, 4, 7, 6]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        kernel.load(sess.run(tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, "last/kernel")[0]), sess)
        a, b = sess.run([last, first])
    np.testing.assert_allclose(b.transpose(0, 2, 3, 1), a, rtol=1e-5, atol=1e-5)


def test_conv2d_argument_errors():
    x = tf.zeros([1, 5, 5, 2])
    with pytest.raises(ValueError, match="padding"):
        tf.layers.conv2d(x, 2, 3, padding="full")
    with pytest.raises(ValueError, match="data_format"):
        tf.layers.conv2d(x, 2, 3, data_format="NHWC")
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        tf.layers.conv2d(x, 2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="channel dimension of the inputs should be defined"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 5, 5, None]), 2, 3)
