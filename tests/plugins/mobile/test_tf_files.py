"""TensorFlow's own converter writes .tflite files; our interpreter runs them with LiteRT's results."""

import numpy as np
import pytest

import tensorflux_mobile

from .conftest import output_scale, run_tflite


@pytest.fixture(scope="module")
def tf_files():
    tf = pytest.importorskip("tensorflow")
    tf1 = tf.compat.v1
    rng = np.random.default_rng(0)
    files = {}
    with tf.Graph().as_default() as g:
        x = tf1.placeholder(tf.float32, [None, 16, 16, 3], name="x")
        h = tf.nn.relu(tf.nn.conv2d(x, rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32), 1, "SAME") + 0.1)
        h = tf.nn.max_pool2d(h, 2, 2, "SAME")
        h = tf.nn.relu6(tf.nn.depthwise_conv2d(h, rng.normal(0, 0.3, (3, 3, 8, 2)).astype(np.float32), [1, 1, 1, 1],
                                               "SAME"))
        h = tf.nn.conv2d(h, rng.normal(0, 0.1, (1, 1, 16, 64)).astype(np.float32), 1, "VALID")  # >= 1024 weights
        h = tf.nn.avg_pool2d(h, 2, 2, "VALID")
        h = tf.concat([h, tf.nn.sigmoid(h)], axis=3)
        h = tf.reduce_mean(h, axis=[1, 2]) * 2.0 + tf.reduce_mean(h, axis=[1, 2])
        h = tf1.reshape(h, [-1, 128])
        y = tf.nn.softmax(tf.matmul(h, rng.normal(0, 0.2, (128, 10)).astype(np.float32)), name="y")
        with tf1.Session(graph=g) as sess:
            for mode in ("float", "float16", "dynamic", "int8"):
                conv = tf1.lite.TFLiteConverter.from_session(sess, [x], [y])
                if mode != "float":
                    conv.optimizations = [tf.lite.Optimize.DEFAULT]
                if mode == "float16":
                    conv.target_spec.supported_types = [tf.float16]
                if mode == "int8":
                    conv.representative_dataset = lambda: ([rng.normal(0, 1, (1, 16, 16, 3)).astype(np.float32)]
                                                           for _ in range(32))
                files[mode] = conv.convert()

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32)])
    def dense(v):
        return tf.nn.relu(tf.matmul(v, tf.ones([6, 3])) - 1.0)

    files["tf.function"] = tf.lite.TFLiteConverter.from_concrete_functions([dense.get_concrete_function()]).convert()
    return files


@pytest.mark.parametrize("mode", ["float", "float16", "dynamic", "int8"])
def test_tf_converted_session_files_run_here(tf_files, litert, mode):
    xs = np.random.default_rng(1).normal(0, 1, (3, 16, 16, 3)).astype(np.float32)
    ours = run_tflite(tensorflux_mobile.Interpreter, tf_files[mode], xs)
    theirs = run_tflite(litert, tf_files[mode], xs)
    if mode == "int8":
        # TF's file runs LOGISTIC, MEAN and SOFTMAX in int8: LiteRT by tables, ours through float rounded once;
        # a one-step difference there can grow to two at the softmax.
        assert np.abs(ours - theirs).max() <= 2 * output_scale(tf_files[mode]) * 1.0001
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4 if mode == "dynamic" else 1e-5, atol=1e-6)


def test_tf_function_file_runs_here(tf_files, litert):
    xs = np.random.default_rng(2).normal(0, 1, (5, 6)).astype(np.float32)
    ours = run_tflite(tensorflux_mobile.Interpreter, tf_files["tf.function"], xs)
    np.testing.assert_allclose(ours, run_tflite(litert, tf_files["tf.function"], xs), rtol=1e-5)
    np.testing.assert_allclose(ours, np.maximum(xs.sum(axis=1, keepdims=True) - 1, 0).repeat(3, axis=1), rtol=1e-5)
