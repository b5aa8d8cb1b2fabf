"""Training loops that read their batches from a Dataset instead of feed_dict."""

from pathlib import Path

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.datasets import mnist

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not all((SHARED / name).is_file() for name in mnist.FILES),
                                 reason=f"the shared MNIST files are not in {SHARED} (../shared/data/mnist)")


def _synthetic_mnist(n=600, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.int64)
    centers = rng.random((10, 784), dtype=np.float32)
    images = (centers[labels] + 0.3 * rng.random((n, 784), dtype=np.float32)).astype(np.float32)
    return images, labels


def _model(images, labels, rate=0.05):
    tf.set_random_seed(0)
    w = tf.Variable(tf.truncated_normal([784, 10], stddev=0.05, seed=1))
    b = tf.Variable(tf.zeros([10]))
    logits = tf.matmul(images, w) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return loss, tf.train.GradientDescentOptimizer(rate).minimize(loss)


def _losses_with_feeds(xs, ys, batch):
    with tf.Graph().as_default():
        images, labels = tf.placeholder(tf.float32, [None, 784]), tf.placeholder(tf.int64, [None])
        loss, train = _model(images, labels)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return [sess.run([loss, train], {images: xs[i:i + batch], labels: ys[i:i + batch]})[0]
                    for i in range(0, len(xs), batch)]


def _losses_with_a_dataset(xs, ys, batch):
    with tf.Graph().as_default():
        dataset = tf.data.Dataset.from_tensor_slices((xs, ys)).batch(batch).prefetch(2)
        images, labels = dataset.make_one_shot_iterator().get_next()
        loss, train = _model(images, labels)
        losses = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            while True:
                try:
                    losses.append(sess.run([loss, train])[0])
                except tf.errors.OutOfRangeError:
                    return losses


def test_a_dataset_trains_exactly_as_the_same_batches_fed():
    xs, ys = _synthetic_mnist()
    fed, read = _losses_with_feeds(xs, ys, 50), _losses_with_a_dataset(xs, ys, 50)
    assert len(read) == len(fed) == 12
    np.testing.assert_allclose(read, fed, rtol=1e-5)
    assert read[-1] < read[0] / 2


def test_epochs_of_a_shuffled_pipeline_with_an_initializable_iterator():
    xs, ys = _synthetic_mnist()
    x_in, y_in = tf.placeholder(tf.float32, [None, 784]), tf.placeholder(tf.int64, [None])
    dataset = tf.data.Dataset.from_tensor_slices((x_in, y_in)).shuffle(600, seed=1).batch(60).prefetch(1)
    iterator = dataset.make_initializable_iterator()
    images, labels = iterator.get_next()
    loss, train = _model(images, labels)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(tf.matmul(x_in, tf.trainable_variables()[0])
                                                         + tf.trainable_variables()[1], 1), y_in), tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        steps = 0
        for _ in range(3):
            sess.run(iterator.initializer, {x_in: xs, y_in: ys})
            while True:
                try:
                    sess.run(train)
                    steps += 1
                except tf.errors.OutOfRangeError:
                    break
        assert steps == 30
        assert sess.run(accuracy, {x_in: xs, y_in: ys}) > 0.95


@needs_mnist
def test_softmax_regression_on_mnist_read_through_a_pipeline():
    data = mnist.read_data_sets(str(SHARED), validation_size=0)
    train = (data.train.images[:20000], data.train.labels[:20000].astype(np.int64))
    dataset = (tf.data.Dataset.from_tensor_slices(train).shuffle(5000, seed=2)
               .map(lambda x, y: (tf.reshape(x, [28, 28, 1]), y), num_parallel_calls=2).batch(100).prefetch(2))
    images, labels = dataset.make_one_shot_iterator().get_next()
    loss, step = _model(tf.reshape(images, [-1, 784]), labels, rate=0.5)
    test_images = tf.constant(data.test.images)
    w, b = tf.trainable_variables()
    predicted = tf.argmax(tf.matmul(test_images, w) + b, 1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        while True:
            try:
                sess.run(step)
            except tf.errors.OutOfRangeError:
                break
        accuracy = float(np.mean(sess.run(predicted) == data.test.labels))
    assert accuracy > 0.89, accuracy  # softmax regression reaches about 0.90 after this pass
