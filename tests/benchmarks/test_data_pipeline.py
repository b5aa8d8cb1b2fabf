"""Smoke test: the data-pipeline benchmark runs its three variants at tiny size. It measures nothing."""

import json

from benchmarks import data_pipeline


def test_the_data_pipeline_benchmark_runs_every_variant_tiny(capsys):
    assert data_pipeline.main(["--size", "tiny", "--rounds", "1", "--steps", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["results"]["tensorflux"]) == list(data_pipeline.VARIANTS)
    assert all(ms > 0 for ms in report["results"]["tensorflux"].values())
