"""The Done-when checks on MNIST, at test scale: an MLP and a small CNN trained briefly here, converted in every
mode; the int8 file's size, the accuracy of each mode against the graph's, and LiteRT agreeing with our files.

The full-size models and the full test set are measured by benchmarks/mobile_interpreter.py.
"""

from pathlib import Path

import numpy as np
import pytest

import tensorflux as tf
import tensorflux_mobile

from .conftest import output_scale, run_tflite

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"]
EVAL = 1000  # test images: enough to see a 0.5-point drop, few enough to stay fast


@pytest.fixture(scope="module")
def mnist():
    directory = Path(tf.datasets.mnist.default_dir())
    if not all((directory / name).exists() for name in FILES):
        pytest.skip(f"the MNIST files are not in {directory} (../shared/data/mnist from the repo root)")
    return tf.datasets.mnist.read_data_sets(str(directory), seed=0)


def train(mnist, kind, steps):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 784], name="images")
        labels = tf.placeholder(tf.int64, [None])
        if kind == "mlp":
            h = x
            for n_in, n_out, std in ((784, 128, 0.036), (128, 32, 0.09)):
                w = tf.Variable(tf.truncated_normal([n_in, n_out], stddev=std))
                h = tf.nn.relu(tf.matmul(h, w) + tf.Variable(tf.zeros([n_out])))
            logits = tf.matmul(h, tf.Variable(tf.truncated_normal([32, 10], stddev=0.18))) + tf.Variable(tf.zeros([10]))
            train_op = tf.train.GradientDescentOptimizer(0.3).minimize(
                tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)))
        else:
            h = tf.reshape(x, [-1, 28, 28, 1])
            for cin, cout in ((1, 8), (8, 16)):
                w = tf.Variable(tf.truncated_normal([5, 5, cin, cout], stddev=0.1))
                h = tf.nn.relu(tf.nn.conv2d(h, w, [1, 1, 1, 1], "SAME") + tf.Variable(tf.constant(0.1, shape=[cout])))
                h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
            h = tf.reshape(h, [-1, 7 * 7 * 16])
            h = tf.nn.relu(tf.matmul(h, tf.Variable(tf.truncated_normal([784, 128], stddev=0.035))) + 0.1)
            logits = tf.matmul(h, tf.Variable(tf.truncated_normal([128, 10], stddev=0.1)))
            train_op = tf.train.AdamOptimizer(2e-3).minimize(
                tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)))
        probs = tf.nn.softmax(logits, name="probs")
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            bx, by = mnist.train.next_batch(100)
            sess.run(train_op, {x: bx, labels: by})
    return sess, x, probs


@pytest.mark.parametrize("kind, steps", [("mlp", 300), ("cnn", 60)])
def test_quantized_mnist_models_keep_their_accuracy_and_shrink(mnist, litert, kind, steps):
    sess, x, probs = train(mnist, kind, steps)
    images, labels = mnist.test.images[:EVAL], mnist.test.labels[:EVAL]
    graph_acc = (sess.run(probs, {x: images}).argmax(1) == labels).mean()
    assert graph_acc > 0.85
    calibration = mnist.train.images[:500]
    files = {mode: tensorflux_mobile.convert(sess, [x], [probs], quantize=mode, representative_data=calibration)
             for mode in (None, "float16", "int8")}
    assert len(files["int8"]) <= 0.26 * len(files[None])
    acc = {}
    for mode, data in files.items():
        ours = run_tflite(tensorflux_mobile.Interpreter, data, images)
        acc[mode] = (ours.argmax(1) == labels).mean()
        theirs = run_tflite(litert, data, images[:200])
        if mode == "int8":
            assert np.abs(ours[:200] - theirs).max() <= output_scale(data) * 1.0001
        else:
            np.testing.assert_allclose(ours[:200], theirs, rtol=1e-4, atol=1e-5)
    assert acc[None] == pytest.approx(graph_acc, abs=1e-9)
    assert graph_acc - acc["float16"] <= 0.001
    assert graph_acc - acc["int8"] <= 0.005
