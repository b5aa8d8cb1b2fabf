"""examples/tf1_style_mnist.py runs unchanged but for its import lines, here and (where installed) in TensorFlow."""

import difflib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "tf1_style_mnist.py"
SHARED = REPO.parent / "shared" / "data" / "mnist"
OURS = "import tensorflux as tf\n"
THEIRS = "import tensorflow.compat.v1 as tf\ntf.disable_eager_execution()\n"

pytestmark = pytest.mark.skipif(not (SHARED / "t10k-images-idx3-ubyte.gz").is_file(),
                                reason=f"the shared MNIST files are not in {SHARED}")


def _accuracy(script: Path) -> float:
    result = subprocess.run([sys.executable, str(script), "--data-dir", str(SHARED), "--steps", "300"], capture_output=True,
                            text=True, timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    return float(re.search(r"steps 300 test accuracy (\d\.\d+)", result.stdout).group(1))


def test_runs_in_tensorflux():
    assert _accuracy(SCRIPT) > 0.9


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_same_script_with_tensorflow_imports_matches(tmp_path):
    source = SCRIPT.read_text()
    assert source.count(OURS) == 1
    theirs = tmp_path / "tf_version.py"
    theirs.write_text(source.replace(OURS, THEIRS))
    diff = list(difflib.ndiff(source.splitlines(), theirs.read_text().splitlines()))
    assert [d[2:] for d in diff if d.startswith("- ")] == ["import tensorflux as tf"]
    assert [d[2:] for d in diff if d.startswith("+ ")] == THEIRS.splitlines()
    assert _accuracy(theirs) == pytest.approx(_accuracy(SCRIPT), abs=0.03)
