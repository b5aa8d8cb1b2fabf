"""The deep-MNIST CNN of mnist_cnn.py, written the way TF 1.x code was written in 2018.

    python examples/mnist_cnn_2018_style.py --data_dir=../shared/data/mnist --steps=2000
    python examples/mnist_cnn_2018_style.py --framework=tensorflow   # the same file on TF's compat.v1

tf.app.flags for the options, tf.logging, a tf.data pipeline fed from the MNIST arrays through an
initializable iterator, tf.variable_scope and tf.layers for the model, tf.losses, a global step and
tf.train.MonitoredTrainingSession with a checkpoint directory, StopAtStepHook and LoggingTensorHook;
then a second graph restores the last checkpoint and tf.metrics.accuracy runs over a test-set dataset
until OutOfRangeError. Architecture and defaults are mnist_cnn.py's (conv 5x5x32, pool, conv 5x5x64,
pool, fc1024, dropout 0.5, fc10; Adam 1e-3 halved every 1000 steps; 4000 steps of 50), so their
accuracies compare.

--framework picks the one import line: ``import tensorflux as tf`` (default) or
``import tensorflow.compat.v1 as tf``; nothing else differs. In both, the MNIST arrays are read with
tensorflux's loader (tensorflux.datasets.mnist): loading files is not the framework under test, and
both runs then train on the same arrays. The data directory defaults as in the other examples
($TENSORFLUX_DATA_DIR/mnist, else ../shared/data/mnist beside the checkout, else the cache).
Prints one summary line with the test accuracy and the wall time.
"""

import argparse
import os
import sys
import tempfile
import time

from tensorflux.datasets import mnist as mnist_data  # numpy arrays only, in both frameworks

# The framework is chosen before the flags exist, because the flags module is the framework's own.
_framework_parser = argparse.ArgumentParser(add_help=False)
_framework_parser.add_argument("--framework", default="tensorflux")
if _framework_parser.parse_known_args()[0].framework == "tensorflow":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers needs the Keras 2 of tf-keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf  # noqa: I001
    tf.disable_eager_execution()
else:
    import tensorflux as tf

flags = tf.app.flags
FLAGS = flags.FLAGS
flags.DEFINE_enum("framework", "tensorflux", ["tensorflux", "tensorflow"],
                  "which framework runs the script: tensorflux, or TensorFlow's tf.compat.v1")
flags.DEFINE_string("data_dir", mnist_data.default_dir(),
                    "directory holding the four MNIST .gz files; missing ones are downloaded there")
flags.DEFINE_string("model_dir", "", "checkpoint directory (default: a new temporary directory)")
flags.DEFINE_integer("steps", 4000, "training steps (the tutorial used 20000)")
flags.DEFINE_integer("batch_size", 50, "examples per step")
flags.DEFINE_float("learning_rate", 1e-3, "initial Adam learning rate")
flags.DEFINE_integer("decay_steps", 1000, "steps between learning-rate decays")
flags.DEFINE_float("decay_rate", 0.5, "learning-rate factor at each decay")
flags.DEFINE_float("dropout_rate", 0.5, "fraction of fc1 units dropped while training")
flags.DEFINE_integer("eval_batch_size", 500, "test images per evaluation step")
flags.DEFINE_integer("log_every", 500, "steps between loss log lines")
flags.DEFINE_integer("seed", 0, "seed for weight initialization, dropout and shuffling")


def cnn(images, training):
    """Logits [batch, 10] for images [batch, 784]; the variables live under the 'cnn' variable scope."""
    weights = tf.truncated_normal_initializer(stddev=0.1)  # mnist_cnn.py's initialization
    biases = tf.constant_initializer(0.1)
    with tf.variable_scope("cnn", reuse=tf.AUTO_REUSE):
        net = tf.reshape(images, [-1, 28, 28, 1])
        net = tf.layers.conv2d(net, 32, 5, padding="same", activation=tf.nn.relu, kernel_initializer=weights,
                               bias_initializer=biases, name="conv1")
        net = tf.layers.max_pooling2d(net, 2, 2, padding="same", name="pool1")
        net = tf.layers.conv2d(net, 64, 5, padding="same", activation=tf.nn.relu, kernel_initializer=weights,
                               bias_initializer=biases, name="conv2")
        net = tf.layers.max_pooling2d(net, 2, 2, padding="same", name="pool2")
        net = tf.reshape(net, [-1, 7 * 7 * 64])
        net = tf.layers.dense(net, 1024, activation=tf.nn.relu, kernel_initializer=weights,
                              bias_initializer=biases, name="fc1")
        net = tf.layers.dropout(net, rate=FLAGS.dropout_rate, training=training, name="dropout")
        return tf.layers.dense(net, 10, kernel_initializer=weights, bias_initializer=biases, name="fc2")


class IteratorInitializerHook(tf.train.SessionRunHook):
    """Feeds the arrays to the iterator's placeholders once the session exists, so they stay out of the graph."""

    def __init__(self, iterator, feed_dict):
        self.iterator, self.feed_dict = iterator, feed_dict

    def after_create_session(self, session, coord):
        session.run(self.iterator.initializer, feed_dict=self.feed_dict)


def input_pipeline(images, labels, batch_size, training):
    """An initializable iterator over (images, labels) batches and the hook that initializes it."""
    images_in = tf.placeholder(tf.float32, images.shape, name="images")
    labels_in = tf.placeholder(tf.int64, labels.shape, name="labels")
    dataset = tf.data.Dataset.from_tensor_slices((images_in, labels_in))
    if training:
        dataset = dataset.shuffle(len(images), seed=FLAGS.seed).repeat()
    dataset = dataset.batch(batch_size).prefetch(1)
    iterator = dataset.make_initializable_iterator()
    return iterator, IteratorInitializerHook(iterator, {images_in: images, labels_in: labels})


def train(mnist, model_dir):
    """Trains FLAGS.steps steps under MonitoredTrainingSession, which leaves the last checkpoint in model_dir."""
    with tf.Graph().as_default():
        tf.set_random_seed(FLAGS.seed)
        iterator, init_hook = input_pipeline(mnist.train.images, mnist.train.labels, FLAGS.batch_size, True)
        images, labels = iterator.get_next()
        logits = cnn(images, training=True)
        loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        global_step = tf.train.get_or_create_global_step()
        learning_rate = tf.train.exponential_decay(FLAGS.learning_rate, global_step, FLAGS.decay_steps,
                                                   FLAGS.decay_rate, staircase=True)
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
        hooks = [init_hook, tf.train.StopAtStepHook(last_step=FLAGS.steps),
                 tf.train.LoggingTensorHook({"step": global_step, "loss": loss}, every_n_iter=FLAGS.log_every)]
        with tf.train.MonitoredTrainingSession(checkpoint_dir=model_dir, hooks=hooks, save_summaries_steps=None,
                                               log_step_count_steps=FLAGS.log_every) as sess:
            while not sess.should_stop():
                sess.run(train_op)


def evaluate(mnist, model_dir):
    """Test accuracy of the last checkpoint in model_dir, by tf.metrics.accuracy over one pass of the test set."""
    with tf.Graph().as_default():
        iterator, init_hook = input_pipeline(mnist.test.images, mnist.test.labels, FLAGS.eval_batch_size, False)
        images, labels = iterator.get_next()
        predictions = tf.argmax(cnn(images, training=False), axis=1)
        accuracy, update_accuracy = tf.metrics.accuracy(labels=labels, predictions=predictions)
        saver = tf.train.Saver(tf.global_variables())
        with tf.Session() as sess:
            saver.restore(sess, tf.train.latest_checkpoint(model_dir))
            sess.run(tf.local_variables_initializer())
            init_hook.after_create_session(sess, None)
            try:
                while True:
                    sess.run(update_accuracy)
            except tf.errors.OutOfRangeError:
                pass
            return float(sess.run(accuracy))


def main(unused_argv):
    start = time.time()
    tf.logging.set_verbosity(tf.logging.INFO)
    try:
        mnist = mnist_data.read_data_sets(FLAGS.data_dir, seed=FLAGS.seed)
    except (mnist_data.DataUnavailableError, mnist_data.CorruptDataError) as exc:
        # The message says what to pass (a traceback would bury it); this script spells the flag absl's way.
        sys.exit(f"mnist_cnn_2018_style: {exc}\nHere the flag is --data_dir=DIR.")
    model_dir = FLAGS.model_dir or tempfile.mkdtemp(prefix="mnist_cnn_2018_style-")
    tf.logging.info("framework %s, checkpoints in %s", FLAGS.framework, model_dir)
    train(mnist, model_dir)
    test_accuracy = evaluate(mnist, model_dir)
    print(f"mnist_cnn_2018_style: test accuracy {test_accuracy:.4f}, wall time {time.time() - start:.1f} s "
          f"({FLAGS.steps} steps of {FLAGS.batch_size}, {FLAGS.framework})")


if __name__ == "__main__":
    tf.app.run(main)
