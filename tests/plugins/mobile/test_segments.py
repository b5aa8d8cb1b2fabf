"""/mobile:0 compiles each placed segment into a .tflite model and runs it in the plugin's interpreter."""

import warnings

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.errors import InvalidArgumentError
from tensorflux.extend import PlacementWarning

from .conftest import run_tflite

tensorflux_mobile = pytest.importorskip("tensorflux_mobile", reason="the mobile plugin is not installed")


@pytest.fixture
def mobile():
    device = tensorflux_mobile.get_device()
    device.reset_stats()
    return device


def _mlp(x, rng):
    w1 = tf.Variable(rng.normal(0, 0.05, (784, 64)).astype(np.float32))
    b1 = tf.Variable(rng.normal(0, 0.1, 64).astype(np.float32))
    w2 = tf.Variable(rng.normal(0, 0.1, (64, 10)).astype(np.float32))
    b2 = tf.Variable(rng.normal(0, 0.1, 10).astype(np.float32))
    return tf.nn.softmax(tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2)


def _cnn(x, rng):
    images = tf.reshape(x, [-1, 28, 28, 1])
    k1 = tf.Variable(rng.normal(0, 0.2, (5, 5, 1, 8)).astype(np.float32))
    k2 = tf.Variable(rng.normal(0, 0.1, (3, 3, 8, 16)).astype(np.float32))
    b2 = tf.Variable(rng.normal(0, 0.1, 16).astype(np.float32))
    h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(images, k1, [1, 1, 1, 1], "SAME")), [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.bias_add(tf.nn.conv2d(h, k2, [1, 2, 2, 1], "SAME"), b2)
    h = tf.nn.avg_pool(tf.nn.relu6(h), [1, 7, 7, 1], [1, 1, 1, 1], "VALID")
    w = tf.Variable(rng.normal(0, 0.1, (16, 10)).astype(np.float32))
    return tf.nn.softmax(tf.matmul(tf.reshape(h, [-1, 16]), w))


def _outputs(build, device, xs, config=None):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        with tf.device(device):
            y = build(x, np.random.default_rng(1))
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            return [sess.run(y, {x: xs}) for _ in range(2)]


@pytest.mark.parametrize("build, operator", [(_mlp, "FULLY_CONNECTED"), (_cnn, "CONV_2D")], ids=["mlp", "cnn"])
def test_mnist_models_on_mobile_run_one_tflite_model_and_match_the_cpu(mobile, build, operator):
    xs = np.random.default_rng(0).uniform(0, 1, (3, 784)).astype(np.float32)
    expected = _outputs(build, "/cpu:0", xs)[0]
    got = _outputs(build, "/mobile:0", xs)
    np.testing.assert_allclose(got[0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[1], got[0])
    assert mobile.stats() == {"compiles": 1, "cache_hits": 1, "recompiles": 0}
    (model,) = mobile.compiled
    assert model.content[4:8] == b"TFL3" and operator in model.operators and model.operators[-1] == "SOFTMAX"
    # The bias adds and activations were fused into the products, as the converter fuses them.
    assert "RELU" not in model.operators and "ADD" not in model.operators


def test_the_segments_model_runs_in_litert_with_the_same_outputs(mobile, litert):
    xs = np.random.default_rng(2).uniform(0, 1, (2, 784)).astype(np.float32)
    got = _outputs(_cnn, "/mobile:0", xs)[0]
    (model,) = mobile.compiled
    np.testing.assert_allclose(run_tflite(litert, model.content, xs), got, rtol=1e-5, atol=1e-6)


def test_a_new_batch_size_compiles_once_more_then_hits_the_cache(mobile):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        with tf.device("/mobile:0"):
            y = tf.nn.relu(tf.matmul(x, tf.ones([4, 3])) - 1.0)
        with tf.Session() as sess:
            for batch in (2, 2, 5, 5, 2):
                out = sess.run(y, {x: np.ones((batch, 4), np.float32)})
                assert out.shape == (batch, 3) and np.all(out == 3.0)
    assert mobile.stats() == {"compiles": 2, "cache_hits": 3, "recompiles": 0}


def test_a_variable_trained_on_the_cpu_is_seen_by_the_next_run_on_mobile(mobile):
    rng = np.random.default_rng(3)
    xs, ys = rng.normal(size=(8, 5)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 5])
        with tf.device("/cpu:0"):
            w = tf.Variable(rng.normal(size=(5, 2)).astype(np.float32))
            b = tf.Variable(np.zeros(2, np.float32))
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - ys))
            train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
            on_cpu = tf.nn.relu(tf.matmul(x, w) + b)
        with tf.device("/mobile:0"):
            on_mobile = tf.nn.relu(tf.matmul(x, w) + b)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(on_mobile, {x: xs})
            np.testing.assert_allclose(before, sess.run(on_cpu, {x: xs}), rtol=1e-5, atol=1e-6)
            sess.run(train, {x: xs})
            after = sess.run(on_mobile, {x: xs})
            np.testing.assert_allclose(after, sess.run(on_cpu, {x: xs}), rtol=1e-5, atol=1e-6)
            assert not np.allclose(after, before)
            np.testing.assert_array_equal(sess.run(on_mobile, {x: xs}), after)
    assert mobile.stats() == {"compiles": 2, "cache_hits": 1, "recompiles": 1}


def _with_tanh_inside(x):
    h = tf.nn.relu(tf.matmul(x, tf.constant(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))))
    return tf.nn.softmax(tf.matmul(tf.tanh(h), tf.ones([3, 2])) + 1.0)


def test_an_op_without_a_builtin_runs_outside_the_models_with_a_warning(mobile):
    xs = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    results = []
    for device in ("/cpu:0", "/mobile:0"):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None, 4])
            with tf.device(device):
                y = _with_tanh_inside(x)
            with tf.Session() as sess, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(sess.run(y, {x: xs}))
                sess.run(y, {x: xs})
        messages = [str(w.message) for w in caught if issubclass(w.category, PlacementWarning)]
        if device == "/mobile:0":
            assert len(messages) == 1 and "'Tanh' (Tanh)" in messages[0] and "TF Lite" in messages[0]
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    assert [m.operators for m in mobile.compiled] == [["FULLY_CONNECTED"], ["FULLY_CONNECTED", "SOFTMAX"]]


def test_weights_that_depend_on_a_feed_are_split_out_too(mobile):
    with tf.Graph().as_default():
        a, b = tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.float32, [3, 2])
        with tf.device("/mobile:0"):
            y = tf.nn.relu(tf.matmul(a, b) - 1.0)
        feed = {a: np.arange(6, dtype=np.float32).reshape(2, 3), b: np.ones((3, 2), np.float32)}
        with tf.Session() as sess, pytest.warns(PlacementWarning, match="'MatMul' .*depend on the inputs"):
            out = sess.run(y, feed)
    np.testing.assert_array_equal(out, [[2.0, 2.0], [11.0, 11.0]])


def test_with_soft_placement_off_an_unconvertible_op_is_an_error_naming_it(mobile):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        with tf.device("/mobile:0"):
            y = _with_tanh_inside(x)
        with tf.Session(config=tf.ConfigProto(allow_soft_placement=False)) as sess:
            with pytest.raises(InvalidArgumentError, match="'Tanh' \\(Tanh\\).*allow_soft_placement=False"):
                sess.run(y, {x: np.ones((1, 4), np.float32)})


def test_the_float16_option_runs_float16_models(mobile):
    xs = np.random.default_rng(5).uniform(0, 1, (2, 784)).astype(np.float32)
    expected = _outputs(_mlp, "/cpu:0", xs)[0]
    config = tf.ConfigProto(device_options={"mobile": {"quantize": "float16"}})
    got = _outputs(_mlp, "/mobile:0", xs, config)[0]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert "DEQUANTIZE" in mobile.compiled[-1].operators
    with pytest.raises(ValueError, match="quantize.*'int8'"):
        _outputs(_mlp, "/mobile:0", xs, tf.ConfigProto(device_options={"mobile": {"quantize": "int8"}}))


def test_weights_trained_on_mobile_itself_are_fed_after_a_few_rebuilds(mobile):
    from tensorflux_mobile.segments import VOLATILE_AFTER

    losses, rebuilds = [], []
    for device in ("/cpu:0", "/mobile:0"):
        rng = np.random.default_rng(6)
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None, 6])
            with tf.device(device):
                w = tf.Variable(rng.normal(size=(6, 3)).astype(np.float32))
                logits = tf.matmul(tf.nn.relu(x), w) + 0.5
                labels = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
                loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
                train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
            with tf.Session() as sess, warnings.catch_warnings():
                warnings.simplefilter("ignore", PlacementWarning)  # the gradient ops without a builtin
                sess.run(tf.global_variables_initializer())
                xs = rng.normal(size=(4, 6)).astype(np.float32)
                steps = []
                for _ in range(3):
                    steps += [sess.run([loss, train], {x: xs})[0] for _ in range(2 * VOLATILE_AFTER)]
                    rebuilds.append(mobile.stats()["recompiles"])
                losses.append(steps)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    assert losses[1][-1] < losses[1][0]
    # While w changes every call the models reading it are rebuilt, then w is fed to them: no more rebuilds.
    assert 0 < rebuilds[3] == rebuilds[5]
