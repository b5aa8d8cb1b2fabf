"""The ``compile`` pass: runs of pure ops on a device with ``compile_segment`` become one step, with a tiny device
("segdev", core's reference kernels over numpy) that records what it is handed and runs the ops in order.

The same tiny plugin exercises the other two hooks a compiling device uses: a device-type alias
(``Registrar.device_alias``) and its own conformance tolerance (``Device.conformance_tolerance``)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tests.installed_plugins import installed

SEGDEV = '''
import numpy as np
from tensorflux.extend import Device, hookimpl, register_reference_kernels

TENSORFLUX_CONTRACT = "1.0"
SEGMENTS = []     # every Segment handed to the device
DECLINE = []      # when not empty, compile_segment compiles nothing


class Compiled:
    """Runs the segment's ops one by one over its numbered values; counts its calls."""

    def __init__(self, segment):
        self.segment, self.calls = segment, 0
        self.trace_name = f"segment {segment.index} of {segment.count}"

    def __call__(self, *inputs):
        self.calls += 1
        values = list(inputs) + [None] * (len(self.segment.tensors) - len(inputs))
        for node in self.segment.nodes:
            got = node.fn(*[values[i] for i in node.args])
            for r, v in zip(node.results, got if node.multi else (got,)):
                if r is not None:
                    values[r] = v
        return tuple(values[i] for i in self.segment.outputs)

    def traced_ops(self):
        return "segdev inside", [(n.op.name, n.op.type, 10 * i, 5) for i, n in enumerate(self.segment.nodes)]


class SegDevice(Device):
    device_type = "segdev"
    host_memory = False
    priority = -1

    def from_host(self, array):
        return np.array(array, copy=True)

    def to_host(self, value):
        return np.array(value, copy=True)

    def compile_segment(self, segment):
        SEGMENTS.append(segment)
        return None if DECLINE else Compiled(segment)

    def conformance_tolerance(self, op_types, dtype):
        return (0.5, 0.25) if "MatMul" in op_types else None


@hookimpl
def tensorflux_register_devices(registrar):
    registrar.device(SegDevice(0))
    registrar.device_alias("seg", "segdev")


@hookimpl
def tensorflux_register_kernels(registrar):
    register_reference_kernels(registrar, "segdev", np, dtypes=["float32", "int32", "int64", "bool"])
'''


@pytest.fixture(scope="module")
def segdev(tmp_path_factory):
    """The segdev plugin module, installed through a real entry point for this module's tests."""
    import sys

    with installed(tmp_path_factory.mktemp("segdev"), {"segdev": "tfx_segdev"}, {"tfx_segdev": SEGDEV}):
        yield sys.modules["tfx_segdev"]


@pytest.fixture(autouse=True)
def fresh(segdev):
    segdev.SEGMENTS.clear()
    segdev.DECLINE.clear()
    yield


def _compiled_steps(sess):
    return [step[0] for plan, _ in sess._plans.values() for step in plan.steps
            if type(step[0]).__name__ == "Compiled"]


def test_a_run_of_pure_ops_becomes_one_step_with_the_same_result(segdev):
    x = tf.placeholder(tf.float32, [None, 3])
    with tf.device("/segdev:0"):
        y = tf.nn.relu(tf.matmul(x, tf.ones([3, 2])) - 4.0) * 2.0
    feed = {x: np.arange(6, dtype=np.float32).reshape(2, 3)}
    with tf.Session() as sess:
        got = sess.run(y, feed)
        steps = _compiled_steps(sess)
    with tf.Session(config={"disable_passes": ["compile"]}) as sess:
        plain = sess.run(y, feed)
        assert not _compiled_steps(sess)
    np.testing.assert_array_equal(got, plain)
    np.testing.assert_array_equal(got, [[0.0, 0.0], [16.0, 16.0]])
    assert len(steps) == 1 and steps[0].calls == 1
    (segment,) = segdev.SEGMENTS
    assert [n.op.type for n in segment.nodes] == ["MatMul", "Sub", "Relu", "Mul"]
    assert segment.num_inputs == 4 and segment.tensors[0] is x  # x (a copy of it) and the three constants
    assert segment.index == 0 and segment.count == 1


def test_variable_reads_and_input_copies_are_hoisted_out_of_the_run(segdev):
    x = tf.placeholder(tf.float32, [2])
    with tf.device("/segdev:0"):
        v = tf.Variable(np.array([1.0, 2.0], np.float32))
        w = tf.Variable(np.array([10.0, 20.0], np.float32))
        y = tf.exp(x * v) + w * x  # reads of v and w interleave with the pure ops
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        segdev.SEGMENTS.clear()
        got = sess.run(y, {x: np.ones(2, np.float32)})
    np.testing.assert_allclose(got, np.exp([1.0, 2.0]) + [10.0, 20.0], rtol=1e-6)
    assert len(segdev.SEGMENTS) == 1
    assert sorted(n.op.type for n in segdev.SEGMENTS[0].nodes) == ["AddV2", "Exp", "Mul", "Mul"]


def test_a_stateful_op_in_the_middle_is_deferred_and_dependencies_keep_their_order(segdev):
    with tf.device("/segdev:0"):
        v = tf.Variable(np.zeros(2, np.float32))
        a = tf.exp(tf.ones([2]))
        bump = v.assign_add(a)  # stateful: depends on the run, so it moves after it
        b = tf.sqrt(tf.ones([2]) * 4.0)  # independent pure ops: they join the first run
        with tf.control_dependencies([bump]):
            after = v.read_value() + b  # must see the assigned value: a second run
    with tf.Session() as sess:
        sess.run(v.initializer)
        segdev.SEGMENTS.clear()
        got = sess.run(after)
        again = sess.run(after)
    np.testing.assert_allclose(got, np.e + 2.0, rtol=1e-6)
    np.testing.assert_allclose(again, 2 * np.e + 2.0, rtol=1e-6)
    first, second = segdev.SEGMENTS
    assert {n.op.type for n in first.nodes} >= {"Exp", "Sqrt"} and (first.index, first.count) == (0, 2)
    assert [n.op.type for n in second.nodes] == ["AddV2"] and (second.index, second.count) == (1, 2)


def test_a_device_that_compiles_nothing_keeps_the_plan_as_it_was(segdev):
    segdev.DECLINE.append(True)
    x = tf.placeholder(tf.float32, [3])
    with tf.device("/segdev:0"):
        y = tf.square(x) + 1.0
    with tf.Session() as sess:
        got = sess.run(y, {x: np.array([1.0, 2.0, 3.0], np.float32)})
        assert not _compiled_steps(sess)
    np.testing.assert_array_equal(got, [2.0, 5.0, 10.0])
    assert len(segdev.SEGMENTS) == 1


def test_the_segment_carries_the_sessions_device_options_and_names_values(segdev):
    x = tf.placeholder(tf.float32, [None], name="x")
    with tf.device("/segdev:0"):
        y = tf.negative(x, name="neg")
    config = tf.ConfigProto(device_options={"SegDev": {"mode": "fast"}})
    with tf.Session(config=config) as sess:
        sess.run(y, {x: np.ones(2, np.float32)})
    (segment,) = segdev.SEGMENTS
    assert segment.options == {"mode": "fast"}
    assert [segment.tensors[i].name for i in segment.outputs] == ["neg:0"]
    with pytest.raises(TypeError, match="device_options must be a dict of device type to a dict"):
        tf.ConfigProto(device_options={"segdev": 3})


def test_a_traced_run_shows_the_compiled_step_and_what_ran_inside(segdev):
    x = tf.placeholder(tf.float32, [2])
    with tf.device("/segdev:0"):
        y = tf.exp(x) * 2.0
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(y, {x: np.zeros(2, np.float32)}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=meta)
    devices = {d.device: [n.node_name for n in d.node_stats] for d in meta.step_stats.dev_stats}
    assert "segment 0 of 1" in devices["/segdev:0"]
    assert [n for n in devices["segdev inside"]] == [n.op.name for n in segdev.SEGMENTS[0].nodes]


def test_plugins_alias_device_types_and_builtin_ones_still_work(segdev):
    from tensorflux.extend import canonical_device

    assert canonical_device("/device:SEG:1") == "/segdev:1"
    assert canonical_device("/gpu:0") == "/cuda:0" and canonical_device("cpu") == "/cpu:0"
    with tf.device("/seg:0"):
        y = tf.ones([2]) * 3.0
    assert y.op.device == "/segdev:0"
    np.testing.assert_array_equal(tf.Session().run(y), [3.0, 3.0])


def test_an_alias_may_not_shadow_a_builtin_type_or_another_plugins_alias():
    from tensorflux._internal.devices import add_device_alias, remove_device_alias

    with pytest.raises(ValueError, match="'cpu' is a built-in device type or alias"):
        add_device_alias("cpu", "mine", owner="p")
    add_device_alias("twin", "first", owner="p1")
    try:
        with pytest.raises(ValueError, match="already registered by plugin 'p1'"):
            add_device_alias("twin", "second", owner="p2")
    finally:
        remove_device_alias("twin")


def test_the_conformance_checks_use_a_devices_own_tolerance(segdev):
    from tensorflux.testing.opcheck import assert_close, device_tolerance

    graph = tf.Graph()
    with graph.as_default():
        tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]))
    assert device_tolerance(graph, ("/segdev:0", "segdev"), tf.float32, 4.0) == (0.5, 1.0)
    assert device_tolerance(tf.Graph(), ("/segdev:0", "segdev"), tf.float32, 4.0) is None
    assert_close(np.float32(2.9), np.float32(2.0), "loose", tolerance=(0.5, 1.0))
    with pytest.raises(AssertionError):
        assert_close(np.float32(2.9), np.float32(2.0), "strict")


def test_a_cond_updating_a_variable_closes_the_run_so_later_reads_see_the_update(segdev):
    with tf.device("/segdev:0"):
        v = tf.Variable(np.zeros(2, np.float32))
        a = tf.exp(tf.ones([2]))
        bump = tf.cond(tf.constant(True), lambda: tf.assign_add(v, a), lambda: tf.identity(v))
        b = tf.sqrt(tf.ones([2]) * 4.0)
        with tf.control_dependencies([bump]):
            after = v.read_value() + b  # its read of v must not be hoisted before the If that writes v
    with tf.Session() as sess:
        sess.run(v.initializer)
        got, again = sess.run(after), sess.run(after)
    np.testing.assert_allclose(got, np.e + 2.0, rtol=1e-6)
    np.testing.assert_allclose(again, 2 * np.e + 2.0, rtol=1e-6)
