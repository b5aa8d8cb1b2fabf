"""The classic tutorial's flow: train with a global step and save; then, in a fresh graph and session,
import the meta graph, restore, fetch the logits from their collection and evaluate with tf.nn.top_k.

Written as a TF-1.x script would be, with only ``import tensorflux as tf`` changed.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import tensorflux as tf

PIXELS, CLASSES, HIDDEN, STEPS = 16, 4, 12, 60


def toy_data(n, seed):
    """Points whose class is the quadrant-like bucket of a fixed projection: learnable by a small MLP."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, PIXELS)).astype(np.float32)
    projection = np.random.default_rng(99).normal(size=(PIXELS, CLASSES)).astype(np.float32)
    return images, np.argmax(images @ projection, axis=1).astype(np.int32)


def inference(images):
    with tf.name_scope("hidden1"):
        weights = tf.Variable(tf.truncated_normal([PIXELS, HIDDEN], stddev=1.0 / math.sqrt(PIXELS), seed=1),
                              name="weights")
        biases = tf.Variable(tf.zeros([HIDDEN]), name="biases")
        hidden1 = tf.nn.relu(tf.matmul(images, weights) + biases)
    with tf.name_scope("softmax_linear"):
        weights = tf.Variable(tf.truncated_normal([HIDDEN, CLASSES], stddev=1.0 / math.sqrt(HIDDEN), seed=2),
                              name="weights")
        biases = tf.Variable(tf.zeros([CLASSES]), name="biases")
        return tf.matmul(hidden1, weights) + biases


@pytest.fixture
def trained(tmp_path):
    """Train and save like fully_connected_feed.py; return the folder and the last step's reference outputs."""
    train_images, train_labels = toy_data(256, seed=0)
    images = tf.placeholder(tf.float32, shape=(None, PIXELS), name="images")
    labels = tf.placeholder(tf.int32, shape=(None,), name="labels")
    logits = inference(images)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    global_step = tf.Variable(0, name="global_step", trainable=False)
    train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=global_step)
    tf.add_to_collection("logits", logits)
    tf.add_to_collection("images", images)
    tf.add_to_collection("labels", labels)
    tf.add_to_collection("train_op", train_op)
    saver = tf.train.Saver()
    checkpoint_dir = str(tmp_path / "logs")
    os.makedirs(checkpoint_dir)
    test_images, _ = toy_data(64, seed=1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first_loss = sess.run(loss, {images: train_images, labels: train_labels})
        for step in range(STEPS):
            _, loss_value = sess.run([train_op, loss], {images: train_images, labels: train_labels})
            if (step + 1) % 20 == 0 or step + 1 == STEPS:
                saver.save(sess, checkpoint_dir + "/checkpoint", global_step=step)
        assert loss_value < first_loss  # it trained
        reference = sess.run(logits, {images: test_images})
        last_step = sess.run(global_step)
    return checkpoint_dir, reference, test_images, last_step


def test_import_meta_graph_restore_and_evaluate_with_top_k(trained):
    checkpoint_dir, reference, test_images, last_step = trained
    assert last_step == STEPS
    metas = {f for f in os.listdir(checkpoint_dir) if f.endswith(".meta")}
    assert metas == {f"checkpoint-{s}.meta" for s in range(19, STEPS, 20)}
    with tf.Session(graph=tf.Graph()) as sess:
        saver = tf.train.import_meta_graph(checkpoint_dir + f"/checkpoint-{STEPS - 1}.meta")
        saver.restore(sess, checkpoint_dir + f"/checkpoint-{STEPS - 1}")
        logits = tf.get_collection("logits")[0]
        images_placeholder = tf.get_collection("images")[0]
        values, indices = tf.nn.top_k(tf.nn.softmax(logits), k=1)
        top_values, top_indices = sess.run([values, indices], {images_placeholder: test_images})
        restored_logits = sess.run(logits, {images_placeholder: test_images})
        restored_step = sess.run("global_step:0")
    np.testing.assert_allclose(restored_logits, reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(top_indices[:, 0], np.argmax(reference, axis=1))
    probs = np.exp(reference - reference.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(top_values[:, 0], probs.max(axis=1), rtol=1e-5)
    assert restored_step == STEPS


def test_training_resumes_from_the_latest_checkpoint(trained):
    checkpoint_dir, _, _, _ = trained
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    assert latest == os.path.join(checkpoint_dir, f"checkpoint-{STEPS - 1}")
    train_images, train_labels = toy_data(256, seed=0)
    with tf.Session(graph=tf.Graph()) as sess:
        saver = tf.train.import_meta_graph(latest + ".meta")
        saver.restore(sess, latest)
        train_op = tf.get_collection("train_op")[0]
        feed = {tf.get_collection("images")[0]: train_images, tf.get_collection("labels")[0]: train_labels}
        sess.run(train_op, feed)
        assert sess.run("global_step:0") == STEPS + 1
        saver.save(sess, checkpoint_dir + "/checkpoint", global_step=STEPS)
    assert tf.train.latest_checkpoint(checkpoint_dir).endswith(f"checkpoint-{STEPS}")


def test_tensorflow_imports_the_meta_graph_restores_and_evaluates_the_same(trained, tfr):
    """TF 2.21's import_meta_graph accepts the meta graph written here (its SaverDef names the graph's save and
    restore ops), restores the checkpoint through them and computes the same logits and top-1 predictions."""
    checkpoint_dir, reference, test_images, _ = trained
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    with tfr.Graph().as_default(), tfr.Session() as sess:
        saver = tfr.train.import_meta_graph(latest + ".meta")
        saver.restore(sess, latest)
        logits = tfr.get_collection("logits")[0]
        restored = sess.run(logits, {tfr.get_collection("images")[0]: test_images})
        assert sess.run("global_step:0") == STEPS
    np.testing.assert_allclose(restored, reference, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.argmax(restored, axis=1), np.argmax(reference, axis=1))
