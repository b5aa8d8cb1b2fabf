"""Smoke test: the benchmark runs every workload at tiny sizes. It measures nothing."""

import json

from benchmarks import compare
from benchmarks.workloads import WORKLOADS


def test_benchmark_runs_every_workload_tiny(capsys):
    assert compare.main(["--size", "tiny", "--rounds", "1", "--budget", "0.01", "--memory-steps", "1",
                         "--no-tf", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["workload"] for r in report["results"]] == list(WORKLOADS)
    assert all(r["tensorflux"] > 0 for r in report["results"])
    assert report["peak_rss_mib_cnn_training"]["tensorflux"] > 0


def test_benchmark_shows_each_graph_pass_switched_off(capsys):
    assert compare.main(["--size", "tiny", "--only", "run_overhead", "--rounds", "1", "--budget", "0.01",
                         "--memory-steps", "0", "--no-tf", "--passes", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert all(row[column] > 0 for column in compare.PASS_COLUMNS)


def test_peak_memory_is_the_child_process_own_figure():
    import numpy as np

    # 1 GiB in this process: the child must not report it. (The child's own peak is ~300 MiB, more while
    # numba compiles the cpu plugin's loops into an empty cache.)
    ballast = np.ones(2**28, np.float32)
    child = compare.peak_memory("tensorflux", "tiny", 1)
    assert child is not None and 0 < child < 1024
    del ballast
