"""Session.run's prepared runs (session_run.py): a repeated call does no graph work, feeds and results are not
copied, and the fast lookup never confuses one request with another."""

import collections

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.session_run import check_feed, fast_key, keyable

Pair = collections.namedtuple("Pair", "first second")


def _no_graph_work(sess, monkeypatch):
    """From now on, resolving feeds or compiling a plan fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a repeated Session.run resolved its feeds or compiled a plan again")

    monkeypatch.setattr(sess, "_feed_items", refuse)
    monkeypatch.setattr(sess, "_plan_for", refuse)


@pytest.mark.parametrize("spelling", ["tensor", "list", "tuple", "name", "op"])
def test_a_repeated_run_does_no_graph_work(sess, monkeypatch, spelling):
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.identity(x * 2.0, name="y")
    fetches = {"tensor": y, "list": [y, x], "tuple": (y,), "name": "y:0", "op": y.op}[spelling]
    first = sess.run(fetches, {x: np.ones(2, np.float32)})
    _no_graph_work(sess, monkeypatch)
    again = sess.run(fetches, {x: np.full(2, 3.0, np.float32)})
    expected = {"tensor": [6.0, 6.0], "list": [[6.0, 6.0], [3.0, 3.0]], "tuple": ([6.0, 6.0],), "name": [6.0, 6.0],
                "op": None}[spelling]
    assert type(again) is type(first)
    assert (again if spelling == "op" else np.asarray(again).tolist()) == (
        expected if spelling != "tuple" else [expected[0]])


def test_a_feed_of_the_right_dtype_and_shape_reaches_kernels_uncopied_and_read_only(sess):
    seen = []
    x = tf.placeholder(tf.float32, [1000])
    total = tf.py_func(lambda a: seen.append(a) or np.float32(a.sum()), [x], tf.float32)
    data = np.arange(1000, dtype=np.float32)
    for _ in range(2):  # the first run compiles; the second takes the prepared run
        assert sess.run(total, {x: data}) == data.sum()
    for a in seen:
        assert np.shares_memory(a, data) and not a.flags.writeable  # the caller's array, protected from kernels
    assert check_feed(x, data) is data


def test_a_fetched_result_is_the_kernels_array_not_a_copy(sess):
    held = np.arange(6, dtype=np.float32)
    y = tf.py_func(lambda: held, [], tf.float32)
    assert sess.run(y) is held and sess.run(y) is held
    assert sess.run([y])[0] is held


def test_a_fed_tensor_fetched_back_is_a_writable_copy(sess):
    x = tf.placeholder(tf.float32, [3])
    data = np.ones(3, np.float32)
    for _ in range(2):
        out = sess.run(x, {x: data})
        assert out.flags.writeable and not np.shares_memory(out, data)
        out[0] = 5.0
    assert data[0] == 1.0


def test_feeds_that_need_checking_are_checked_on_the_prepared_path_too(sess):
    x = tf.placeholder(tf.float32, [2], name="x")
    sess.run(x + 1, {x: np.zeros(2, np.float32)})
    assert sess.run(x + 1, {x: [1, 2]}).tolist() == [2.0, 3.0]  # converted from a list of ints
    with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3,\) for Tensor 'x:0'"):
        sess.run(x + 1, {x: np.zeros(3, np.float32)})
    with pytest.raises(TypeError, match="Feed for 'x:0' expects float32 values, but was given strings"):
        sess.run(x + 1, {x: ["a", "b"]})


def test_list_tuple_namedtuple_and_dict_fetches_of_the_same_tensors_keep_their_own_structure(sess):
    a, b = tf.constant(1), tf.constant(2)
    for _ in range(2):
        assert sess.run([a, b]) == [1, 2] and type(sess.run([a, b])) is list
        assert sess.run((a, b)) == (1, 2) and type(sess.run((a, b))) is tuple
        assert sess.run(Pair(a, b)) == Pair(1, 2) and type(sess.run(Pair(a, b))) is Pair
        assert sess.run(((a, b),)) == ((1, 2),) and sess.run((Pair(a, b),)) == (Pair(1, 2),)
        assert type(sess.run((Pair(a, b),))[0]) is Pair
        assert sess.run({"a": a}) == {"a": 1}


def test_feed_keys_spelled_differently_share_one_plan_and_both_run(sess):
    x = tf.placeholder(tf.float32, [], name="x")
    y = x * 3.0
    for v in (1.0, 2.0):
        assert sess.run(y, {x: v}) == 3 * v and sess.run(y, {"x:0": v}) == 3 * v
    assert len(sess._plans) == 1


def test_an_evicted_plan_is_never_run_from_the_fast_path():
    x = tf.placeholder(tf.float32, [])
    y, z = x + 1.0, x + 2.0
    with tf.Session(config={"plan_cache_size": 1}) as sess:
        for v in range(4):
            assert sess.run(y, {x: float(v)}) == v + 1 and sess.run(z, {x: float(v)}) == v + 2
            assert len(sess._plans) == 1 and all(entry[1] is sess._plans[key][1] for entry in sess._fast.values()
                                                 for key in [entry[0]])
    with tf.Session(config={"plan_cache_size": 0}) as sess:
        assert sess.run(y, {x: 1.0}) == 2.0 and sess.run(y, {x: 2.0}) == 3.0
        assert not sess._plans and not sess._fast


def test_a_closed_session_refuses_a_run_it_had_prepared():
    sess = tf.Session()
    c = tf.constant(1.0)
    sess.run(c)
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)


def test_fast_keys_tell_requests_apart_and_only_flat_leaf_fetches_are_keyable():
    x = tf.placeholder(tf.float32, name="x")
    y = x + 1.0
    assert fast_key([x, y], {x: 1}) == fast_key([x, y], {x: 2})
    assert len({fast_key([x, y], {x: 1}), fast_key((x, y), {x: 1}), fast_key([x, y], {"x:0": 1}),
                fast_key([x, y], None), fast_key(x, {y: 1}), fast_key(y, {x: 1})}) == 6
    assert keyable(y) and keyable("x:0") and keyable(y.op) and keyable([x, "x:0"]) and keyable((x, y))
    assert not keyable(Pair(x, y)) and not keyable([[x]]) and not keyable({"x": x})


def test_a_dropped_session_is_freed_at_once_though_its_caches_hold_prepared_runs():
    import gc
    import weakref

    x = tf.placeholder(tf.float32, [2])
    y = x * 2.0
    sess = tf.Session()
    sess.run(y, {x: [1.0, 2.0]})
    sess.run([y, x], {x: [1.0, 2.0]})
    ref = weakref.ref(sess)
    gc.disable()  # only reference counting: a cycle through the caches would keep it
    try:
        del sess
        assert ref() is None
    finally:
        gc.enable()
