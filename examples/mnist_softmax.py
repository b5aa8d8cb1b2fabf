"""MNIST softmax regression (784 -> 10) trained with gradient descent: TF 1.x's "MNIST for ML beginners".

    python examples/mnist_softmax.py --data-dir ../shared/data/mnist

Without --data-dir the files are read from $TENSORFLUX_DATA_DIR/mnist, else ../shared/data/mnist beside
the checkout when it holds them, else ~/.cache/tensorflux/mnist (downloaded there when missing).
Prints one summary line with the test accuracy and the wall time.
"""

from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

import tensorflux as tf


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    # The default is core's, which the --help text shows resolved: see tf.datasets.mnist.default_dir.
    parser.add_argument("--data-dir", default=tf.datasets.mnist.default_dir(),
                        help="directory holding the four MNIST .gz files; missing ones are downloaded there")
    parser.add_argument("--steps", type=int, default=1000, help="training steps")
    parser.add_argument("--batch-size", type=int, default=100, help="examples per step")
    parser.add_argument("--learning-rate", type=float, default=0.5, help="gradient-descent learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed for batch shuffling")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        mnist = tf.datasets.mnist.read_data_sets(args.data_dir, one_hot=True, seed=args.seed)
    except (tf.datasets.mnist.DataUnavailableError, tf.datasets.mnist.CorruptDataError) as exc:
        sys.exit(f"mnist_softmax: {exc}")  # the message says what to pass; a traceback would bury it

    x = tf.placeholder(tf.float32, [None, 784], name="x")
    w = tf.Variable(tf.zeros([784, 10]), name="weights")
    b = tf.Variable(tf.zeros([10]), name="biases")
    y = tf.matmul(x, w) + b
    y_ = tf.placeholder(tf.float32, [None, 10], name="labels")

    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(args.learning_rate).minimize(cross_entropy)
    correct = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in tqdm(range(args.steps), desc="mnist_softmax", unit="step", disable=args.no_progress):
            batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
            sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
        test_accuracy = float(sess.run(accuracy, feed_dict={x: mnist.test.images, y_: mnist.test.labels}))
    print(f"mnist_softmax: test accuracy {test_accuracy:.4f}, wall time {time.perf_counter() - start:.1f} s "
          f"({args.steps} steps of {args.batch_size})")
    return test_accuracy


if __name__ == "__main__":
    main()
