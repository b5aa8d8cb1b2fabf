"""MNIST 784-128-32-10 MLP with ReLUs, sparse softmax cross-entropy and gradient descent (TF 1.x's mnist.py tutorial).

    python examples/mnist_mlp.py --data-dir ../shared/data/mnist

Without --data-dir the files are read from $TENSORFLUX_DATA_DIR/mnist, else ../shared/data/mnist beside
the checkout when it holds them, else ~/.cache/tensorflux/mnist (downloaded there when missing).
Prints one summary line with the test accuracy and the wall time. With --logdir DIR, the graph and the
loss (every --summary-every steps) are written to DIR for ``tensorboard --logdir DIR``.

    mpiexec -n 2 python examples/mnist_mlp.py --distributed

With --distributed each MPI rank trains on its shard of the training set and gradients are averaged
across ranks (tf.distribute). --batch-size stays the global batch, split evenly among the ranks, so
the run takes the same optimization steps as a single process; only rank 0 prints, logs and saves.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

from tqdm import tqdm

import tensorflux as tf

IMAGE_PIXELS, NUM_CLASSES = 784, 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    # The default is core's, which the --help text shows resolved: see tf.datasets.mnist.default_dir.
    parser.add_argument("--data-dir", default=tf.datasets.mnist.default_dir(),
                        help="directory holding the four MNIST .gz files; missing ones are downloaded there")
    parser.add_argument("--steps", type=int, default=8000, help="training steps")
    parser.add_argument("--batch-size", type=int, default=100, help="examples per step")
    # 0.3 rather than the tutorial's 0.01: with 19,345 training images, 0.01 stops near 0.90 in 2,000 steps.
    parser.add_argument("--learning-rate", type=float, default=0.3, help="gradient-descent learning rate")
    parser.add_argument("--hidden1", type=int, default=128, help="units in the first hidden layer")
    parser.add_argument("--hidden2", type=int, default=32, help="units in the second hidden layer")
    parser.add_argument("--seed", type=int, default=0, help="seed for weight initialization and batch shuffling")
    parser.add_argument("--checkpoint-dir", default=os.path.join(tempfile.gettempdir(), "tensorflux", "mnist_mlp"),
                        help="where the final checkpoint and meta graph are saved")
    parser.add_argument("--logdir", default=None,
                        help="write the loss and the graph here for TensorBoard (tensorboard --logdir DIR)")
    parser.add_argument("--summary-every", type=int, default=100, help="steps between loss summaries with --logdir")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over the ranks of mpiexec; --batch-size is split among them")
    return parser.parse_args(argv)


def dense(inputs: tf.Tensor, units_in: int, units_out: int, name: str, activation=None) -> tf.Tensor:
    with tf.name_scope(name):
        weights = tf.Variable(tf.truncated_normal([units_in, units_out], stddev=1.0 / math.sqrt(units_in)),
                              name="weights")
        biases = tf.Variable(tf.zeros([units_out]), name="biases")
        out = tf.matmul(inputs, weights) + biases
        return activation(out) if activation is not None else out


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        mnist = tf.datasets.mnist.read_data_sets(args.data_dir, seed=args.seed)
    except (tf.datasets.mnist.DataUnavailableError, tf.datasets.mnist.CorruptDataError) as exc:
        sys.exit(f"mnist_mlp: {exc}")  # the message says what to pass; a traceback would bury it
    tf.set_random_seed(args.seed)
    train_data, batch_size = mnist.train, args.batch_size
    if args.distributed:
        try:
            train_data, batch_size = tf.distribute.data_parallel(mnist.train, args.batch_size)
        except ValueError as exc:
            sys.exit(f"mnist_mlp: --batch-size: {exc}")
    chief = tf.distribute.is_chief() if args.distributed else True

    images = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="images")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    hidden1 = dense(images, IMAGE_PIXELS, args.hidden1, "hidden1", tf.nn.relu)
    hidden2 = dense(hidden1, args.hidden1, args.hidden2, "hidden2", tf.nn.relu)
    logits = dense(hidden2, args.hidden2, NUM_CLASSES, "softmax_linear")

    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="xentropy")
    global_step = tf.Variable(0, name="global_step", trainable=False)
    optimizer = tf.train.GradientDescentOptimizer(args.learning_rate)
    if args.distributed:
        optimizer = tf.distribute.DistributedOptimizer(optimizer)
    train_op = optimizer.minimize(loss, global_step=global_step)
    correct = tf.reduce_sum(tf.cast(tf.nn.in_top_k(logits, labels, 1), tf.int32))
    for name, tensor in (("images", images), ("labels", labels), ("logits", logits)):
        tf.add_to_collection(name, tensor)
    saver = tf.train.Saver()
    sync = tf.distribute.broadcast_global_variables(0) if args.distributed else None
    # Only the chief writes: the other ranks hold the same variables, and their writes would race.
    logdir = args.logdir if chief else None
    loss_summary = tf.summary.scalar("loss", loss) if logdir else None

    with tf.Session() as sess:
        writer = tf.summary.FileWriter(logdir, sess.graph) if logdir else None
        sess.run(tf.global_variables_initializer())
        if sync is not None:
            sess.run(sync)
        bar = tqdm(range(args.steps), desc="mnist_mlp", unit="step", disable=args.no_progress or not chief)
        for step in bar:
            batch_images, batch_labels = train_data.next_batch(batch_size)
            feed = {images: batch_images, labels: batch_labels}
            if writer is not None and step % args.summary_every == 0:
                # The summary rides along with the training step, so logging costs no extra forward pass.
                _, loss_value, summary = sess.run([train_op, loss, loss_summary], feed_dict=feed)
                writer.add_summary(summary, global_step=step)
            else:
                _, loss_value = sess.run([train_op, loss], feed_dict=feed)
            if step % 100 == 0:
                bar.set_postfix(loss=f"{loss_value:.3f}")
        if writer is not None:
            writer.close()
        hits = int(sess.run(correct, feed_dict={images: mnist.test.images, labels: mnist.test.labels}))
        if not chief:
            return hits / mnist.test.num_examples
        os.makedirs(args.checkpoint_dir, exist_ok=True)
        saved = saver.save(sess, os.path.join(args.checkpoint_dir, "checkpoint"), global_step=global_step)
    test_accuracy = hits / mnist.test.num_examples
    print(f"mnist_mlp: test accuracy {test_accuracy:.4f}, wall time {time.perf_counter() - start:.1f} s "
          f"({args.steps} steps of {args.batch_size}); checkpoint {saved}")
    return test_accuracy


if __name__ == "__main__":
    main()
