"""tpu_sim's compiler: one compile per input-shape signature, fusion for the cost model, padding, static shapes."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf


def _programs(sess) -> list:
    """The compiled segments of the session's plans."""
    return [step[0] for plan, _ in sess._plans.values() for step in plan.steps
            if type(step[0]).__name__ == "Program"]


def test_a_changed_batch_shape_recompiles_once_then_hits_the_cache(tpu):
    x = tf.placeholder(tf.float32, [None, 8])
    with tf.device("/tpu:0"):
        y = tf.nn.relu(tf.matmul(x, tf.ones([8, 4])) + 1.0)
    with tf.Session() as sess:
        tpu.reset_stats()
        for batch in (4, 4, 6, 6, 6, 4):
            out = sess.run(y, {x: np.ones((batch, 8), np.float32)})
            assert out.shape == (batch, 4) and np.all(out == 9.0)
        (program,) = _programs(sess)
    assert tpu.stats()["compiles"] == 2 and tpu.stats()["cache_hits"] == 4
    assert len(program.cache) == 2


def test_a_new_precision_or_chip_is_a_new_compile(tpu):
    x = tf.placeholder(tf.float32, [2, 2])
    with tf.device("/tpu:0"):
        y = tf.matmul(x, x)
    feed = {x: np.eye(2, dtype=np.float32)}
    with tf.Session() as sess:
        sess.run(y, feed)
        tpu.reset_stats()
        sess.run(y, feed)
        tpu.configure(precision="HIGHEST")
        sess.run(y, feed)
        tpu.configure(chip="v2")
        sess.run(y, feed)
        sess.run(y, feed)
    assert tpu.stats()["compiles"] == 2 and tpu.stats()["cache_hits"] == 2


def test_a_matrix_op_fuses_the_elementwise_ops_that_consume_it(tpu):
    x = tf.placeholder(tf.float32, [16, 256])
    with tf.device("/tpu:0"):
        w = tf.ones([256, 128])
        y = tf.nn.relu(tf.add(tf.matmul(x, w, name="dense"), tf.ones([128]), name="bias"), name="act")
        z = tf.exp(tf.sqrt(tf.abs(y, name="abs"), name="sqrt") * 2.0, name="tail")  # y is fetched: a chain of its own
    with tf.Session() as sess:
        sess.run([y, z], {x: np.ones((16, 256), np.float32)})
    report = tpu.last_step_report()
    fused = {op.name: op for op in report.ops if op.kind != "free"}
    assert fused["dense"].kind == "mxu" and fused["dense"].ops == ("dense", "bias", "act")
    (chain,) = [op for op in fused.values() if op.kind == "vector"]
    assert chain.ops == ("abs", "sqrt", "Mul", "tail")
    # The chain reads y (and the scalar 2) and writes z, 16x128 float32 each; its intermediates never reach HBM.
    assert chain.bytes == 2 * 16 * 128 * 4 + 4


def test_a_value_read_twice_is_not_fused_away(tpu):
    x = tf.placeholder(tf.float32, [8, 128])
    with tf.device("/tpu:0"):
        a = tf.exp(x)
        y = tf.sqrt(a) + tf.square(a)  # a has two readers: it is written out once
    with tf.Session() as sess:
        sess.run(y, {x: np.ones((8, 128), np.float32)})
    ops = [op for op in tpu.last_step_report().ops if op.kind == "vector"]
    assert ops[0].ops == ("Exp",) and ops[0].bytes == 2 * 8 * 128 * 4


def test_padding_waste_of_matrix_dimensions_is_counted(tpu):
    a, b = tf.placeholder(tf.float32, [8, 128]), tf.placeholder(tf.float32, [128, 128])
    c, d = tf.placeholder(tf.float32, [5, 100]), tf.placeholder(tf.float32, [100, 10])
    with tf.device("/tpu:0"):
        aligned, ragged = tf.matmul(a, b), tf.matmul(c, d)
    with tf.Session() as sess:
        tpu.reset_stats()
        sess.run(aligned, {a: np.ones((8, 128), np.float32), b: np.ones((128, 128), np.float32)})
        assert tpu.stats()["padding_waste"] == 0.0
        tpu.reset_stats()
        sess.run(ragged, {c: np.ones((5, 100), np.float32), d: np.ones((100, 10), np.float32)})
    assert tpu.stats()["padding_waste"] == pytest.approx(1 - 5 * 100 * 10 / (8 * 128 * 128))
    (mxu,) = [op for op in tpu.last_step_report().ops if op.kind == "mxu"]
    assert mxu.gemms == ((1, 8, 128, 128),)
    assert tpu.last_step_report().padding_waste == pytest.approx(tpu.stats()["padding_waste"])


def test_a_shape_from_a_fed_value_is_a_clear_compile_error_naming_the_op(tpu):
    n = tf.placeholder(tf.int32, [], name="n")
    with tf.device("/tpu:0"):
        y = tf.range(n, name="steps") * 2
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"tpu_sim cannot compile op 'steps' \(Range\): its output shape depends on the value of "
                             r"input 1 \('n:0', from Placeholder 'n'\), which is not a compile-time constant"):
        tf.Session().run(y, {n: 3})


def test_a_shape_computed_from_shapes_and_constants_compiles(tpu):
    x = tf.placeholder(tf.float32, [None, 6])
    with tf.device("/tpu:0"):
        y = tf.reshape(x, tf.stack([tf.shape(x)[0] * 2, 3]))  # the target shape follows from x's shape
    with tf.Session() as sess:
        assert sess.run(y, {x: np.zeros((2, 6), np.float32)}).shape == (4, 3)
        assert sess.run(y, {x: np.zeros((5, 6), np.float32)}).shape == (10, 3)


def test_an_output_shape_that_changes_with_values_is_an_error_naming_the_op(tpu):
    x = tf.placeholder(tf.float32, [4])
    with tf.device("/tpu:0"):
        y = tf.where(x > 0, name="positive")
    with tf.Session() as sess:
        assert sess.run(y, {x: np.array([1, -1, 1, -1], np.float32)}).tolist() == [[0], [2]]
        assert sess.run(y, {x: np.array([-1, 1, -1, 1], np.float32)}).tolist() == [[1], [3]]  # same shape: fine
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"tpu_sim cannot run op 'positive' \(Where\) as compiled: it produced shape \[3, 1\], "
                                 r"but \[2, 1\] when its segment was compiled for the same input shapes"):
            sess.run(y, {x: np.array([1, 1, 1, -1], np.float32)})


def test_a_kernel_error_inside_a_segment_names_its_op(tpu):
    x = tf.placeholder(tf.float32, [None])
    with tf.device("/tpu:0"):
        y = tf.reshape(tf.exp(x), [2, 2], name="square_up")
    with pytest.raises(tf.errors.InvalidArgumentError, match="square_up"):
        tf.Session().run(y, {x: np.ones(3, np.float32)})


def test_unknown_device_options_are_refused(tpu):
    with tf.device("/tpu:0"):
        y = tf.ones([2]) * 2.0
    config = tf.ConfigProto(device_options={"tpu_sim": {"precission": "HIGH"}})
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['precission'\]; tpu_sim knows chip, precision"):
        tf.Session(config=config).run(y)
