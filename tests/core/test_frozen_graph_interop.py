"""Frozen TensorFlow graphs of MobileNet-style blocks (depthwise convolution, batch norm, relu6 or swish, pointwise
convolution) run here with TensorFlow's outputs, as they are and with their batch norms folded.

Two producers, as users have them: Keras layers in a ``tf.function`` frozen by
``convert_variables_to_constants_v2`` (batch norm as Mul/Add, swish as a custom-gradient ``IdentityN``), and TF 1.x
layers frozen by ``tf.compat.v1.graph_util.convert_variables_to_constants`` (``FusedBatchNormV3``). Batch-norm
statistics are random, far from the identity, so every parameter shows in the outputs.
"""

import numpy as np
import pytest

import tensorflux as tf

RTOL = 1e-5


def _rng(seed):
    return np.random.default_rng(seed)


def _run_here(graph_def, fetch, feed):
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.import_graph_def(graph_def, name="")
        return sess.run(fetch, feed)


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * np.abs(want).max())


@pytest.fixture(scope="module")
def keras_block(tfr):
    """(serialized frozen GraphDef, input name, output name, batch, TF's output) of a Keras MobileNet-style block."""
    real = pytest.importorskip("tensorflow")
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    keras = real.keras
    real.keras.utils.set_random_seed(5)
    inputs = keras.Input((9, 9, 4))
    y = keras.layers.Conv2D(8, 1, use_bias=False)(inputs)
    y = keras.layers.BatchNormalization(epsilon=1e-3)(y)
    y = keras.layers.ReLU(6.0)(y)
    y = keras.layers.ZeroPadding2D(((0, 1), (0, 1)))(y)
    y = keras.layers.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False)(y)
    y = keras.layers.BatchNormalization(epsilon=1e-3)(y)
    y = keras.layers.Activation("swish")(y)
    y = keras.layers.Conv2D(6, 1, use_bias=True)(y)
    y = keras.layers.BatchNormalization(epsilon=1e-3)(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(y))
    rng = _rng(6)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, c), rng.normal(size=c), rng.normal(size=c),
                               rng.uniform(0.3, 3, c)])
    fn = real.function(lambda x: model(x, training=False))
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(real.TensorSpec([2, 9, 9, 4], real.float32)))
    graph_def = frozen.graph.as_graph_def()
    batch = rng.normal(size=(2, 9, 9, 4)).astype(np.float32)
    want = frozen(real.constant(batch))[0].numpy()
    return (graph_def.SerializeToString(), frozen.inputs[0].name, frozen.outputs[0].name, batch, want,
            {n.op for n in graph_def.node})


def test_a_frozen_keras_mobilenet_block_runs_here_with_tensorflows_outputs(keras_block):
    data, x, y, batch, want, ops = keras_block
    assert {"DepthwiseConv2dNative", "Relu6", "IdentityN", "Pad", "Mean", "Softmax"} <= ops
    _close(_run_here(data, y, {x: batch}), want)


def test_the_keras_block_with_its_batch_norms_folded_keeps_its_outputs(keras_block):
    data, x, y, batch, want, _ = keras_block
    folded = tf.graph_util.fold_batch_norms(data)
    assert not {"Rsqrt", "Sub"} & {n.op for n in folded.node}
    _close(_run_here(folded, y, {x: batch}), want)


def _tf1_batch_norm(tfr, y, channels, rng, name):
    """tf.compat.v1.nn.fused_batch_norm in inference mode over random variables (a FusedBatchNormV3 node)."""
    with tfr.variable_scope(name):
        params = [tfr.get_variable(n, initializer=rng.uniform(low, high, channels).astype(np.float32))
                  for n, low, high in (("gamma", 0.5, 2.0), ("beta", -1.0, 1.0), ("moving_mean", -1.0, 1.0),
                                       ("moving_variance", 0.3, 3.0))]
    return tfr.nn.fused_batch_norm(y, *params, epsilon=1e-3, is_training=False, name=name)[0]


@pytest.fixture(scope="module")
def tf1_block(tfr):
    """(frozen GraphDef, batch, TF's output, TF's session and its graph's GraphDef) of a TF 1.x-style block."""
    graph = tfr.Graph()
    rng = _rng(7)
    with graph.as_default():
        x = tfr.placeholder(tfr.float32, [None, 8, 8, 3], name="x")
        dw = tfr.get_variable("dw", initializer=rng.normal(size=(3, 3, 3, 2)).astype(np.float32))
        y = tfr.nn.relu6(_tf1_batch_norm(tfr, tfr.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME"), 6, rng, "bn_dw"))
        pw = tfr.get_variable("pw", initializer=rng.normal(size=(1, 1, 6, 4)).astype(np.float32))
        y = _tf1_batch_norm(tfr, tfr.nn.conv2d(y, pw, [1, 1, 1, 1], "VALID"), 4, rng, "bn_pw")
        tfr.identity(tfr.nn.relu6(y), name="out")
        sess = tfr.Session(graph=graph)
        sess.run(tfr.global_variables_initializer())
        graph_def = graph.as_graph_def()
        frozen = tfr.graph_util.convert_variables_to_constants(sess, graph_def, ["out"])
        batch = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
        want = sess.run("out:0", {"x:0": batch})
    yield frozen, batch, want, sess, graph_def
    sess.close()


def test_a_frozen_tf1_block_with_fused_batch_norms_runs_here(tf1_block):
    frozen, batch, want, _, _ = tf1_block
    assert {"FusedBatchNormV3", "DepthwiseConv2dNative", "Relu6"} <= {n.op for n in frozen.node}
    _close(_run_here(frozen.SerializeToString(), "out:0", {"x:0": batch}), want)
    folded = tf.graph_util.fold_batch_norms(frozen)
    assert "FusedBatchNormV3" not in {n.op for n in folded.node}
    _close(_run_here(folded, "out:0", {"x:0": batch}), want)


def test_our_freezer_on_tensorflows_session_gives_the_same_frozen_block(tf1_block):
    frozen, batch, want, sess, graph_def = tf1_block
    ours = tf.graph_util.convert_variables_to_constants(sess, graph_def, ["out"])
    assert sorted((n.name, n.op) for n in ours.node) == sorted((n.name, n.op) for n in frozen.node)
    _close(_run_here(ours, "out:0", {"x:0": batch}), want)
