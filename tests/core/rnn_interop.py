"""Helpers of the RNN interop tests: TF's legacy ``tf.compat.v1.nn.rnn_cell`` and a two-library runner."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf


def legacy_rnn(tfr):
    """``tf.compat.v1`` with its ``nn.rnn_cell`` (TF 2.21 keeps the cells in tf-keras, Keras 3 dropped them)."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # read when tf.compat.v1.nn.rnn_cell is first touched
    pytest.importorskip("tf_keras", reason="tf-keras (installed by `make test`) provides tf.compat.v1.nn.rnn_cell")
    return tfr


def run_both(tfl, build, feed=None):
    """``build(lib)`` in TF, then here with TF's initial variable values loaded; ``(theirs, ours, names)``.

    ``feed(lib_placeholders)`` may give a feed dict from what ``build`` returned as its second value.
    """
    config = tfl.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True  # Grappler: seconds, nothing to test
    with tfl.Graph().as_default():
        fetches = build(tfl)
        with tfl.Session(config=config) as sess:
            sess.run(tfl.global_variables_initializer())
            initial = {v.name: sess.run(v) for v in tfl.global_variables()}
            theirs = sess.run(fetches)
    with tf.Graph().as_default():
        fetches = build(tf)
        names = [v.name for v in tf.global_variables()]
        assert names == list(initial), "variable names differ from TF's"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.global_variables():
                v.load(initial[v.name], sess)
            ours = sess.run(fetches)
    return theirs, ours, names


def assert_nested_close(theirs, ours, path="", rtol=1e-10, atol=1e-12):
    """Equal structures (dicts, tuples, lists) with equal arrays at float64 precision."""
    if isinstance(theirs, dict):
        assert sorted(theirs) == sorted(ours), path
        for key in theirs:
            assert_nested_close(theirs[key], ours[key], f"{path}/{key}", rtol, atol)
    elif isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(theirs) == len(ours), f"{path}: {type(ours)}"
        if hasattr(theirs, "_fields"):
            assert type(ours).__name__ == type(theirs).__name__, path
        for i, (a, b) in enumerate(zip(theirs, ours)):
            assert_nested_close(a, b, f"{path}/{i}", rtol, atol)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=path)
