"""Session.make_callable as TF-1.x has it: feed values positionally, the fetch structure kept, options optional."""

import collections

import numpy as np
import pytest

import tensorflux as tf

Pair = collections.namedtuple("Pair", "first second")


def _graph(m):
    """The same small graph built with ``m`` (tensorflux, or TensorFlow's compat.v1)."""
    x = m.placeholder(m.float32, [None], name="x")
    k = m.placeholder(m.int32, [], name="k")
    y = m.identity(x * 2.0 + 1.0, name="y")
    total = m.reduce_sum(x, name="total")
    v = m.Variable(0.0, name="v")
    bump = m.assign_add(v, total, name="bump")
    return x, k, y, total, v, bump


def _calls(m, sess):
    """What a set of make_callable calls returns with module ``m``, as plain Python values for comparison."""
    x, k, y, total, v, bump = _graph(m)
    sess.run(m.global_variables_initializer())
    data = np.array([1.0, 2.0, 3.0], np.float32)
    out = {}
    out["single"] = sess.make_callable(y, [x])(data).tolist()
    out["two_feeds"] = [float(a) if np.ndim(a) == 0 else a.tolist()
                        for a in sess.make_callable([total, k * 3], [x, k])(data, 4)]
    pair = sess.make_callable(Pair(y, total), feed_list=(x,))(data)
    out["namedtuple"] = (type(pair).__name__, pair.first.tolist(), float(pair.second))
    nested = sess.make_callable({"a": [y], "b": (total, k)}, [k, x])(2, data)
    out["dict"] = {"a": [nested["a"][0].tolist()], "b": (float(nested["b"][0]), int(nested["b"][1]))}
    out["tuple_type"] = type(sess.make_callable((total,), [x])(data)).__name__
    out["op"] = sess.make_callable(bump.op, [x])(data)
    read = sess.make_callable(v)  # no feed_list: a callable of no arguments
    out["no_feeds"] = float(read())
    out["by_name"] = float(sess.make_callable("total:0", ["x:0"])(data))
    out["again"] = [sess.make_callable(y, [x])(np.array([float(i)], np.float32)).tolist() for i in range(3)]
    return out


def test_results_and_structures_match_tensorflow(tfr):
    with tf.Session() as sess:
        ours = _calls(tf, sess)
    with tfr.Graph().as_default(), tfr.Session() as sess:
        theirs = _calls(tfr, sess)
    assert ours == theirs
    assert ours["op"] is None and ours["no_feeds"] == 6.0


def test_accept_options_takes_options_and_run_metadata_as_run_does(tfr):
    def traced_ops(m):
        x = m.placeholder(m.float32, [None], name="x")
        y = m.nn.relu(x * 2.0, name="out")
        with m.Session() as sess:
            call = sess.make_callable(y, [x], accept_options=True)
            meta = m.RunMetadata()
            value = call(np.array([-1.0, 1.0], np.float32),
                         options=m.RunOptions(trace_level=m.RunOptions.FULL_TRACE), run_metadata=meta)
            plain = call(np.array([3.0], np.float32))
        return value.tolist(), plain.tolist(), {n.node_name for d in meta.step_stats.dev_stats for n in d.node_stats}

    ours = traced_ops(tf)
    with tfr.Graph().as_default():
        theirs = traced_ops(tfr)
    assert ours[:2] == theirs[:2] == ([0.0, 2.0], [6.0])
    assert "out" in ours[2] & theirs[2]


def test_without_accept_options_options_are_refused(tfr):
    x = tf.placeholder(tf.float32, [])
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="accept_options=True"):
            sess.make_callable(x + 1.0, [x])(1.0, options=tf.RunOptions())
    with tfr.Graph().as_default(), tfr.Session() as sess:  # TensorFlow refuses the keyword too
        y = tfr.constant(1.0)
        with pytest.raises(TypeError):
            sess.make_callable(y)(options=tfr.RunOptions())


def test_the_callable_checks_its_feeds_and_keeps_its_plan():
    x = tf.placeholder(tf.float32, [2], name="x")
    with tf.Session() as sess:
        call = sess.make_callable(x * 2.0, [x])
        assert call([1, 2]).tolist() == [2.0, 4.0]  # a list of ints is converted, as run converts it
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3,\) for Tensor 'x:0'"):
            call(np.zeros(3, np.float32))
        with pytest.raises(TypeError, match=r"made for 1 feeds \['x:0'\] was given 2 values"):
            call(np.zeros(2, np.float32), np.zeros(2, np.float32))
        assert not sess._plans  # its plan is its own, not in run's cache


def test_errors_name_what_is_wrong():
    x = tf.placeholder(tf.float32, [], name="x")
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="feed_list must be a list or tuple, got Tensor"):
            sess.make_callable(x + 1.0, x)
        with pytest.raises(tf.errors.InvalidArgumentError, match="You must feed a value for placeholder tensor 'x'"):
            sess.make_callable(x + 1.0)  # compiled when made: the unfed placeholder fails here
        with pytest.raises(ValueError, match="names a tensor twice"):
            sess.make_callable(x + 1.0, [x, "x:0"])
        call = sess.make_callable(x + 1.0, [x])
    with pytest.raises(RuntimeError, match="closed Session"):
        call(1.0)
