"""The executor's plan: variable reads at each reader's step, early release of dead values, in-place kernels."""

from __future__ import annotations

import gc
import weakref

import numpy as np

import tensorflux as tf


def test_a_read_under_a_control_dependency_sees_the_assigned_value():
    v = tf.Variable(1.0)
    assign = v.assign(5.0)
    with tf.control_dependencies([assign]):
        after = v.read_value()
    before = v.value() * 1.0
    with tf.Session() as sess:
        sess.run(v.initializer)
        got_after = sess.run(after)
        assert got_after == 5.0
        sess.run(v.assign(1.0))
        b, a = sess.run([before, after])
        assert a == 5.0 and b in (1.0, 5.0)  # `before` has no ordering constraint against the assign


def test_each_reader_reads_the_variable_at_its_own_step():
    v = tf.Variable([1.0, 2.0])
    first = v.read_value()
    with tf.control_dependencies([first]):
        bump = v.assign_add([10.0, 10.0])
    with tf.control_dependencies([bump]):
        second = v.read_value()
    with tf.Session() as sess:
        sess.run(v.initializer)
        f, s = sess.run([first, second])
    np.testing.assert_array_equal(f, [1.0, 2.0])
    np.testing.assert_array_equal(s, [11.0, 12.0])


def test_fetching_the_variable_tensor_itself_still_works():
    v = tf.Variable([3.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(v._ref), [3.0])


def test_in_place_kernels_never_touch_feeds_fetches_or_shared_values():
    x = tf.placeholder(tf.float32, [None])
    a = x + 1.0           # a is fetched: must not be overwritten by the adds that read it
    b = a * 2.0
    c = tf.identity(b)    # c aliases b's array; b is read again below
    d = c + 1.0
    e = b - 1.0
    feed_value = np.tile(np.array([1.0, 2.0, 3.0], np.float32), 1 << 14)  # large enough to be worth donating
    with tf.Session() as sess:
        got_a, got_d, got_e = sess.run([a, d, e], {x: feed_value})
    np.testing.assert_array_equal(feed_value[:3], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(got_a[:3], [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(got_d[:3], [5.0, 7.0, 9.0])
    np.testing.assert_array_equal(got_e[:3], [3.0, 5.0, 7.0])


def test_a_chain_of_adds_reuses_one_buffer_and_gives_the_same_result():
    n = 1 << 15  # large enough to be worth donating
    x = tf.placeholder(tf.float32, [n])
    y = x
    for _ in range(10):
        y = y + 1.0
    feed = np.zeros(n, np.float32)
    with tf.Session(config={"disable_passes": "all"}) as sess:
        np.testing.assert_array_equal(sess.run(y, {x: feed}), np.full(n, 10.0))
        (plan, _), = sess._plans.values()
    donating = [step for step in plan.steps if step[5]]
    assert len(donating) >= 9  # every add after the first may write into its dead input (if large enough)
    np.testing.assert_array_equal(feed, np.zeros(n))


def test_dead_values_are_released_during_the_run():
    x = tf.placeholder(tf.float32, [1000])
    y = tf.exp(x)
    z = tf.reduce_sum(y)
    w = z + 1.0
    with tf.Session() as sess:
        sess.run(w, {x: np.zeros(1000, np.float32)})
        (plan, _), = sess._plans.values()
    ops = [op.type for op in plan.step_ops]
    dead = {op: step[4] for op, step in zip(ops, plan.steps)}
    assert dead["Sum"]  # Exp's output is dropped as soon as Sum has read it


def test_optimizer_updates_in_place_only_when_nobody_holds_the_old_value():
    v = tf.Variable(np.ones(4, np.float32))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(tf.reduce_sum(v * v))
    with tf.Session() as sess:
        sess.run(v.initializer)
        held = sess.run(v)  # a fetched copy: later updates must not show through it
        kept = sess._variables[v.op.name].value  # someone holding the stored array itself
        sess.run(train)
        np.testing.assert_array_equal(kept, np.ones(4))
        storage = weakref.ref(sess._variables[v.op.name].value)
        del kept
        gc.collect()
        sess.run(train)  # nobody else holds the array now: it is updated in place
        assert sess._variables[v.op.name].value is storage()
        np.testing.assert_array_equal(held, np.ones(4))
        np.testing.assert_allclose(sess.run(v), np.zeros(4))
        assert not sess._variables[v.op.name].value.flags.writeable


def test_a_dead_large_input_is_really_donated_at_run_time():
    from tensorflux._internal.registry import KERNELS

    kdef = KERNELS.lookup("AddV2", "cpu", {"T": tf.float32})
    calls = []
    original = kdef.fn

    def spy(x, y, *, donated=()):
        calls.append(donated)
        return original(x, y, donated=donated)

    kdef.fn = spy
    try:
        x = tf.placeholder(tf.float32, [None])
        y = tf.exp(x) + 1.0  # exp's result dies here: the add may write into it
        with tf.Session(config={"disable_passes": ["fusion"]}) as sess:
            out = sess.run(y, {x: np.zeros(1 << 15, np.float32)})
    finally:
        kdef.fn = original
    np.testing.assert_array_equal(out[:2], [2.0, 2.0])
    assert calls == [(0,)]
