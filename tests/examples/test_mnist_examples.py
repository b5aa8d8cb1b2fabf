"""Smoke tests of the MNIST examples: --help for each, and a short softmax-regression run on the shared data."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
SHARED = REPO_ROOT.parent / "shared" / "data" / "mnist"
pytest.importorskip("tqdm", reason="the examples need tqdm (installed by the test extra: make install)")


def _run(script, *args, timeout=120):
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("script, options", [
    ("mnist_softmax.py", ["--data-dir", "--steps"]),
    ("mnist_mlp.py", ["--data-dir", "--steps"]),
    ("mnist_cnn.py", ["--data-dir", "--steps", "--device"]),
])
def test_help(script, options):
    result = _run(script, "--help")
    assert result.returncode == 0, result.stderr
    for option in options:
        assert option in result.stdout


@pytest.mark.skipif(not (SHARED / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"the shared MNIST files are not in {SHARED} (../shared/data/mnist from the repo root)")
def test_mnist_softmax_short_run_prints_the_summary():
    result = _run("mnist_softmax.py", "--data-dir", str(SHARED), "--steps", "30", "--no-progress")
    assert result.returncode == 0, result.stderr
    match = re.search(r"mnist_softmax: test accuracy (\d\.\d+), wall time (\d+\.\d) s", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) > 0.6  # 30 steps of gradient descent are far better than chance (0.1)
