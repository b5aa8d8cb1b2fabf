"""The benchmark workloads, written once against the TF-1.x API so both frameworks run the same code.

Each workload is ``build(tf, size) -> (session, step)``: ``step()`` runs one measured unit of work.
``tf`` is ``tensorflux`` or ``tensorflow.compat.v1``; ``size`` is "full" or "tiny" (for the smoke test).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Step = Callable[[], Any]


def _session(tf: Any, graph: Any) -> Any:
    if hasattr(tf, "ConfigProto"):
        config = tf.ConfigProto(intra_op_parallelism_threads=0, inter_op_parallelism_threads=0)
        return tf.Session(graph=graph, config=config)
    return tf.Session(graph=graph)


def run_overhead(tf: Any, size: str) -> tuple[Any, Step]:
    """(1) ``y = x*2+1`` on a fed [1] float32 placeholder: the cost of one ``Session.run``."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [1])
        y = x * 2 + 1
    sess = _session(tf, graph)
    feed = {x: np.ones(1, np.float32)}
    return sess, lambda: sess.run(y, feed)


def add_chain(tf: Any, size: str) -> tuple[Any, Step]:
    """(2) A chain of 100 adds on a fed [1000] vector."""
    n = 100 if size == "full" else 5
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [1000])
        y = x
        for _ in range(n):
            y = y + 1.0
    sess = _session(tf, graph)
    feed = {x: np.ones(1000, np.float32)}
    return sess, lambda: sess.run(y, feed)


def _mnist_batch(batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int64)


def mlp_train_step(tf: Any, size: str) -> tuple[Any, Step]:
    """(3) One training step of the 784-128-32-10 MLP, sparse softmax cross-entropy, SGD, batch 100."""
    batch = 100 if size == "full" else 4
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        images = tf.placeholder(tf.float32, [None, 784])
        labels = tf.placeholder(tf.int64, [None])
        h = images
        for i, (n_in, n_out) in enumerate([(784, 128), (128, 32)]):
            w = tf.Variable(tf.truncated_normal([n_in, n_out], stddev=1.0 / np.sqrt(n_in)), name=f"w{i}")
            b = tf.Variable(tf.zeros([n_out]), name=f"b{i}")
            h = tf.nn.relu(tf.matmul(h, w) + b)
        w = tf.Variable(tf.truncated_normal([32, 10], stddev=0.1), name="w_out")
        b = tf.Variable(tf.zeros([10]), name="b_out")
        logits = tf.matmul(h, w) + b
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        init = tf.global_variables_initializer()
    sess = _session(tf, graph)
    sess.run(init)
    xs, ys = _mnist_batch(batch)
    feed = {images: xs, labels: ys}
    return sess, lambda: sess.run(train, feed)


def _cnn(tf: Any, images: Any, keep_prob: Any) -> Any:
    def weight(shape: list) -> Any:
        return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

    def bias(shape: list) -> Any:
        return tf.Variable(tf.constant(0.1, shape=shape))

    x = tf.reshape(images, [-1, 28, 28, 1])
    h = tf.nn.relu(tf.nn.conv2d(x, weight([5, 5, 1, 32]), [1, 1, 1, 1], "SAME") + bias([32]))
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.relu(tf.nn.conv2d(h, weight([5, 5, 32, 64]), [1, 1, 1, 1], "SAME") + bias([64]))
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.reshape(h, [-1, 7 * 7 * 64])
    h = tf.nn.relu(tf.matmul(h, weight([7 * 7 * 64, 1024])) + bias([1024]))
    h = tf.nn.dropout(h, keep_prob=keep_prob)
    return tf.matmul(h, weight([1024, 10])) + bias([10])


def cnn_train_step(tf: Any, size: str) -> tuple[Any, Step]:
    """(4) One training step of the deep-MNIST CNN, Adam 1e-4, batch 50."""
    batch = 50 if size == "full" else 2
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        images = tf.placeholder(tf.float32, [None, 784])
        labels = tf.placeholder(tf.int64, [None])
        keep_prob = tf.placeholder(tf.float32)
        logits = _cnn(tf, images, keep_prob)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = tf.train.AdamOptimizer(1e-4).minimize(loss)
        init = tf.global_variables_initializer()
    sess = _session(tf, graph)
    sess.run(init)
    xs, ys = _mnist_batch(batch)
    feed = {images: xs, labels: ys, keep_prob: 0.5}
    return sess, lambda: sess.run(train, feed)


def cnn_inference(tf: Any, size: str) -> tuple[Any, Step]:
    """(5) CNN inference at batch 1000; reported as images per second."""
    batch = 1000 if size == "full" else 3
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        images = tf.placeholder(tf.float32, [None, 784])
        keep_prob = tf.placeholder_with_default(1.0, [])
        predict = tf.argmax(_cnn(tf, images, keep_prob), 1)
        init = tf.global_variables_initializer()
    sess = _session(tf, graph)
    sess.run(init)
    xs, _ = _mnist_batch(batch)
    return sess, lambda: sess.run(predict, {images: xs})


def matmul_1024(tf: Any, size: str) -> tuple[Any, Step]:
    """(6) A 1024x1024x1024 float32 matmul through a session (fed operands, fetched result)."""
    n = 1024 if size == "full" else 16
    graph = tf.Graph()
    with graph.as_default():
        a = tf.placeholder(tf.float32, [n, n])
        b = tf.placeholder(tf.float32, [n, n])
        c = tf.matmul(a, b)
    sess = _session(tf, graph)
    rng = np.random.default_rng(0)
    feed = {a: rng.random((n, n), dtype=np.float32), b: rng.random((n, n), dtype=np.float32)}
    return sess, lambda: sess.run(c, feed)


def on_device(device_type: str, build: Callable) -> Callable:
    """``build``, but its graphs run on ``device_type`` (as with ``TENSORFLUX_DEVICE``): the preference is set
    while the workload builds and runs its first step, which is when tensorflux places ops and caches the plan.

    Example:
        >>> callable(on_device("opencl", run_overhead))
        True
    """
    import os

    def wrapped(tf: Any, size: str) -> tuple[Any, Step]:
        old = os.environ.get("TENSORFLUX_DEVICE")
        os.environ["TENSORFLUX_DEVICE"] = device_type
        try:
            sess, step = build(tf, size)
            step()
        finally:
            if old is None:
                os.environ.pop("TENSORFLUX_DEVICE", None)
            else:
                os.environ["TENSORFLUX_DEVICE"] = old
        return sess, step

    return wrapped


WORKLOADS = {
    "run_overhead": (run_overhead, "us"),
    "add_chain_100": (add_chain, "us"),
    "mlp_train_step": (mlp_train_step, "ms"),
    "cnn_train_step": (cnn_train_step, "ms"),
    "cnn_inference_b1000": (cnn_inference, "img/s"),
    "matmul_1024": (matmul_1024, "GFLOP/s"),
}
