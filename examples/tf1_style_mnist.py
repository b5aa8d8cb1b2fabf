"""A TF-1.x-era MNIST training script (the 2016 tutorial style) that runs here with only its imports changed.

    python examples/tf1_style_mnist.py --data-dir ../shared/data/mnist --steps 2000

tests/examples/test_tf1_style_mnist.py swaps the tensorflux import line below for TensorFlow's and runs the
same file under both frameworks; both read MNIST with tensorflux's read_data_sets.
"""

import argparse
import sys
import time

# -- imports: the only lines that differ from the TensorFlow version -----------------------------------------
import tensorflux as tf
from tensorflux.datasets.mnist import CorruptDataError, DataUnavailableError, default_dir, read_data_sets

# -- end of imports -------------------------------------------------------------------------------------------

NUM_CLASSES, IMAGE_PIXELS, HIDDEN1, HIDDEN2, BATCH = 10, 784, 128, 32, 100


def inference(images):
    with tf.name_scope("hidden1"):
        weights = tf.Variable(tf.truncated_normal([IMAGE_PIXELS, HIDDEN1], stddev=1.0 / IMAGE_PIXELS ** 0.5,
                                                  seed=1), name="weights")
        biases = tf.Variable(tf.zeros([HIDDEN1]), name="biases")
        hidden1 = tf.nn.relu(tf.matmul(images, weights) + biases)
    with tf.name_scope("hidden2"):
        weights = tf.Variable(tf.truncated_normal([HIDDEN1, HIDDEN2], stddev=1.0 / HIDDEN1 ** 0.5, seed=2),
                              name="weights")
        biases = tf.Variable(tf.zeros([HIDDEN2]), name="biases")
        hidden2 = tf.nn.relu(tf.matmul(hidden1, weights) + biases)
    with tf.name_scope("softmax_linear"):
        weights = tf.Variable(tf.truncated_normal([HIDDEN2, NUM_CLASSES], stddev=1.0 / HIDDEN2 ** 0.5, seed=3),
                              name="weights")
        biases = tf.Variable(tf.zeros([NUM_CLASSES]), name="biases")
        logits = tf.matmul(hidden2, weights) + biases
    return logits


def loss_fn(logits, labels):
    labels = tf.to_int64(labels)
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
    return tf.reduce_mean(cross_entropy, name="xentropy_mean")


def main(data_dir, steps):
    start = time.time()
    try:
        data_sets = read_data_sets(data_dir)
    except (DataUnavailableError, CorruptDataError) as e:
        sys.exit(f"tf1_style_mnist: {e}")
    with tf.Graph().as_default():
        images_placeholder = tf.placeholder(tf.float32, shape=(None, IMAGE_PIXELS))
        labels_placeholder = tf.placeholder(tf.int32, shape=(None,))
        logits = inference(images_placeholder)
        tf.add_to_collection("logits", logits)
        loss = loss_fn(logits, labels_placeholder)
        global_step = tf.Variable(0, name="global_step", trainable=False)
        train_op = tf.train.GradientDescentOptimizer(0.3).minimize(loss, global_step=global_step)
        correct = tf.reduce_sum(tf.cast(tf.nn.in_top_k(logits, labels_placeholder, 1), tf.int32))
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            images_feed, labels_feed = data_sets.train.next_batch(BATCH, shuffle=False)
            sess.run(train_op, feed_dict={images_placeholder: images_feed, labels_placeholder: labels_feed})
        hits = sess.run(correct, feed_dict={images_placeholder: data_sets.test.images,
                                            labels_placeholder: data_sets.test.labels})
        print(f"steps {sess.run(global_step)} test accuracy {hits / data_sets.test.num_examples:.4f} "
              f"wall time {time.time() - start:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", default=default_dir(),
                        help="directory holding the four MNIST .gz files; missing ones are downloaded there")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of batches of 100")
    FLAGS = parser.parse_args()
    main(FLAGS.data_dir, FLAGS.steps)
