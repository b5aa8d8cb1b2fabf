"""Fit y = 0.1 * x + 0.3 (plus a little noise) with gradient descent: TF 1.x's first tutorial.

    python examples/linear_regression.py --steps 201

Prints W and b every 20 steps; they approach 0.1 and 0.3.
"""

from __future__ import annotations

import argparse

import numpy as np

import tensorflux as tf


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=201, help="gradient-descent steps")
    parser.add_argument("--learning-rate", type=float, default=0.5, help="gradient-descent learning rate")
    parser.add_argument("--points", type=int, default=100, help="number of (x, y) samples")
    parser.add_argument("--noise", type=float, default=0.01, help="standard deviation of the noise added to y")
    parser.add_argument("--print-every", type=int, default=20, help="print W and b every this many steps")
    parser.add_argument("--seed", type=int, default=0, help="seed for the data and the initial W")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> tuple[float, float]:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x_data = rng.random(args.points).astype(np.float32)
    y_data = (x_data * 0.1 + 0.3 + rng.normal(0.0, args.noise, args.points)).astype(np.float32)

    tf.set_random_seed(args.seed)
    w = tf.Variable(tf.random_uniform([1], -1.0, 1.0), name="W")
    b = tf.Variable(tf.zeros([1]), name="b")
    y = w * x_data + b

    loss = tf.reduce_mean(tf.square(y - y_data))
    train = tf.train.GradientDescentOptimizer(args.learning_rate).minimize(loss)

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(args.steps):
            sess.run(train)
            if step % args.print_every == 0:
                w_value, b_value, loss_value = sess.run([w, b, loss])
                print(f"step {step:4d}  W = {w_value[0]:.6f}  b = {b_value[0]:.6f}  loss = {loss_value:.3g}")
        w_value, b_value = sess.run([w, b])
    print(f"linear_regression: W = {w_value[0]:.4f} (true 0.1), b = {b_value[0]:.4f} (true 0.3) after {args.steps} steps")
    return float(w_value[0]), float(b_value[0])


if __name__ == "__main__":
    main()
