"""Fixtures for the tf.layers tests: TensorFlow's legacy ``tf.compat.v1.layers`` and a two-library runner."""

from __future__ import annotations

import os

import pytest

import tensorflux as tf


@pytest.fixture(scope="module")
def tfl(tfr):
    """``tf.compat.v1`` whose ``layers`` are tf-keras's (TF 2.21 dropped them from Keras 3)."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # read when tf.compat.v1.layers is first touched, not at import
    pytest.importorskip("tf_keras", reason="tf-keras (installed by `make test`) provides tf.compat.v1.layers")
    return tfr


def run_both(tfl, build):
    """``build(lib)`` in TF then in Tensorflux, Tensorflux's variables loaded with TF's initial values."""
    with tfl.Graph().as_default():
        stages = build(tfl)
        with tfl.Session() as sess:
            sess.run([tfl.global_variables_initializer(), tfl.local_variables_initializer()])
            initial = {v.name: sess.run(v) for v in tfl.global_variables()}
            theirs = [sess.run(stage) for stage in stages]
    with tf.Graph().as_default():
        stages = build(tf)
        with tf.Session() as sess:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            assert [v.name for v in tf.global_variables()] == list(initial)
            for v in tf.global_variables():
                v.load(initial[v.name], sess)
            ours = [sess.run(stage) for stage in stages]
    return theirs, ours


@pytest.fixture
def both(tfl):
    """``both(build)``: ``build(lib)`` returns stages (lists of fetches) run in order; TF's values, then ours."""
    return lambda build: run_both(tfl, build)
