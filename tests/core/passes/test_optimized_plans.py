"""Optimized and unoptimized plans give the same results on the example models (MLP and CNN, tiny sizes).

Each model is built once; one session runs it with every graph pass, one with none. Both start from the
same seeded initial values and draw the same dropout masks, so the forward pass, the loss and the
variables after one training step must agree within float32 tolerance.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tensorflux as tf

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _example(name):
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mlp(images):
    mlp = _example("mnist_mlp")
    hidden1 = mlp.dense(images, 784, 16, "hidden1", tf.nn.relu)
    hidden2 = mlp.dense(hidden1, 16, 8, "hidden2", tf.nn.relu)
    return mlp.dense(hidden2, 8, 10, "softmax_linear"), {}


def _cnn(images):
    logits, keep_prob = _example("mnist_cnn").deepnn(images)
    return logits, {keep_prob: 0.5}


def _steps(sess):
    return max(len(plan.steps) for plan, _ in sess._plans.values())


@pytest.mark.parametrize("model, optimizer", [(_mlp, lambda: tf.train.GradientDescentOptimizer(0.1)),
                                              (_cnn, lambda: tf.train.AdamOptimizer(1e-3))], ids=["mlp", "cnn"])
def test_optimized_and_unoptimized_plans_agree(model, optimizer):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(7)
        images = tf.placeholder(tf.float32, [None, 784])
        labels = tf.placeholder(tf.int64, [None])
        logits, extra_feed = model(images)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = optimizer().minimize(loss)
        init = tf.global_variables_initializer()
        variables = tf.global_variables()
    rng = np.random.default_rng(0)
    feed = {images: rng.random((3, 784), dtype=np.float32), labels: rng.integers(0, 10, 3), **extra_feed}
    results = {}
    for name, config in (("optimized", None), ("plain", {"disable_passes": "all"})):
        with tf.Session(graph=graph, config=config) as sess:
            sess.run(init)
            before = sess.run([logits, loss], feed)
            sess.run(train, feed)
            after = sess.run([loss] + variables, feed)
            results[name] = (before, after, _steps(sess))
    (b_opt, a_opt, steps_opt), (b_plain, a_plain, steps_plain) = results["optimized"], results["plain"]
    for got, want in zip(b_opt + a_opt, b_plain + a_plain):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert steps_opt < steps_plain  # the passes did change the plan


def test_the_cnn_example_convolutions_are_fused_with_their_variables():
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, 784])
        logits, keep_prob = _example("mnist_cnn").deepnn(images)
        init = tf.global_variables_initializer()
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        sess.run(logits, {images: np.zeros((2, 784), np.float32), keep_prob: 1.0})
        plan = max((p for p, _ in sess._plans.values()), key=lambda p: len(p.steps))
        kinds = [op.type for op in plan.step_ops]
    # conv + bias + relu + 2x2 max pool, twice: one step each, named after the pool
    assert "Conv2D" not in kinds and "Relu" in kinds and kinds.count("MaxPool") == 2
