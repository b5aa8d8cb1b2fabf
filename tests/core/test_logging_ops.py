"""tf.print and tf.Print print what TF 1.x prints (same text, same stream), compared on captured output."""

import sys

import numpy as np
import pytest

import tensorflux as tf


def _cases(m):
    a, f = m.constant([1, 2, 3]), m.constant([1.5, 2.0, 1 / 3])
    grid = m.reshape(m.range(20), [4, 5])
    return [
        m.print("x", a, f, sep="|"), m.print(grid), m.print(m.range(10)),
        m.print(m.constant("hi"), m.constant(["a", "b"]), m.constant([True, False]), m.constant(1 / 3, m.float64),
                7, [1, 2]),
        m.print(grid, summarize=1), m.print(m.zeros([0, 2])), m.print({"k": a}),
        m.Print(a, [a, f, m.range(10)], "msg: ", summarize=4),
    ]


def _printed(build, capfd):
    capfd.readouterr()
    build()
    sys.stderr.flush()
    return capfd.readouterr().err


def test_text_matches_tensorflow(tfr, capfd):
    def ours():
        with tf.Session() as sess:
            for op in _cases(tf):
                sess.run(op)

    def theirs():
        with tfr.Graph().as_default(), tfr.Session() as sess:
            for op in _cases(tfr):
                sess.run(op)

    expected = _printed(theirs, capfd)
    got = _printed(ours, capfd)
    # TF's stderr may also hold its own deprecation warnings; our output is exactly its printed block.
    assert got.count("\n") == 13 and got in expected
    assert "x|[1 2 3]|[1.5 2 0.333333343]" in got


def test_output_stream_stdout_and_control_dependencies(capfd):
    x = tf.constant(2.5)
    printed = tf.print("value", x, output_stream=sys.stdout)
    with tf.control_dependencies([printed]):
        y = tf.identity(x)
    assert printed.type == "PrintV2" and printed.inputs[0].op.type == "StringFormat"
    assert tf.Session().run(y) == 2.5
    assert capfd.readouterr().out == "value 2.5\n"


def test_print_first_n_and_identity(capfd):
    x = tf.constant([1.0, 2.0])
    y = tf.Print(x, [x], "x=", first_n=2)
    with tf.Session() as sess:
        for _ in range(3):
            np.testing.assert_array_equal(sess.run(y), [1.0, 2.0])
    assert capfd.readouterr().err.count("x=[1 2]") == 2


def test_print_passes_gradient_through():
    x = tf.constant(3.0)
    (grad,) = tf.gradients(tf.Print(x, [x]) * 2.0, x)
    assert tf.Session().run(grad) == 2.0


def test_bad_output_stream_names_the_choices():
    with pytest.raises(ValueError, match="output_stream must be"):
        tf.print("x", output_stream=42)
