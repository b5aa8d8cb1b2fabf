"""The `make demo` example: gradient descent recovers y = 0.1 * x + 0.3."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "linear_regression.py"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_the_options():
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert "--steps" in result.stdout and "--learning-rate" in result.stdout


def test_fits_the_line_and_prints_progress():
    result = _run("--steps", "101")
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert len(progress) == 6  # steps 0, 20, ..., 100
    final = result.stdout.splitlines()[-1]
    w, b = (float(final.split(f"{name} = ")[1].split()[0]) for name in ("W", "b"))
    assert w == pytest.approx(0.1, abs=0.01) and b == pytest.approx(0.3, abs=0.01)


def test_the_default_seed_starts_from_the_same_w_every_run():
    # The default --seed is 0, which TF treats as a fixed seed, not as "draw a fresh W".
    first, second = _run("--steps", "1"), _run("--steps", "1")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout


def test_the_makefile_demo_runs_this_example():
    makefile = (REPO_ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "examples/linear_regression.py" in demo
