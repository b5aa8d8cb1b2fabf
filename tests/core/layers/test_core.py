"""tf.layers.dense, dropout and flatten against TensorFlow's tf.compat.v1.layers: names, values, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.*:UserWarning")
RNG = np.random.default_rng(5)
X2 = RNG.normal(size=(4, 3)).astype(np.float32)
X3 = RNG.normal(size=(2, 5, 3)).astype(np.float32)


def _dense_net(lib):
    x = lib.constant(X2)
    h = lib.layers.dense(x, 4, activation=lib.nn.relu, kernel_regularizer=lambda w: 0.1 * lib.reduce_sum(w * w),
                         bias_initializer=lib.constant_initializer(0.1))
    y = lib.layers.dense(h, 2, use_bias=False, name="logits")
    y3 = lib.layers.dense(lib.constant(X3), 2, activity_regularizer=lambda a: lib.reduce_sum(lib.abs(a)))
    loss = lib.reduce_sum(y * y) + lib.reduce_sum(y3) + lib.add_n(lib.get_collection(
        lib.GraphKeys.REGULARIZATION_LOSSES))
    grads = lib.gradients(loss, lib.trainable_variables())
    return [[y, y3, loss] + grads]


def test_dense_names_values_and_gradients_match(both):
    theirs, ours = both(_dense_net)
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def _names(lib):
    x = lib.placeholder(lib.float32, [None, 3])
    outs = [lib.layers.dense(x, 4), lib.layers.dense(x, 4), lib.layers.dense(x, 2, activation=lib.nn.relu)]
    with lib.variable_scope("block"):
        outs.append(lib.layers.dense(x, 2, name="fc"))
    outs.append(lib.layers.dense(x, 2, name="fc"))
    outs.append(lib.layers.dense(x, 2, name="fc", reuse=True))
    with lib.variable_scope("block", reuse=True):
        outs.append(lib.layers.dense(x, 2, name="fc"))
    layer = lib.layers.Dense(3, name="shared")
    outs += [layer(x), layer(x)]
    outs.append(lib.layers.flatten(lib.zeros([2, 3, 4])))
    outs.append(lib.layers.dropout(x, training=False))
    return ([(v.name, v.shape.as_list()) for v in lib.global_variables()],
            [(v.name, v.shape.as_list()) for v in lib.trainable_variables()],
            [o.op.name for o in outs], [o.shape.as_list() for o in outs], layer.name,
            [w.name for w in layer.trainable_weights])


def test_variable_and_op_names_match(tfl):
    with tfl.Graph().as_default():
        theirs = _names(tfl)
    with tf.Graph().as_default():
        ours = _names(tf)
    assert ours[:2] == theirs[:2] and ours[3:] == theirs[3:]
    # Op names match but for the last op of dense/flatten/dropout: TF's rank-3 dense uses Tensordot and
    # flatten/dropout end in other op types; the scope part is what users see.
    assert [n.rsplit("/", 1)[0] for n in ours[2]] == [n.rsplit("/", 1)[0] for n in theirs[2]]


def test_dense_errors_and_refusals():
    with pytest.raises(ValueError, match="last dimension of the inputs to `Dense` should be defined"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, None]), 2)
    with pytest.raises(NotImplementedError, match="kernel_constraint"):
        tf.layers.dense(tf.zeros([1, 2]), 2, kernel_constraint=lambda w: w)
    tf.layers.dense(tf.zeros([1, 2]), 2, name="d")
    with pytest.raises(ValueError, match="d/kernel already exists"):
        tf.layers.dense(tf.zeros([1, 2]), 2, name="d")


def _dropout(lib, training):
    x = lib.constant(np.ones((200, 50), np.float32))
    return [[lib.layers.dropout(x, rate=0.25, training=training)]]


@pytest.mark.parametrize("training", [True, "tensor_true"])
def test_dropout_in_training_drops_at_rate_and_rescales(training):
    flag = True if training is True else tf.placeholder_with_default(True, [])
    y = tf.layers.dropout(np.ones((200, 50), np.float32), rate=0.25, training=flag, seed=3)
    out = tf.Session().run(y)
    assert set(np.unique(out).tolist()) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.02


def test_dropout_off_matches_tf_and_the_tensor_switch_passes_through(both):
    theirs, ours = both(lambda lib: [[lib.layers.dropout(lib.constant(X2), training=False),
                                      lib.layers.dropout(lib.constant(X2),
                                                         training=lib.placeholder_with_default(False, []))]])
    np.testing.assert_array_equal(ours[0][0], theirs[0][0])
    np.testing.assert_array_equal(ours[0][1], X2)


def test_dropout_gradient_through_a_training_tensor():
    flag = tf.placeholder(tf.bool, [])
    x = tf.constant(X2)
    y = tf.layers.dropout(x, rate=0.5, training=flag, seed=1)
    (grad,) = tf.gradients(tf.reduce_sum(y), [x])
    with tf.Session() as sess:
        out, g = sess.run([y, grad], {flag: True})
        np.testing.assert_allclose(g, np.where(out != 0, 2.0, 0.0))
        np.testing.assert_array_equal(sess.run(grad, {flag: False}), np.ones_like(X2))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten_matches_tf(both, data_format):
    x = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
    theirs, ours = both(lambda lib: [[lib.layers.flatten(lib.constant(x), data_format=data_format),
                                      lib.layers.flatten(lib.constant(x[:, 0, 0, :]))]])
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_array_equal(b, a)


def test_flatten_of_unknown_batch_keeps_the_feature_size():
    y = tf.layers.flatten(tf.placeholder(tf.float32, [None, 4, 4, 3]))
    assert y.shape.as_list() == [None, 48]
