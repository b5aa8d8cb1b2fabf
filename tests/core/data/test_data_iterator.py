"""Iterators against TF's compat.v1: one-shot, initializable (re-initialized with new feeds), reinitializable
(``Iterator.from_structure``), the end of the data, and the names and shapes of ``get_next``."""

import numpy as np
import pytest

import tensorflux as tf


def _read_all(tf_, sess, nxt, limit=100):
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(nxt))
        except tf_.errors.OutOfRangeError:
            return out
    raise AssertionError("the iterator did not end")


def _initializable_runs(t):
    """Elements of one initializable iterator initialized twice with different feeds."""
    with t.Graph().as_default():
        x = t.placeholder(t.int64, [None])
        n = t.placeholder(t.int64, [])
        iterator = t.data.make_initializable_iterator(t.data.Dataset.from_tensor_slices(x).batch(n))
        nxt = iterator.get_next()
        with t.Session() as sess:
            sess.run(iterator.initializer, {x: np.arange(5), n: 2})
            first = _read_all(t, sess, nxt)
            sess.run(iterator.initializer, {x: np.arange(10, 13), n: 5})
            second = _read_all(t, sess, nxt)
    return [a.tolist() for a in first], [a.tolist() for a in second]


def test_initializable_iterator_reinitializes_with_new_feeds(tfr):
    assert _initializable_runs(tf) == _initializable_runs(tfr)


def _switching_runs(t):
    with t.Graph().as_default():
        train = t.data.Dataset.range(4).map(lambda v: v * 10)
        test = t.data.Dataset.range(2)
        iterator = t.data.Iterator.from_structure(train.output_types, train.output_shapes)
        nxt = iterator.get_next()
        to_train, to_test = iterator.make_initializer(train), iterator.make_initializer(test)
        with t.Session() as sess:
            sess.run(to_train)
            a = _read_all(t, sess, nxt)
            sess.run(to_test)
            b = _read_all(t, sess, nxt)
            sess.run(to_train)
            c = sess.run(nxt)
    return [int(v) for v in a], [int(v) for v in b], int(c)


def test_reinitializable_iterator_switches_datasets(tfr):
    assert _switching_runs(tf) == _switching_runs(tfr)


def test_make_initializer_refuses_another_structure():
    iterator = tf.data.Iterator.from_structure(tf.int64, tf.TensorShape([]))
    with pytest.raises(TypeError, match="Expected output types"):
        iterator.make_initializer(tf.data.Dataset.from_tensor_slices([1.0]))
    with pytest.raises(TypeError, match="Expected output shapes"):
        iterator.make_initializer(tf.data.Dataset.range(4).batch(2))


def _get_next_signature(t):
    with t.Graph().as_default():
        ds = t.data.Dataset.from_tensor_slices(({"a": np.zeros((4, 2))}, [1, 2, 3, 4])).batch(2)
        one_shot = t.data.make_one_shot_iterator(ds).get_next()
        init_it = t.data.make_initializable_iterator(ds)
        nxt = init_it.get_next()
        tensors = [one_shot[0]["a"], one_shot[1], nxt[0]["a"], nxt[1]]
        return ([(x.name, x.dtype.name, x.shape.as_list(), x.op.type) for x in tensors],
                (init_it.initializer.type, init_it.initializer.name))


def test_get_next_names_types_and_shapes_match_tf(tfr):
    assert _get_next_signature(tf) == _get_next_signature(tfr)


def test_end_of_data_raises_out_of_range_naming_the_op_and_keeps_raising():
    nxt = tf.data.make_one_shot_iterator(tf.data.Dataset.range(2)).get_next(name="next_batch")
    with tf.Session() as sess:
        assert [int(sess.run(nxt)) for _ in range(2)] == [0, 1]
        for _ in range(2):
            with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence.*'next_batch'") as caught:
                sess.run(nxt)
            assert caught.value.op.name == "next_batch"


def test_get_next_before_the_initializer_fails_with_a_hint():
    nxt = tf.data.Dataset.range(2).make_initializable_iterator().get_next()
    with tf.Session() as sess, pytest.raises(tf.errors.FailedPreconditionError, match="initializer"):
        sess.run(nxt)


def test_one_shot_iterator_refuses_a_placeholder():
    x = tf.placeholder(tf.float32, [None])
    with pytest.raises(ValueError, match="one-shot iterator.*make_initializable_iterator"):
        tf.data.Dataset.from_tensor_slices(x).make_one_shot_iterator()


def test_compat_v1_spellings():
    ds = tf.data.Dataset.range(3)
    assert int(tf.Session().run(tf.compat.v1.data.make_one_shot_iterator(ds).get_next())) == 0
    assert tf.data.get_output_types(ds) is tf.int64 and tf.data.get_output_shapes(ds) == tf.TensorShape([])
    assert tf.data.get_output_classes(ds) is tf.Tensor


def test_one_run_fetching_several_components_advances_once():
    a, b = tf.data.Dataset.from_tensor_slices(([1, 2, 3], [4, 5, 6])).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run([a, b, a + b]) == [1, 4, 5]
        assert sess.run(b) == 5
