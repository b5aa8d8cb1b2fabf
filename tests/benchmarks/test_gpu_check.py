"""Smoke test of the GPU check script where there is no GPU: it says so, and why, and exits 2 without running."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import gpu_check

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def test_without_a_gpu_the_check_says_why_and_exits_2():
    pytest.importorskip("tensorflux_cuda", reason="the tensorflux-cuda plugin is not installed")
    from tensorflux_cuda.probe import find_gpus

    count, why = find_gpus()
    if count:
        pytest.skip(f"this machine has {count} GPU(s): the script would run its checks")
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"gpu_check: no GPU to check: {why}"
    assert proc.stdout == ""


def test_the_gpu_problem_names_the_missing_plugin_or_driver():
    problem = gpu_check.gpu_problem()
    assert problem == "" or "tensorflux-cuda" in problem or "CUDA" in problem or "cupy" in problem
