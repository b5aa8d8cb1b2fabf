"""convert(): graphs built here become .tflite files that LiteRT runs with our interpreter's results."""

import numpy as np
import pytest

import tensorflux as tf
import tensorflux_mobile
from tensorflux_mobile.converter import convert_model
from tensorflux_mobile.flatbuffer_io import read_model
from tensorflux_mobile.lowering import ConversionError

from .conftest import output_scale, run_tflite

MODES = [None, "float16", "dynamic", "int8"]


def _block_graph(seed=0):
    """conv + batch norm + relu6, avg pool, a second conv branch, concat, add/mul with constants, pad, mean, dense."""
    rng = np.random.default_rng(seed)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 12, 12, 3], name="x")
        w1 = tf.Variable(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
        h = tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME")
        h = tf.layers.batch_normalization(h, training=False, beta_initializer=tf.constant_initializer(0.1),
                                          moving_variance_initializer=tf.constant_initializer(2.0))
        h = tf.nn.relu6(h)
        h = tf.nn.avg_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        w2 = tf.Variable(rng.normal(0, 0.3, (1, 1, 8, 4)).astype(np.float32))
        b2 = tf.Variable(rng.normal(0, 0.1, 4).astype(np.float32))
        side = tf.nn.sigmoid(tf.nn.bias_add(tf.nn.conv2d(h, w2, [1, 1, 1, 1], "VALID"), b2))
        h = tf.concat([h, side], axis=3)
        h = tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]])
        h = tf.nn.max_pool(h, [1, 3, 3, 1], [1, 2, 2, 1], "VALID")
        h = h * 1.5 + tf.constant(rng.normal(0, 0.1, 12).astype(np.float32))
        h = h + tf.nn.relu(h)
        h = tf.reduce_mean(h, axis=[1, 2])
        w3 = tf.Variable(rng.normal(0, 0.3, (12, 5)).astype(np.float32))
        y = tf.nn.softmax(tf.matmul(h, w3) + 0.2, name="y")
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
    return sess, x, y


@pytest.fixture(scope="module")
def block():
    sess, x, y = _block_graph()
    rng = np.random.default_rng(1)
    xs = rng.normal(0, 1, (6, 12, 12, 3)).astype(np.float32)
    files = {mode: tensorflux_mobile.convert(sess, [x], [y], quantize=mode,
                                             representative_data=rng.normal(0, 1, (64, 12, 12, 3)).astype(np.float32))
             for mode in MODES}
    return sess, x, y, xs, files


def test_fusions_leave_one_conv_per_conv_and_no_batch_norm_ops(block):
    _, _, _, _, files = block
    m = read_model(files[None])
    codes = [op.code for op in m.ops]
    assert codes.count("CONV_2D") == 2 and "MUL" in codes  # h * 1.5 follows a pool: nothing to fold into
    assert m.ops[0].code == "CONV_2D" and m.ops[0].options["activation"] == "RELU6"  # conv + BN + relu6 is one op
    assert codes.count("FULLY_CONNECTED") == 1 and "LOGISTIC" in codes and "CONCATENATION" in codes
    assert read_model(files[None]).ops[-1].code == "SOFTMAX"


def test_float_file_matches_the_graph_and_litert(block, litert):
    sess, x, y, xs, files = block
    want = sess.run(y, {x: xs})
    ours = run_tflite(tensorflux_mobile.Interpreter, files[None], xs)
    theirs = run_tflite(litert, files[None], xs)
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["float16", "dynamic", "int8"])
def test_quantized_files_match_litert(block, litert, mode):
    sess, x, y, xs, files = block
    ours = run_tflite(tensorflux_mobile.Interpreter, files[mode], xs)
    theirs = run_tflite(litert, files[mode], xs)
    if mode == "int8":  # within one quantization step of the output
        assert np.abs(ours - theirs).max() <= output_scale(files[mode]) * 1.0001
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert np.abs(ours - sess.run(y, {x: xs})).max() < 0.05


def test_int8_file_layout_follows_the_quantization_spec(block):
    m = read_model(block[4]["int8"])
    assert [m.ops[0].code, m.ops[-1].code] == ["QUANTIZE", "DEQUANTIZE"]
    assert m.tensors[m.inputs[0]].dtype == np.float32 and m.tensors[m.outputs[0]].dtype == np.float32
    for op in m.ops:
        if op.code in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            x, w, b = (m.tensors[i] for i in op.inputs)
            assert w.dtype == np.int8 and np.all(w.zero_point == 0) and np.abs(w.data).max() <= 127
            assert b.dtype == np.int32
            np.testing.assert_allclose(b.scale, np.float32(x.scale[0]) * w.scale, rtol=1e-6)
            assert w.scale.size == (w.data.shape[0] if op.code == "CONV_2D" else 1)
        if op.code == "SOFTMAX":
            out = m.tensors[op.outputs[0]]
            assert (float(out.scale[0]), int(out.zero_point[0])) == (1 / 256, -128)
        if op.code in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "PAD"):
            a, b = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
            assert (a.scale[0], a.zero_point[0]) == (b.scale[0], b.zero_point[0])


def test_float16_file_stores_weights_as_float16_behind_dequantize(block):
    m = read_model(block[4]["float16"])
    weights = [t for t in m.tensors if t.is_constant and t.dtype == np.float16]
    assert weights and not [t for t in m.tensors if t.is_constant and t.dtype == np.float32]
    assert {op.code for op in m.ops if any(m.tensors[i].dtype == np.float16 for i in op.inputs)} == {"DEQUANTIZE"}


def test_dropout_at_keep_probability_one_vanishes_and_an_unbound_placeholder_is_named():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        keep = tf.placeholder(tf.float32, [], name="keep_prob")
        w = tf.Variable(tf.ones([4, 3]))
        y = tf.identity(tf.matmul(tf.nn.dropout(tf.nn.relu(x), keep), w), name="y")
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
    m = convert_model(sess, [x], [y], feed_dict={keep: 1.0})
    assert [op.code for op in m.ops] == ["RELU", "FULLY_CONNECTED"]
    with pytest.raises(ConversionError, match="keep_prob"):
        convert_model(sess, [x], [y])
    with pytest.raises(ConversionError, match="not 1"):
        convert_model(sess, [x], [y], feed_dict={keep: 0.5})


def test_errors_name_the_op_and_the_mode():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        y = tf.square(x, name="running")
        sess = tf.Session()
    with pytest.raises(ConversionError, match="running.*Square"):
        tensorflux_mobile.convert(sess, [x], [y])
    with pytest.raises(ValueError, match="quantize='int4'"):
        tensorflux_mobile.convert(sess, [x], [y], quantize="int4")
    with g.as_default():
        z = tf.nn.relu(x, name="z")
    with pytest.raises(ValueError, match="representative_data"):
        tensorflux_mobile.convert(sess, [x], [z], quantize="int8")


def test_mobilenet_block_with_depthwise_conv_matches_litert(litert):
    if not hasattr(tf.nn, "depthwise_conv2d"):
        pytest.skip("this tensorflux core has no tf.nn.depthwise_conv2d")
    rng = np.random.default_rng(2)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 10, 10, 6], name="x")
        dw = tf.Variable(rng.normal(0, 0.4, (3, 3, 6, 2)).astype(np.float32))
        h = tf.nn.depthwise_conv2d(x, dw, [1, 2, 2, 1], "SAME")
        h = tf.nn.relu6(tf.layers.batch_normalization(h, training=False, gamma_initializer=tf.constant_initializer(0.7)))
        pw = tf.Variable(rng.normal(0, 0.3, (1, 1, 12, 8)).astype(np.float32))
        h = tf.nn.relu6(tf.layers.batch_normalization(tf.nn.conv2d(h, pw, [1, 1, 1, 1], "SAME"), training=False))
        y = tf.identity(tf.reduce_mean(h, axis=[1, 2]), name="y")
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
    xs = rng.normal(0, 1, (4, 10, 10, 6)).astype(np.float32)
    files = {mode: tensorflux_mobile.convert(sess, [x], [y], quantize=mode, representative_data=xs) for mode in MODES}
    assert [op.code for op in read_model(files[None]).ops] == ["DEPTHWISE_CONV_2D", "CONV_2D", "MEAN"]
    want = sess.run(y, {x: xs})
    np.testing.assert_allclose(run_tflite(litert, files[None], xs), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run_tflite(tensorflux_mobile.Interpreter, files[None], xs), want, rtol=1e-5, atol=1e-5)
    ours, theirs = (run_tflite(cls, files["int8"], xs) for cls in (tensorflux_mobile.Interpreter, litert))
    assert np.abs(ours - theirs).max() <= output_scale(files["int8"]) * 1.0001
