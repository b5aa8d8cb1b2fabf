"""The iterator ops' kernels: state per session, thread safety, and registration on every device."""

import threading

import numpy as np

import tensorflux as tf
from tensorflux.extend import dataset_kernels, kernels_for_device, reference_kernels


def test_two_sessions_iterate_independently():
    nxt = tf.data.Dataset.range(4).make_one_shot_iterator().get_next()
    with tf.Session() as one, tf.Session() as two:
        assert [int(one.run(nxt)) for _ in range(3)] == [0, 1, 2]
        assert [int(two.run(nxt)) for _ in range(2)] == [0, 1]
        assert int(one.run(nxt)) == 3


def test_initializing_in_one_session_leaves_the_other_alone():
    it = tf.data.Dataset.range(5).make_initializable_iterator()
    nxt = it.get_next()
    with tf.Session() as one, tf.Session() as two:
        one.run(it.initializer)
        two.run(it.initializer)
        one.run(nxt)
        two.run(it.initializer)
        assert int(one.run(nxt)) == 1 and int(two.run(nxt)) == 0


def test_concurrent_get_next_runs_take_distinct_elements():
    nxt = tf.data.Dataset.range(400).map(lambda x: x + 1, num_parallel_calls=2).prefetch(4) \
        .make_one_shot_iterator().get_next()
    sess = tf.Session()
    seen, lock = [], threading.Lock()

    def reader():
        while True:
            try:
                value = int(sess.run(nxt))
            except tf.errors.OutOfRangeError:
                return
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(seen) == list(range(1, 401))


def test_kernels_are_registered_for_the_cpu_and_as_reference_kernels():
    cpu_ops = {k.op for k in kernels_for_device("cpu")}
    assert {"MakeIterator", "IteratorGetNext"} <= cpu_ops
    table = reference_kernels(np)
    assert {"MakeIterator", "IteratorGetNext"} <= set(table) and set(dataset_kernels()) <= set(table)


def test_closing_the_session_stops_the_prefetch_thread():
    nxt = tf.data.Dataset.range(10_000).prefetch(2).make_one_shot_iterator().get_next()
    sess = tf.Session()
    before = set(threading.enumerate())
    sess.run(nxt)
    alive = [t for t in threading.enumerate() if t.name == "tensorflux-prefetch" and t not in before]
    assert alive
    sess.close()
    for t in alive:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in alive)


def test_a_pipeline_runs_on_a_device_that_has_only_reference_kernels(tmp_path):
    from tests.installed_plugins import installed
    from tests.sdk.strict_device import ENTRY_POINT as STRICT_PLUGIN

    with installed(tmp_path, {"strict": STRICT_PLUGIN}):
        with tf.device("/strict:0"):
            x = tf.placeholder(tf.float32, [None, 2])
            iterator = tf.data.make_initializable_iterator(
                tf.data.Dataset.from_tensor_slices(x).map(lambda v: v * 2.0).batch(2))
            batch = iterator.get_next()
            total = tf.reduce_sum(batch)
        with tf.Session() as sess:
            sess.run(iterator.initializer, {x: np.arange(6, dtype=np.float32).reshape(3, 2)})
            assert [float(sess.run(total)) for _ in range(2)] == [12.0, 18.0]
            device, kernel = sess.state.placement[batch.op]
            assert device.device_type == "strict" and kernel.op == "IteratorGetNext"


def test_dropping_an_unclosed_session_stops_its_prefetch_thread():
    import gc

    nxt = tf.data.Dataset.range(10_000).prefetch(2).make_one_shot_iterator().get_next()
    before = set(threading.enumerate())
    sess = tf.Session()
    sess.run(nxt)
    alive = [t for t in threading.enumerate() if t.name == "tensorflux-prefetch" and t not in before]
    del sess
    gc.collect()
    for t in alive:
        t.join(timeout=5)
    assert alive and not any(t.is_alive() for t in alive)
