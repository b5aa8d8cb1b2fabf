"""Smoke test: the cycle-model benchmark runs its tiny layers, with SCALE-Sim where its venv is. It measures nothing."""

import json

from benchmarks import tpu_cycle_model
from tests.plugins.tpu_sim.scalesim_runner import missing_reason


def test_the_cycle_model_benchmark_runs_its_tiny_layers(capsys):
    assert tpu_cycle_model.main(["--size", "tiny", "--rounds", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in report["results"]] == list(tpu_cycle_model.LAYERS["tiny"])
    assert all(r["model_us"] > 0 and r["cycles"] > 0 for r in report["results"])
    if missing_reason():
        assert report["scalesim"].startswith("not run")
    else:
        assert report["cycles_equal"] and report["min_speedup"] > 0


def test_the_benchmark_times_the_model_alone_when_asked(capsys):
    assert tpu_cycle_model.main(["--size", "tiny", "--rounds", "1", "--no-scalesim"]) == 0
    assert "SCALE-Sim not run: --no-scalesim" in capsys.readouterr().out
