"""The smallest tensorflux program: a graph with a placeholder, variables, scopes and a collection.

    python examples/hello.py
"""

import argparse

import numpy as np

import tensorflux as tf


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)  # only --help to offer
    print(tf.Session().run(tf.constant("Hello, Tensorflux!")).decode())
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    with tf.name_scope("dense"):
        w = tf.Variable(tf.truncated_normal([3, 2], stddev=0.1, seed=1), name="weights")
        b = tf.Variable(tf.zeros([2]), name="biases")
        y = tf.matmul(x, w) + b
    tf.add_to_collection("outputs", y)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(y, feed_dict={x: np.arange(6, dtype=np.float32).reshape(2, 3)})
    print("variables:", [v.name for v in tf.global_variables()])
    print("dense output:\n", out)


if __name__ == "__main__":
    main()
