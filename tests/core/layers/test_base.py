"""The layer base: the training switch, argument normalization and a layer object's scope and weights."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.layers.base import normalize_data_format, pair, select_by_training, static_training


def test_static_training_reads_bools_and_constant_tensors():
    assert static_training(True) is True and static_training(None) is False
    assert static_training(tf.constant(False)) is False
    assert static_training(tf.placeholder(tf.bool, [])) is None
    with pytest.raises(TypeError, match="bool tensor"):
        static_training(tf.constant(1.0))


def test_a_training_tensor_picks_elementwise_and_routes_the_gradient():
    flag = tf.placeholder(tf.bool, [])
    x = tf.constant([1.0, 2.0])
    y = select_by_training(flag, lambda: x * 3.0, lambda: x * 5.0)
    (grad,) = tf.gradients(tf.reduce_sum(y), [x])
    with tf.Session() as sess:
        for value, factor in ((True, 3.0), (False, 5.0)):
            out, g = sess.run([y, grad], {flag: value})
            np.testing.assert_allclose(out, [factor, 2 * factor])
            np.testing.assert_allclose(g, [factor, factor])


def test_argument_normalization_errors_name_the_argument():
    assert pair([2], "strides") == (2, 2)
    with pytest.raises(ValueError, match="`kernel_size` argument must be a tuple of 2 integers"):
        pair((1, 2, 3), "kernel_size")
    with pytest.raises(ValueError, match="data_format"):
        normalize_data_format("nchw")


def test_layer_object_scope_and_weights():
    layer = tf.layers.Dense(2, name="head")
    with pytest.raises(ValueError, match="has not been used yet"):
        _ = layer.scope_name
    first, second = layer(tf.ones([1, 3])), layer.apply(tf.ones([4, 3]))
    assert layer.scope_name == "head" and layer.built
    assert [w.name for w in layer.weights] == ["head/kernel:0", "head/bias:0"]
    assert (first.op.name, second.op.name) == ("head/BiasAdd", "head/BiasAdd_1")
    frozen = tf.layers.Dense(2, trainable=False)
    frozen(tf.ones([1, 3]))
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    assert not set(frozen.non_trainable_weights) & set(tf.trainable_variables())
