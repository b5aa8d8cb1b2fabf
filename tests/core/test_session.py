"""Session: nested fetches, feeds and their errors, plan caching, subgraph pruning, defaults, threads, RNG."""

import collections
import re
import threading

import numpy as np
import pytest

import tensorflux as tf

Pair = collections.namedtuple("Pair", "first second")


# -- fetches ---------------------------------------------------------------------------------------
def test_fetch_single_tensor_returns_numpy(sess):
    out = sess.run(tf.constant([[1, 2]]))
    assert isinstance(out, np.ndarray) and out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 2]])


def test_scalar_fetch_is_a_numpy_scalar(sess):
    out = sess.run(tf.constant(2.5))
    assert out == 2.5 and isinstance(out, np.float32)


def test_nested_fetch_structures_are_rebuilt(sess):
    a, b = tf.constant(1.0), tf.constant([2, 3])
    op = tf.no_op()
    out = sess.run({"a": [a, (b, Pair(a, op))], "b": {"inner": b}})
    assert set(out) == {"a", "b"}
    first, (second, pair) = out["a"]
    assert first == 1.0
    np.testing.assert_array_equal(second, [2, 3])
    assert type(pair) is Pair and pair.first == 1.0 and pair.second is None
    assert isinstance(out["a"][1], tuple)
    np.testing.assert_array_equal(out["b"]["inner"], [2, 3])


def test_fetch_containers_keep_their_types(sess):
    a = tf.constant(1)
    assert type(sess.run([a])) is list
    assert type(sess.run((a,))) is tuple
    ordered = sess.run(collections.OrderedDict([("z", a), ("a", a)]))
    assert type(ordered) is collections.OrderedDict and list(ordered) == ["z", "a"]
    assert sess.run(Pair(a, a)) == Pair(1, 1)
    assert sess.run([]) == []


def test_operations_fetch_as_none(sess):
    assert sess.run(tf.no_op()) is None
    assert sess.run(tf.group(tf.constant(1))) is None
    assert sess.run([tf.no_op(), tf.constant(3)]) == [None, 3]


def test_fetch_by_name(sess):
    tf.constant(7, name="seven")
    assert sess.run("seven:0") == 7
    assert sess.run("seven") is None  # an op name fetches the op


def test_same_tensor_fetched_twice(sess):
    a = tf.constant([1.0])
    x, y = sess.run([a, a])
    np.testing.assert_array_equal(x, y)


def test_strings_fetch_as_bytes(sess):
    assert sess.run(tf.constant("héllo")) == "héllo".encode()
    out = sess.run(tf.constant([["a", "bc"]]))
    assert out.dtype == object and out.tolist() == [[b"a", b"bc"]]


@pytest.mark.parametrize("bad, exc, pattern", [
    (None, TypeError, "None"),
    (3, TypeError, "3.*invalid type int"),
    ("nope:0", KeyError, "'nope:0'"),
    ({"a": 1.5}, TypeError, "1.5"),
])
def test_bad_fetches_are_rejected_naming_them(sess, bad, exc, pattern):
    with pytest.raises(exc, match=pattern):
        sess.run(bad)


def test_fetch_from_another_graph_rejected(sess):
    with tf.Graph().as_default():
        foreign = tf.constant(1, name="foreign")
    with pytest.raises(ValueError, match="foreign:0"):
        sess.run(foreign)


# -- feeds -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [2, 2.0, np.float64(2.0), np.int64(2), np.array(2, np.float32), np.int32(2)])
def test_feed_python_and_numpy_scalars(sess, value):
    x = tf.placeholder(tf.float32, [])
    out = sess.run(x * 3, {x: value})
    assert out == 6.0 and out.dtype == np.float32


@pytest.mark.parametrize("value", [[[1, 2, 3]], [[1.0, 2.0, 3.0]], np.array([[1, 2, 3]], np.int64),
                                   np.array([[1, 2, 3]], np.float64), np.array([[1, 2, 3]], np.float32)])
def test_feed_lists_and_arrays_convert_to_the_placeholder_dtype(sess, value):
    x = tf.placeholder(tf.float32, [None, 3])
    out = sess.run(x, {x: value})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 2, 3]])


def test_feed_by_tensor_name(sess):
    tf.placeholder(tf.int32, [2], name="x")
    np.testing.assert_array_equal(sess.run("x:0", {"x:0": [1, 2]}), [1, 2])


def test_feed_strings(sess):
    s = tf.placeholder(tf.string, [None], name="s")
    out = sess.run(s, {s: ["a", b"b", "é"]})
    assert out.tolist() == [b"a", b"b", "é".encode()]
    assert sess.run(s, {s: np.array(["x", "y"])}).tolist() == [b"x", b"y"]


def test_feed_unknown_rank_placeholder_any_shape(sess):
    x = tf.placeholder(tf.float32, name="anything")
    assert sess.run(tf.reduce_sum(x), {x: np.ones((2, 3, 4))}) == 24.0
    assert sess.run(tf.reduce_sum(x), {x: 5.0}) == 5.0


@pytest.mark.parametrize("value, given", [([1.0, 2.0], r"\(2,\)"), ([[1.0, 2.0]], r"\(1, 2\)"), (1.0, r"\(\)")])
def test_wrong_shape_feed_names_placeholder_expected_and_given(sess, value, given):
    x = tf.placeholder(tf.float32, [None, 3], name="images")
    with pytest.raises(ValueError) as info:
        sess.run(x * 2, {x: value})
    msg = str(info.value)
    assert "'images:0'" in msg
    assert "(?, 3)" in msg  # expected
    assert re.search(given, msg)  # given


@pytest.mark.parametrize("dtype, value, given", [
    (tf.float32, [["a", "b", "c"]], "strings"),
    (tf.int32, [[1.5, 2.0, 3.0]], "float64"),
    (tf.string, [[1, 2, 3]], "int"),
    (tf.bool, [[0.5, 1.0, 0.0]], "float64"),
])
def test_wrong_dtype_feed_names_placeholder_expected_and_given(sess, dtype, value, given):
    x = tf.placeholder(dtype, [1, 3], name="labels")
    with pytest.raises(TypeError) as info:
        sess.run(x, {x: value})
    msg = str(info.value)
    assert "'labels:0'" in msg and given in msg
    assert dtype.name in msg or dtype is tf.string


@pytest.mark.parametrize("dtype, value", [(tf.int32, [2 ** 40]), (tf.uint8, [-1]), (tf.int8, [300])])
def test_out_of_range_integer_feed_is_refused_not_wrapped(sess, dtype, value):
    x = tf.placeholder(dtype, [1], name="small")
    with pytest.raises((TypeError, ValueError)) as info:
        sess.run(x, {x: np.array(value)})
    msg = str(info.value)
    assert "'small:0'" in msg and dtype.name in msg and str(value[0]) in msg


def test_missing_feed_names_placeholder_dtype_and_shape(sess):
    x = tf.placeholder(tf.float32, [None, 2], name="needed")
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        sess.run(x * 2)
    msg = str(info.value)
    assert "needed" in msg and "float32" in msg and "(?, 2)" in msg
    assert info.value.op is x.op


def test_feed_value_cannot_be_a_tensor(sess):
    x = tf.placeholder(tf.float32, name="x")
    with pytest.raises(TypeError, match="'x:0'"):
        sess.run(x, {x: tf.constant(1.0)})


def test_bad_feed_keys(sess):
    x = tf.placeholder(tf.float32)
    with pytest.raises(TypeError, match="'nope:0'"):
        sess.run(x, {"nope:0": 1.0})
    with pytest.raises(TypeError, match="3"):
        sess.run(x, {3: 1.0})


def test_feeding_any_tensor_replaces_its_value_and_prunes_upstream(sess):
    x = tf.placeholder(tf.float32, [], name="unfed")
    mid = tf.multiply(x, 2.0, name="mid")
    out = mid + 1
    assert sess.run(out, {mid: 10.0}) == 11.0  # x need not be fed
    c = tf.constant(5.0, name="five")
    assert sess.run(c * 2, {c: 1.0}) == 2.0
    assert sess.run(c * 2) == 10.0


def test_feeding_a_non_placeholder_checks_its_shape(sess):
    c = tf.constant(5.0, name="five")
    with pytest.raises(ValueError, match=r"'five:0'.*\(\)"):
        sess.run(c * 2, {c: [1.0]})


def test_fetching_a_fed_tensor_returns_the_fed_value(sess):
    c = tf.constant([1, 2], name="c")
    np.testing.assert_array_equal(sess.run(c, {c: [7, 8]}), [7, 8])


def test_feeding_one_output_of_a_multi_output_op(sess):
    a, b = tf.split(tf.constant([1.0, 2.0]), 2)
    x, y = sess.run([a, b], {a: [9.0]})
    assert x.tolist() == [9.0] and y.tolist() == [2.0]


def test_placeholder_with_default(sess):
    p = tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[None], name="pwd")
    assert p.shape == [None] and p.dtype is tf.float32
    np.testing.assert_array_equal(sess.run(p), [1.0, 2.0])
    np.testing.assert_array_equal(sess.run(p, {p: [3.0, 4.0, 5.0]}), [3.0, 4.0, 5.0])
    with pytest.raises(ValueError, match="'pwd:0'"):
        sess.run(p, {p: [[1.0]]})


def test_placeholder_with_default_python_value(sess):
    p = tf.placeholder_with_default(7, shape=[])
    assert sess.run(p) == 7 and sess.run(p, {p: 3}) == 3


# -- plans ---------------------------------------------------------------------------------------------
def test_plan_is_cached_per_fetch_and_feed_signature(sess):
    x = tf.placeholder(tf.float32, [None], name="x")
    y, z = x * 2, x + 1
    sess.run(y, {x: [1.0]})
    assert len(sess._plans) == 1
    plan = next(iter(sess._plans.values()))[0]
    for v in range(3):
        assert sess.run(y, {x: [float(v)]}).tolist() == [2.0 * v]
    assert len(sess._plans) == 1 and next(iter(sess._plans.values()))[0] is plan
    sess.run(y, {"x:0": [1.0]})  # the same signature spelled with a name
    assert len(sess._plans) == 1
    sess.run([y, z], {x: [1.0]})
    sess.run([y, z], {x: [2.0]})
    assert len(sess._plans) == 2
    sess.run(z, {x: [1.0]})
    assert len(sess._plans) == 3


def test_plan_is_cached_for_dict_and_namedtuple_fetches(sess):
    x = tf.placeholder(tf.float32, [], name="x")
    y = x * 2
    for v in (1.0, 2.0, 3.0):
        assert sess.run({"y": y, "both": Pair(x, y)}, {x: v}) == {"y": 2 * v, "both": Pair(v, 2 * v)}
    assert len(sess._plans) == 1
    # A different structure over the same tensors is a different signature, rebuilt correctly.
    assert sess.run({"other": [y]}, {x: 5.0}) == {"other": [10.0]}
    assert len(sess._plans) == 2


def feed_signatures(count, width=10):
    """A sum of ``width`` defaulted placeholders, and ``count`` distinct feed dicts (fed subsets) for it."""
    inputs = [tf.placeholder_with_default(float(i), [], name=f"p{i}") for i in range(width)]
    total = tf.add_n(inputs)
    feeds = [{p: 1.0 for bit, p in enumerate(inputs) if mask >> bit & 1} for mask in range(1, count + 1)]
    return inputs, total, feeds


def test_plan_cache_is_bounded_and_keeps_the_recently_used_plans():
    inputs, total, feeds = feed_signatures(300)
    with tf.Session(config={"plan_cache_size": 8}) as sess:
        assert sess.run(total) == sum(range(10))
        hot = next(reversed(sess._plans.values()))[0]
        for i, feed in enumerate(feeds):
            want = sum(1.0 if p in feed else float(k) for k, p in enumerate(inputs))
            assert sess.run(total, feed) == want
            assert len(sess._plans) <= 8
            if i % 4 == 3:  # used every few runs, so never the least recently used of 8
                sess.run(total)
                assert any(plan is hot for plan, _ in sess._plans.values()), f"hot plan recompiled after {i} runs"
        assert len(sess._plans) == 8


def test_plan_cache_default_size_bounds_many_feed_signatures():
    _, total, feeds = feed_signatures(300)
    with tf.Session() as sess:
        for feed in feeds:
            sess.run(total, feed)
        assert len(sess._plans) == 256


def test_plan_cache_size_zero_turns_caching_off_and_bad_sizes_are_refused():
    _, total, feeds = feed_signatures(3)
    with tf.Session(config={"plan_cache_size": 0}) as sess:
        for feed in feeds:
            sess.run(total, feed)
        assert len(sess._plans) == 0
    for bad in (-1, 2.5, "8"):
        with pytest.raises(ValueError, match=rf"plan_cache_size must be an int >= 0 .*got {re.escape(repr(bad))}"):
            tf.Session(config={"plan_cache_size": bad})


def test_only_the_needed_subgraph_runs(sess):
    unfed = tf.placeholder(tf.float32, name="unrelated")
    counter = tf.Variable(0, name="counter")
    bump = tf.assign_add(counter, 1)
    needed = tf.constant(3.0) + 1
    _ = needed + unfed  # another branch depends on an unfed placeholder
    _ = tf.identity(bump)  # and another on a side effect
    sess.run(counter.initializer)
    assert sess.run(needed) == 4.0
    assert sess.run(counter) == 0


# -- lifetime and defaults ---------------------------------------------------------------------------------
def test_context_manager_sets_default_session_and_graph_then_closes():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(2)
    with tf.Session(graph=g) as s:
        assert tf.get_default_session() is s
        assert tf.get_default_graph() is g
        assert c.eval() == 2
    assert tf.get_default_session() is None
    with pytest.raises(RuntimeError, match="closed"):
        s.run(c)


def test_close_then_run_raises():
    s = tf.Session()
    c = tf.constant(1)
    assert s.run(c) == 1
    s.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        s.run(c)


def test_as_default_does_not_close():
    s = tf.Session()
    with s.as_default():
        assert tf.get_default_session() is s
        assert tf.constant(4).eval() == 4
    assert tf.get_default_session() is None
    assert s.run(tf.constant(1)) == 1
    s.close()


def test_interactive_session_is_default_until_closed():
    s = tf.InteractiveSession()
    try:
        assert tf.get_default_session() is s
        assert tf.constant(3).eval() == 3
        v = tf.Variable(5.0)
        v.initializer.run()
        assert v.eval() == 5.0
    finally:
        s.close()
    assert tf.get_default_session() is None


def test_eval_and_run_with_explicit_session_and_feeds(sess):
    x = tf.placeholder(tf.int32, [])
    assert (x * 2).eval(feed_dict={x: 4}, session=sess) == 8
    counter = tf.Variable(0)
    sess.run(counter.initializer)
    tf.assign_add(counter, 3).op.run(session=sess)
    assert counter.eval(session=sess) == 3


def test_eval_without_default_session_explains():
    with pytest.raises(ValueError, match="no default session"):
        tf.constant(1).eval()
    with pytest.raises(ValueError, match="no default session"):
        tf.no_op().run()


def test_sessions_have_independent_variable_state():
    v = tf.Variable(1.0)
    with tf.Session() as a, tf.Session() as b:
        a.run(v.initializer)
        b.run(v.initializer)
        a.run(v.assign(5.0))
        assert a.run(v) == 5.0 and b.run(v) == 1.0


# -- threads ----------------------------------------------------------------------------------------------
def test_concurrent_runs_from_many_threads_are_correct(sess):
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.reduce_sum(x * 2.0) + tf.reduce_max(x)
    results, errors = {}, []

    def worker(i):
        try:
            ok = True
            for j in range(40):
                value = np.full([5], float(i * 1000 + j), np.float32)
                ok &= sess.run(y, {x: value}) == 11 * float(i * 1000 + j)
                ok &= sess.run({"y": [y]}, {x: value})["y"][0] == 11 * float(i * 1000 + j)
            results[i] = ok
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's index
            errors.append((i, exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == {i: True for i in range(8)}


# -- random ops in sessions --------------------------------------------------------------------------------
def test_random_op_draws_new_values_each_run(sess):
    r = tf.random_uniform([8])
    a, b = sess.run(r), sess.run(r)
    assert not np.array_equal(a, b)


def test_unseeded_random_ops_differ_across_sessions():
    r = tf.random_normal([8])
    with tf.Session() as a, tf.Session() as b:
        assert not np.array_equal(a.run(r), b.run(r))


def _two_runs(build):
    tf.reset_default_graph()
    t = build()
    with tf.Session() as s:
        return s.run(t), s.run(t)


@pytest.mark.parametrize("build", [
    lambda: tf.random_uniform([6], seed=3),
    lambda: tf.random_normal([6], seed=3),
    lambda: tf.truncated_normal([6], seed=3),
    lambda: (tf.set_random_seed(11), tf.random_normal([6]))[1],
    lambda: (tf.set_random_seed(11), tf.random_uniform([6], maxval=10, dtype=tf.int64))[1],
], ids=["uniform-op-seed", "normal-op-seed", "truncated-op-seed", "graph-seed", "uniform-int-graph-seed"])
def test_seeded_random_ops_repeat_across_sessions_and_graphs(build):
    first = _two_runs(build)
    second = _two_runs(build)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])  # but each run still draws anew


def test_graph_seed_gives_distinct_streams_per_op():
    tf.set_random_seed(5)
    a, b = tf.random_normal([6]), tf.random_normal([6])
    with tf.Session() as s:
        assert not np.array_equal(*s.run([a, b]))


def test_different_op_seeds_differ():
    a, b = tf.random_uniform([6], seed=1), tf.random_uniform([6], seed=2)
    with tf.Session() as s:
        assert not np.array_equal(*s.run([a, b]))


# -- config ---------------------------------------------------------------------------------------------------
def test_log_device_placement_prints_every_op_of_a_new_plan_once(capsys):
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.add(x * 2.0, 1.0, name="y")
    z = tf.negative(y, name="z")
    with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
        devices = {d.name for d in sess.list_devices()}
        capsys.readouterr()
        for _ in range(3):
            sess.run(y, {x: [1.0]})
        first = capsys.readouterr().err.splitlines()
        sess.run(z, {x: [1.0]})
        second = capsys.readouterr().err.splitlines()
    plan_ops = [op for op in tf.get_default_graph().get_operations() if op.name not in ("x", "z")]
    assert first[0] == f"Device placement of a new plan ({len(plan_ops)} ops):"
    assert len(first) == 1 + len(plan_ops)  # three runs of one plan, each op printed once
    logged = dict(line.rsplit(": ", 1) for line in first[1:])
    assert sorted(logged) == sorted(f"{op.name}: ({op.type})" for op in plan_ops)
    assert set(logged.values()) <= devices
    assert second[0] == f"Device placement of a new plan ({len(plan_ops) + 1} ops):"  # a new plan: printed again
    assert any(line.startswith("z: (Neg): ") for line in second)


def test_sessions_print_no_placement_unless_asked(capsys):
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=False)) as sess:
        sess.run(tf.constant(2.0) * 3.0)
    with tf.Session() as sess:
        sess.run(tf.constant(2.0) + 3.0)
    assert capsys.readouterr().err == ""


def test_a_config_proto_configures_a_session_as_a_dict_does():
    _, total, feeds = feed_signatures(3)
    with tf.Session(config=tf.ConfigProto(plan_cache_size=0, disable_passes=["fusion"])) as sess:
        for feed in feeds:
            sess.run(total, feed)
        assert len(sess._plans) == 0
    with pytest.raises(ValueError, match="known passes: cse, constant_folding, fusion"):
        tf.Session(config=tf.ConfigProto(disable_passes=["inlining"]))


def test_session_config_fields_are_checked_when_the_session_starts():
    with pytest.raises(TypeError, match=r"ConfigProto has no field 'log_device_placment'; known fields: "
                                        r"log_device_placement, allow_soft_placement, "):
        tf.Session(config={"log_device_placment": True})
    with pytest.raises(TypeError, match=r"ConfigProto\.allow_soft_placement must be a bool, got 'no' \(str\)"):
        tf.Session(config={"allow_soft_placement": "no"})
