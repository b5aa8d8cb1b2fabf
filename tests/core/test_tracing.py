"""RunOptions(trace_level=FULL_TRACE) fills RunMetadata.step_stats; the timeline writes a Chrome trace."""

import json

import pytest

import tensorflux as tf
from tensorflux.timeline import Timeline


def _traced_run():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(tf.ones([3, 2]), name="w")
    y = tf.nn.relu(tf.matmul(x, w, name="mm") + 1.0, name="out")
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(y, {x: [[1.0, 2.0, 3.0]]}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=meta)
    return meta


def test_step_stats_name_each_op_with_timing():
    stats = _traced_run().step_stats
    assert [d.device for d in stats.dev_stats] == ["/cpu:0"]
    nodes = stats.dev_stats[0].node_stats
    names = [n.node_name for n in nodes]
    assert {"w", "mm", "out"} <= set(names)
    for node in nodes:
        assert node.all_start_micros > 0 and node.op_end_rel_micros >= 1
        assert node.timeline_label.startswith(f"{node.node_name} = ")
    starts = [n.all_start_nanos for n in nodes]
    assert starts == sorted(starts)


def test_no_trace_leaves_metadata_empty():
    meta = tf.RunMetadata()
    tf.Session().run(tf.constant(1.0) + 1.0, options=tf.RunOptions(), run_metadata=meta)
    assert not meta.step_stats.dev_stats


def test_same_ops_traced_as_tensorflow(tfr):
    def run(m, options, meta):
        x = m.placeholder(m.float32, [None, 3], name="x")
        y = m.nn.relu(m.matmul(x, m.ones([3, 2]), name="mm"), name="out")
        with m.Session() as sess:
            sess.run(y, {x: [[1.0, 2.0, 3.0]]}, options=options, run_metadata=meta)
        return {n.node_name for d in meta.step_stats.dev_stats for n in d.node_stats}

    ours = run(tf, tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), tf.RunMetadata())
    with tfr.Graph().as_default():
        theirs = run(tfr, tfr.RunOptions(trace_level=tfr.RunOptions.FULL_TRACE), tfr.RunMetadata())
    assert {"mm", "out"} <= ours & theirs


def test_chrome_trace_has_one_complete_event_per_op():
    stats = _traced_run().step_stats
    trace = json.loads(Timeline(stats).generate_chrome_trace_format())
    events = trace["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    assert len(complete) == sum(len(d.node_stats) for d in stats.dev_stats)
    for event in complete:
        assert {"name", "pid", "tid", "ts", "dur", "args"} <= set(event) and event["dur"] >= 1
    names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    assert set(names) == {e["pid"] for e in complete} and "/cpu:0" in names[0]


def test_tensorflow_timeline_reads_our_step_stats(tfr):
    try:
        from tensorflow.core.framework import step_stats_pb2
        from tensorflow.python.client import timeline
    except ImportError as exc:
        pytest.skip(f"TensorFlow's timeline module cannot be imported: {exc}")
    theirs = step_stats_pb2.StepStats.FromString(_traced_run().step_stats.SerializeToString())
    trace = json.loads(timeline.Timeline(theirs).generate_chrome_trace_format())
    assert {"mm", "out"} <= {e.get("args", {}).get("name") for e in trace["traceEvents"]}
