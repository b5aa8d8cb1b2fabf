"""Smoke tests: the frozen-model benchmark's timing, checking and caching paths on a tiny graph. They measure nothing."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from benchmarks import frozen_models


def _tiny_graph_def() -> bytes:
    """A frozen-looking classifier: placeholder, constant conv + bias + relu, global mean, softmax."""
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [2, 6, 6, 3], name="x")
        f = tf.constant(rng.standard_normal((3, 3, 3, 4)).astype(np.float32))
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, f, [1, 1, 1, 1], "SAME"), tf.constant(np.ones(4, np.float32))))
        tf.identity(tf.nn.softmax(tf.reduce_mean(h, axis=[1, 2])), name="probabilities")
    return graph.as_graph_def().SerializeToString()


def test_the_benchmark_row_of_a_tiny_graph_times_and_profiles_tensorflux(capsys):
    data = _tiny_graph_def()
    assert frozen_models.graph_io(data) == ("x", "probabilities")
    row = frozen_models.benchmark("tiny", data, 2, rounds=2, with_tf=False, profile=True)
    assert row["tensorflux"] > 0 and "tensorflux_error" not in row
    assert {"Relu", "Softmax"} <= set(row["profile"]) and all(s >= 0 for s in row["profile"].values())
    frozen_models.print_table([row, {"model": "broken", "batch": 2, "tensorflux_error": "KeyError: x"}])
    out = capsys.readouterr().out
    assert "tiny" in out and "broken: tensorflux failed: KeyError: x" in out and "per op type" in out


def test_the_benchmark_compares_against_tensorflow_side_by_side():
    pytest.importorskip("tensorflow")
    row = frozen_models.benchmark("tiny", _tiny_graph_def(), 2, rounds=2)
    assert row["tensorflow"] > 0 and row["ratio"] == pytest.approx(row["tensorflux"] / row["tensorflow"])
    assert row["rel_error"] < 1e-5


def test_a_graph_that_does_not_run_is_reported_not_raised():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [2, 3], name="x")
        tf.identity(tf.reshape(x, tf.placeholder_with_default([4, 5], [2])), name="y")  # fails at run time
    row = frozen_models.benchmark("bad", graph.as_graph_def().SerializeToString(), 2, rounds=1, with_tf=False)
    assert "tensorflux" not in row and "Error" in row["tensorflux_error"]


def test_frozen_graphs_are_cached_by_model_and_batch(tmp_path, monkeypatch):
    calls = []

    def freeze(name, batch):
        calls.append((name, batch))
        return _tiny_graph_def()

    monkeypatch.setattr(frozen_models, "freeze_keras_application", freeze)
    first = frozen_models.cached_graph_def("resnet50", 2, str(tmp_path))
    assert frozen_models.cached_graph_def("resnet50", 2, str(tmp_path)) == first
    frozen_models.cached_graph_def("resnet50", 1, str(tmp_path))
    assert calls == [("resnet50", 2), ("resnet50", 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resnet50_b1.pb", "resnet50_b2.pb"]


def test_unknown_models_and_relative_errors():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        frozen_models.freeze_keras_application("vgg", 1)
    assert frozen_models.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert frozen_models.relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.5])) == pytest.approx(0.2)


def test_main_prints_json_rows_for_cached_graphs(tmp_path, capsys):
    import json

    (tmp_path / "resnet50_b2.pb").write_bytes(_tiny_graph_def())
    frozen_models.main(["--models", "resnet50", "--rounds", "1", "--cache", str(tmp_path), "--json", "--no-tf"])
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["model"] for r in rows] == ["resnet50"] and rows[0]["tensorflux"] > 0


def test_memory_helpers_read_proc_status_and_compute_ratios(capsys):
    status = "Name:\tpython\nVmHWM:\t    4096 kB\nVmRSS:\t    1024 kB\n"
    assert frozen_models.status_kib("VmHWM", status) == 4096 and frozen_models.status_kib("VmRSS", status) == 1024
    assert frozen_models.status_kib("VmSwap", status) is None
    row = frozen_models.memory_ratios("m", 32, {"tensorflux": {"peak": 300.0, "working": 120.0, "loaded": 180.0},
                                                "tensorflow": {"peak": 1200.0, "working": 400.0, "loaded": 800.0}})
    assert row["peak_ratio"] == pytest.approx(0.25) and row["working_ratio"] == pytest.approx(0.3)
    assert row["tensorflux_loaded"] == 180.0 and row["tensorflow_peak"] == 1200.0
    broken = frozen_models.memory_ratios("b", 1, {"tensorflux": {"peak": 1.0}, "tensorflow": {"error": "OOM"}})
    assert "peak_ratio" not in broken and broken["tensorflow_error"] == "OOM"
    frozen_models.print_memory_table([row, broken])
    out = capsys.readouterr().out
    assert "working tfx" in out and "0.25" in out and "b: tensorflow failed: OOM" in out


def test_memory_rows_measure_each_framework_in_its_own_process(tmp_path):
    (tmp_path / "resnet50_b2.pb").write_bytes(_tiny_graph_def())
    (row,) = frozen_models.memory_rows(["resnet50"], 2, str(tmp_path), with_tf=False, runs=1)
    assert "tensorflux_error" not in row, row
    # The worker's own numbers hang together: a process holds at least what it holds after loading.
    assert 0 < row["tensorflux_loaded"] <= row["tensorflux_peak"]
    assert row["tensorflux_working"] > -1.0  # MiB: RSS may drop a few pages between reading it and resetting the peak
    assert row["tensorflux_load_peak"] <= row["tensorflux_peak"]
