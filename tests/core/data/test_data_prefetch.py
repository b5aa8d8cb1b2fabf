"""prefetch: the same elements as TF, produced ahead by a thread that overlaps the consumer, errors delivered
in order."""

import time

import pytest

import tensorflux as tf


def test_prefetch_yields_the_same_elements_as_tf(both):
    both(lambda t: t.data.Dataset.range(25).batch(4).prefetch(3))
    both(lambda t: t.data.Dataset.range(5).prefetch(0))
    both(lambda t: t.data.Dataset.range(7).prefetch(t.data.experimental.AUTOTUNE))


def _slow(delay, count):
    def generate():
        for i in range(count):
            time.sleep(delay)
            yield i

    return generate


def test_prefetch_produces_ahead_while_the_consumer_is_busy():
    delay, ahead = 0.1, 3
    nxt = tf.data.Dataset.from_generator(_slow(delay, 10), tf.int64, tf.TensorShape([])).prefetch(ahead) \
        .make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        sess.run(nxt)  # starts the producer
        time.sleep(delay * (ahead + 3))  # the consumer's "step": the producer fills the buffer meanwhile
        start = time.perf_counter()
        got = [int(sess.run(nxt)) for _ in range(ahead)]
        waited = time.perf_counter() - start
    assert got == [1, 2, 3]
    # Without prefetching these reads would wait ``ahead * delay`` for the generator.
    assert waited < delay * ahead / 2, f"{ahead} prefetched elements took {waited:.3f}s"


def test_an_error_in_the_pipeline_reaches_the_consumer_at_its_element():
    def failing():
        yield 1
        yield 2
        raise RuntimeError("the generator broke")

    nxt = tf.data.Dataset.from_generator(failing, tf.int64).prefetch(4).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert [int(sess.run(nxt)) for _ in range(2)] == [1, 2]
        with pytest.raises(tf.errors.InvalidArgumentError, match="the generator broke"):
            sess.run(nxt)
