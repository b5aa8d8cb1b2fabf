"""tpu_sim's step report: simulated time from the systolic model and HBM bandwidth, MXU utilization, roofline,
and the same times in RunMetadata.step_stats of a traced run."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.timeline import Timeline


@pytest.fixture
def one_mxu(tpu):
    """A chip with one 128x128 MXU at 1 GHz and 100 GB/s, so each expected time is one division."""
    from tensorflux_tpu_sim.chips import custom_chip

    chip = custom_chip(128, 128, mxu_count=1, clock_hz=1e9, memory_bytes_per_s=100e9, name="one-mxu")
    tpu.configure(chip=chip)
    return chip


def _dense_step():
    x = tf.placeholder(tf.float32, [64, 256])
    w = tf.placeholder(tf.float32, [256, 128])
    with tf.device("/tpu:0"):
        y = tf.exp(tf.matmul(x, w, name="dense"), name="act")
        z = tf.square(y, name="sq") + tf.sqrt(tf.abs(y))  # y has two readers: the exp stays with the matmul
    feed = {x: np.full((64, 256), 0.01, np.float32), w: np.full((256, 128), 0.01, np.float32)}
    return z, feed


def test_a_matrix_ops_time_is_its_systolic_cycles_or_its_memory_time(tpu, one_mxu):
    from tensorflux_tpu_sim.systolic import ArrayConfig, gemm_cost

    z, feed = _dense_step()
    with tf.Session() as sess:
        sess.run(z, feed)
    report = tpu.last_step_report()
    (mxu,) = [op for op in report.ops if op.kind == "mxu"]
    assert mxu.ops == ("dense", "act")
    array = ArrayConfig(128, 128, "ws")
    # The cheaper of the product as asked and transposed (B^T A^T), on the one array.
    cycles = min(gemm_cost(64, 128, 256, array).cycles, gemm_cost(128, 128, 256, array).cycles)
    assert mxu.cycles == cycles and mxu.macs == 64 * 128 * 256
    moved = (64 * 256 + 256 * 128 + 64 * 128) * 4  # x and w in, exp(x @ w) out
    assert mxu.bytes == moved
    assert mxu.seconds == pytest.approx(max(cycles / 1e9, moved / 100e9))
    assert mxu.utilization == pytest.approx(mxu.macs / (cycles * 128 * 128))


def test_elementwise_work_is_bytes_over_bandwidth_and_the_step_adds_up(tpu, one_mxu):
    z, feed = _dense_step()
    with tf.Session() as sess:
        sess.run(z, feed)
    report = tpu.last_step_report()
    (vector,) = [op for op in report.ops if op.kind == "vector"]
    assert vector.ops[0] == "sq" and vector.bytes == 2 * 64 * 128 * 4
    assert vector.seconds == pytest.approx(vector.bytes / 100e9)
    assert report.total_seconds == pytest.approx(sum(op.seconds for op in report.ops))
    assert report.mxu_seconds == pytest.approx(report.ops[0].seconds if report.ops[0].kind == "mxu" else
                                               sum(op.seconds for op in report.ops if op.kind == "mxu"))


def test_the_roofline_places_the_step_against_the_chips_ridge_point(tpu, one_mxu):
    z, feed = _dense_step()
    with tf.Session() as sess:
        sess.run(z, feed)
    report = tpu.last_step_report()
    assert report.ridge_point == pytest.approx(2 * 128 * 128 * 1e9 / 100e9)
    assert report.flops == 2 * 64 * 128 * 256
    assert report.arithmetic_intensity == pytest.approx(report.flops / report.bytes)
    assert report.bound == ("compute-bound" if report.arithmetic_intensity >= report.ridge_point else "memory-bound")
    assert report.attainable_flops == pytest.approx(min(one_mxu.peak_flops, report.arithmetic_intensity * 100e9))
    assert 0 < report.step_utilization <= report.mxu_utilization <= 1


def test_the_report_reads_as_a_table(tpu, one_mxu):
    z, feed = _dense_step()
    with tf.Session() as sess:
        sess.run(z, feed)
    text = str(tpu.last_step_report())
    assert text.startswith("tpu_sim step on TPU one-mxu (1 MXU(s) of 128x128 at 1000 MHz, 100 GB/s HBM)")
    assert "MXU utilization" in text and "ridge point 327.7 FLOP/byte" in text
    assert "dense [+ act]" in text and "sq [+ " in text
    assert tpu.last_step_report().as_dict()["ops"][0]["name"] == "dense"


def test_a_step_of_several_segments_is_one_report(tpu):
    x = tf.placeholder(tf.float32, [4, 4])
    with tf.device("/tpu:0"):
        h = tf.exp(x)
        noisy = h * tf.random_uniform(tf.shape(h), seed=1)  # a random op: stateful, between two segments
        y = tf.matmul(noisy, noisy)
    with tf.Session() as sess:
        sess.run(y, {x: np.ones((4, 4), np.float32)})
        first = tpu.last_step_report()
        sess.run(y, {x: np.ones((4, 4), np.float32)})
        second = tpu.last_step_report()
    assert first.segments == second.segments == 2
    assert (first.compiled, second.compiled) == (2, 0)
    assert {op.kind for op in second.ops} >= {"mxu", "vector"}


def test_the_chip_comes_from_the_environment(tpu, monkeypatch):
    monkeypatch.setenv("TENSORFLUX_TPU_CHIP", "v4")
    x = tf.placeholder(tf.float32, [2, 2])
    with tf.device("/tpu:0"):
        y = tf.matmul(x, x)
    tf.Session().run(y, {x: np.eye(2, dtype=np.float32)})
    assert tpu.last_step_report().chip.name == "v4" and tpu.last_step_report().chip.mxu_count == 8


def test_a_full_trace_puts_the_simulated_ops_in_step_stats(tpu, one_mxu):
    z, feed = _dense_step()
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(z, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
    report = tpu.last_step_report()
    stats = {d.device: d for d in meta.step_stats.dev_stats}
    simulated = stats["/tpu_sim:0 (simulated TPU one-mxu)"]
    names = [n.node_name for n in simulated.node_stats]
    assert names == [op.name for op in report.ops if op.kind != "free"]
    durations = [n.op_end_rel_nanos for n in simulated.node_stats]
    assert durations == [max(round(op.seconds * 1e9), 1) for op in report.ops if op.kind != "free"]
    assert any(n.node_name.startswith("cluster_0") for n in stats["/tpu_sim:0"].node_stats)
    trace = json.loads(Timeline(meta.step_stats).generate_chrome_trace_format())
    assert any(e.get("name") == "dense" or "dense" in str(e.get("args", {})) for e in trace["traceEvents"])
