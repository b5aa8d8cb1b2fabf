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
