"""Train, save, then restore in a fresh graph and evaluate: the TF 1.x tutorial's checkpoint flow.

    python examples/save_restore.py --logdir /tmp/tfx_logs

Trains a small MLP on synthetic data with a global step, saving a checkpoint (and its .meta graph)
every 100 steps and the graph as logdir/graph.pbtxt. A second part imports the newest meta graph
into a new graph, restores the variables and prints the top-1 predictions of a few test points.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

import tensorflux as tf

FEATURES, CLASSES = 8, 3


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    projection = np.random.default_rng(1234).normal(size=(FEATURES, CLASSES)).astype(np.float32)
    return x, np.argmax(x @ projection, axis=1).astype(np.int32)


def train(logdir: str, steps: int) -> str:
    images = tf.placeholder(tf.float32, [None, FEATURES], name="images")
    labels = tf.placeholder(tf.int32, [None], name="labels")
    with tf.name_scope("hidden"):
        w1 = tf.Variable(tf.truncated_normal([FEATURES, 16], stddev=0.3, seed=1), name="weights")
        hidden = tf.nn.relu(tf.matmul(images, w1) + tf.Variable(tf.zeros([16]), name="biases"))
    with tf.name_scope("softmax_linear"):
        w2 = tf.Variable(tf.truncated_normal([16, CLASSES], stddev=0.3, seed=2), name="weights")
        logits = tf.matmul(hidden, w2) + tf.Variable(tf.zeros([CLASSES]), name="biases")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    global_step = tf.Variable(0, name="global_step", trainable=False)
    train_op = tf.train.GradientDescentOptimizer(0.3).minimize(loss, global_step=global_step)
    for name, value in (("logits", logits), ("images", images), ("labels", labels)):
        tf.add_to_collection(name, value)
    saver = tf.train.Saver(max_to_keep=3)
    tf.train.write_graph(tf.get_default_graph(), logdir, "graph.pbtxt")
    x, y = make_data(512, seed=0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(steps):
            _, loss_value = sess.run([train_op, loss], {images: x, labels: y})
            if (step + 1) % 100 == 0 or step + 1 == steps:
                path = saver.save(sess, logdir + "/checkpoint", global_step=step)
                print(f"step {step + 1}: loss {loss_value:.4f}, saved {path}")
    return tf.train.latest_checkpoint(logdir)


def evaluate(checkpoint: str) -> float:
    x, y = make_data(200, seed=1)
    with tf.Session(graph=tf.Graph()) as sess:
        saver = tf.train.import_meta_graph(checkpoint + ".meta")
        saver.restore(sess, checkpoint)
        logits = tf.get_collection("logits")[0]
        images = tf.get_collection("images")[0]
        _, top = sess.run(tf.nn.top_k(logits, k=1), {images: x})
    accuracy = float(np.mean(top[:, 0] == y))
    print(f"restored {checkpoint}: accuracy {accuracy:.3f} on {len(y)} test points")
    return accuracy


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default=None, help="where checkpoints go (default: a new temporary folder)")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    args = parser.parse_args(argv)
    logdir = args.logdir or tempfile.mkdtemp(prefix="tfx_logs_")
    return evaluate(train(logdir, args.steps))


if __name__ == "__main__":
    main()
