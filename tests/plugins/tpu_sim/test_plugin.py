"""The tpu_sim plugin as a user meets it: listed among the devices, '/tpu:0' as TF writes it, placement."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf


def test_the_device_is_listed_by_the_devices_command(tpu, capsys):
    from tensorflux.__main__ import main

    assert main(["devices", "--no-check"]) == 0  # the other plugins' health checks take seconds each
    line = next((ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("/tpu_sim:0")), "")
    assert line.split()[:2] == ["/tpu_sim:0", "tpu_sim"], line
    assert "platform: simulated TPU (tensorflux-tpu-sim), chip: TPU v3, matrix units: 4 x 128x128 at 940 MHz" in line
    assert tpu.get_device().health_check() == ""


@pytest.mark.parametrize("spec", ["/tpu:0", "/device:TPU:0", "/job:localhost/replica:0/task:0/device:TPU:0", "tpu"])
def test_tpu_as_tf_writes_it_is_the_simulated_device(tpu, spec):
    with tf.device(spec):
        y = tf.ones([2]) * 2.0
    assert y.op.device == "/tpu_sim:0"


def test_ops_placed_nowhere_in_particular_stay_on_the_cpu(tpu):
    x = tf.placeholder(tf.float32, [2])
    y = tf.exp(x)
    with tf.Session() as sess:
        sess.run(y, {x: np.zeros(2, np.float32)})
        assert sess.state.placement[y.op][0].name == "/cpu:0"


def test_variables_live_on_the_device_and_train_there(tpu):
    x = tf.placeholder(tf.float32, [None, 2])
    with tf.device("/tpu:0"):
        w = tf.Variable(np.zeros((2, 1), np.float32), name="w")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {x: np.ones((4, 2), np.float32)}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(20):
            sess.run(train, feed)
        assert sess.state.variables["w"].device.name == "/tpu_sim:0"
        assert sess.run(loss, feed) < 1e-4


def test_configure_refuses_an_unknown_chip(tpu):
    with pytest.raises(ValueError, match="unknown TPU chip 'v9'"):
        tpu.configure(chip="v9")


def test_describe_names_the_chip_and_precision(tpu):
    tpu.configure(chip="v2", precision="HIGH")
    facts = tpu.get_device().describe()
    assert facts["chip"] == "TPU v2" and facts["precision"] == "HIGH"
    assert facts["matrix units"] == "2 x 128x128 at 700 MHz"
