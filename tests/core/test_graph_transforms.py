"""graph_util.fold_batch_norms: inference batch norms folded into the preceding convolution or product keep the
graph's outputs (to 1e-5), remove the normalization ops, and leave alone what cannot be folded."""

import collections

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(11)


def _rand(*shape, low=None, high=None):
    if low is not None:
        return RNG.uniform(low, high, shape).astype(np.float32)
    return RNG.normal(size=shape).astype(np.float32)


def _bn_params(c):
    """(scale, offset, mean, variance) far from the identity, so a wrong fold shows."""
    return _rand(c, low=0.5, high=2.0), _rand(c), _rand(c), _rand(c, low=0.3, high=3.0)


def _ops(graph_def):
    return collections.Counter(n.op for n in graph_def.node)


def _run(graph_def, fetches, feed):
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.import_graph_def(graph_def, name="")
        return sess.run(fetches, feed)


def _assert_same_outputs(graph_def, folded, fetches, feed):
    want, got = _run(graph_def, fetches, feed), _run(folded, fetches, feed)
    for name, w, g in zip(fetches, want, got):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * np.abs(w).max(), err_msg=name)


def _build_every_foldable_form():
    """Conv2D / DepthwiseConv2dNative / MatMul followed by each batch-norm form, as constants (a frozen graph)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [2, 6, 6, 3], name="x")
        # 1. Conv2D -> FusedBatchNormV3 (inference)
        y = tf.nn.conv2d(x, _rand(3, 3, 3, 4), [1, 1, 1, 1], "SAME")
        y = tf.nn.fused_batch_norm(y, *_bn_params(4), epsilon=1e-3, is_training=False, name="bn1")[0]
        # 2. depthwise (multiplier 2) -> BiasAdd -> tf.nn.batch_normalization's Mul/Add form -> relu6
        y = tf.nn.depthwise_conv2d(y, _rand(3, 3, 4, 2), [1, 2, 2, 1], "SAME")
        y = tf.nn.bias_add(y, _rand(8))
        scale, offset, mean, variance = _bn_params(8)
        y = tf.nn.batch_normalization(y, mean, variance, offset, scale, 1e-3, name="bn2")
        y = tf.nn.relu6(tf.identity(y, name="bn2_out"))
        # 3. 1x1 Conv2D -> Keras's form: x * k + (beta - mean * k) with k = rsqrt(var + eps) * gamma, the bias a
        #    Squeeze of a constant
        y = tf.nn.conv2d(y, _rand(1, 1, 8, 5), [1, 1, 1, 1], "VALID")
        y = tf.nn.bias_add(y, tf.squeeze(tf.constant(_rand(1, 5)), [0]))
        gamma, beta, mean, variance = _bn_params(5)
        k = tf.rsqrt(tf.constant(variance) + 1e-3) * gamma
        y = tf.add(y * k, beta - mean * k, name="bn3")
        # 4. MatMul (transpose_b) -> Mul by a scalar-free per-column k, then Sub
        flat = tf.reshape(y, [2, 45])
        z = tf.matmul(flat, _rand(7, 45), transpose_b=True)
        z = tf.subtract(z * _rand(7, low=0.5, high=1.5), _rand(7), name="bn4")
        tf.identity(z, name="out")
    return graph.as_graph_def(), {"x:0": _rand(2, 6, 6, 3)}


def test_every_form_folds_and_the_outputs_stay():
    graph_def, feed = _build_every_foldable_form()
    folded = tf.graph_util.fold_batch_norms(graph_def)
    before, after = _ops(graph_def), _ops(folded)
    assert after["FusedBatchNormV3"] == 0 and after["Mul"] == 0 and after["Sub"] == 0 and after["Rsqrt"] == 0
    assert after["BiasAdd"] == 4 and after["AddV2"] == 0
    assert after["Conv2D"] == before["Conv2D"] and after["DepthwiseConv2dNative"] == 1 and after["MatMul"] == 1
    names = {n.name for n in folded.node}
    assert {"bn1", "bn3", "bn4"} <= names  # the chains' last nodes keep their names, as BiasAdds
    assert len(folded.node) < len(graph_def.node)
    _assert_same_outputs(graph_def, folded, ["out:0", "bn2_out:0"], feed)


def test_what_cannot_be_folded_stays():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [1, 4, 4, 2], name="x")
        conv = tf.nn.conv2d(x, _rand(3, 3, 2, 3), [1, 1, 1, 1], "SAME", name="shared_conv")
        # the convolution is read twice: folding would change the other reader
        tf.identity(conv * _rand(3) + _rand(3), name="a")
        tf.identity(conv, name="b")
        # the batch statistics are read: a training-style consumer
        other = tf.nn.conv2d(x, _rand(1, 1, 2, 3), [1, 1, 1, 1], "SAME")
        y, mean, _ = tf.nn.fused_batch_norm(other, *_bn_params(3), is_training=False, name="read_stats")
        tf.identity(y + tf.reduce_sum(mean), name="c")
        # a per-pixel (not per-channel) scale, and a scale that is not a constant
        third = tf.nn.conv2d(x, _rand(1, 1, 2, 3), [1, 1, 1, 1], "SAME")
        tf.identity(third * _rand(1, 4, 4, 3), name="d")
        fourth = tf.nn.conv2d(x, _rand(1, 1, 2, 3), [1, 1, 1, 1], "SAME")
        tf.identity(fourth * tf.sigmoid(fourth), name="e")  # swish
        # training mode
        fifth = tf.nn.conv2d(x, _rand(1, 1, 2, 3), [1, 1, 1, 1], "SAME")
        tf.identity(tf.nn.fused_batch_norm(fifth, _rand(3), _rand(3))[0], name="f")
    graph_def = graph.as_graph_def()
    folded = tf.graph_util.fold_batch_norms(graph_def)
    assert _ops(folded) == _ops(graph_def)
    fetches = [f"{n}:0" for n in "abcdef"]
    _assert_same_outputs(graph_def, folded, fetches, {"x:0": _rand(1, 4, 4, 2)})


def test_control_dependencies_of_the_folded_nodes_move_to_the_bias_add():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [1, 3, 3, 2], name="x")
        marker = tf.no_op(name="marker")
        y = tf.nn.conv2d(x, _rand(1, 1, 2, 2), [1, 1, 1, 1], "SAME")
        with tf.control_dependencies([marker]):
            scaled = tf.multiply(y, _rand(2), name="scaled")
        tf.identity(scaled + _rand(2), name="out")
    folded = {n.name: n for n in tf.graph_util.fold_batch_norms(graph.as_graph_def()).node}
    bias_add = next(n for n in folded.values() if n.op == "BiasAdd")
    assert "^marker" in bias_add.input and "scaled" not in folded


def test_fold_batch_norms_reads_tensorflows_graph_defs_and_tensorflow_reads_the_result(tfr):
    graph_def, feed = _build_every_foldable_form()
    folded = tf.graph_util.fold_batch_norms(tfr.GraphDef.FromString(graph_def.SerializeToString()))
    theirs = tfr.Graph()
    with theirs.as_default():
        tfr.import_graph_def(tfr.GraphDef.FromString(folded.SerializeToString()), name="")
        with tfr.Session(graph=theirs) as sess:
            got = sess.run("out:0", feed)
    want = _run(graph_def, ["out:0"], feed)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_fold_batch_norms_names_a_bad_argument():
    with pytest.raises(TypeError, match="fold_batch_norms: graph_def must be a GraphDef proto"):
        tf.graph_util.fold_batch_norms(3)
    with pytest.raises(tf.errors.DataLossError, match="fold_batch_norms: the serialized graph_def is corrupt"):
        tf.graph_util.fold_batch_norms(b"\x0a\xff")
