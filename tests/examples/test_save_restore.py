"""examples/save_restore.py: train and save, then import the meta graph, restore and evaluate."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "save_restore.py"


def test_trains_saves_restores_and_evaluates(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--logdir", str(tmp_path), "--steps", "200"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["step 100", "step 200"]
    assert lines[-1].startswith(f"restored {tmp_path}/checkpoint-199: accuracy ")
    accuracy = float(lines[-1].split("accuracy ")[1].split()[0])
    assert accuracy > 1.0 / 3  # better than guessing among three classes
    assert (tmp_path / "graph.pbtxt").read_text().startswith("node {")
