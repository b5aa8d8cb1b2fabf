"""The /mobile:0 device (the interpreter's float kernels inside a session) and ``python -m tensorflux convert``."""

import numpy as np

import tensorflux as tf
from tensorflux.__main__ import main
from tensorflux_mobile import Interpreter


def test_ops_on_mobile_device_match_the_cpu():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(2, 9, 9, 3)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    results = []
    for device in ("/cpu:0", "/mobile:0"):
        with tf.Graph().as_default(), tf.device(device):
            x = tf.constant(xs)
            h = tf.nn.relu6(tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME"))
            h = tf.nn.avg_pool(h, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
            y = tf.nn.softmax(tf.matmul(tf.reshape(h, [2, -1]), tf.ones([64, 5])) * 0.1 + 1.0)
            config = tf.ConfigProto(log_device_placement=False)
            with tf.Session(config=config) as sess:
                results.append(sess.run(y))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)


def test_convert_command_writes_a_file_from_a_checkpoint(tmp_path, capsys):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        keep = tf.placeholder(tf.float32, [], name="keep_prob")
        w = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, name="w")
        tf.nn.relu(tf.matmul(tf.nn.dropout(x, keep), w) - 0.5, name="y")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = tf.train.Saver().save(sess, str(tmp_path / "model"))
    samples = tmp_path / "samples.npy"
    np.save(samples, np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32))
    out = tmp_path / "model.tflite"
    assert main(["convert", "--checkpoint", prefix, "--inputs", "x", "--outputs", "y", "--feed", "keep_prob=1.0",
                 "--quantize", "int8", "--representative-data", str(samples), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    it = Interpreter(model_path=str(out))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array([[1, 0, 0, 1]], np.float32))
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), [[0.4, 0.6, 0.8]], atol=0.02)
    assert main(["convert", "--checkpoint", prefix, "--inputs", "x", "--outputs", "y", "-o", str(out)]) == 1
    assert "keep_prob" in capsys.readouterr().err
