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
    ("mnist_mlp.py", ["--data-dir", "--steps", "--logdir"]),
    ("mnist_cnn.py", ["--data-dir", "--steps", "--device", "--logdir"]),
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


@pytest.mark.skipif(not (SHARED / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"the shared MNIST files are not in {SHARED} (../shared/data/mnist from the repo root)")
def test_mnist_mlp_saves_a_checkpoint_whose_collections_restore(tmp_path):
    result = _run("mnist_mlp.py", "--data-dir", str(SHARED), "--steps", "200", "--no-progress",
                  "--checkpoint-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", result.stdout).group(1))
    assert accuracy > 0.85, result.stdout
    import numpy as np

    import tensorflux as tf

    mnist = tf.datasets.mnist.read_data_sets(str(SHARED))
    with tf.Session(graph=tf.Graph()) as sess:
        saver = tf.train.import_meta_graph(str(tmp_path / "checkpoint-200.meta"))
        saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
        logits = tf.get_collection("logits")[0]
        images = tf.get_collection("images")[0]
        _, top = sess.run(tf.nn.top_k(logits, 1), {images: mnist.test.images})
    assert np.mean(top[:, 0] == mnist.test.labels) == pytest.approx(accuracy, abs=1e-4)


@pytest.mark.skipif(not (SHARED / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"the shared MNIST files are not in {SHARED} (../shared/data/mnist from the repo root)")
def test_mnist_mlp_logdir_writes_the_loss_and_graph_for_tensorboard(tmp_path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                             reason="tensorboard is not installed; pip install tensorboard")
    steps, every = 25, 10
    result = _run("mnist_mlp.py", "--data-dir", str(SHARED), "--steps", str(steps), "--no-progress",
                  "--checkpoint-dir", str(tmp_path / "ckpt"), "--logdir", str(tmp_path / "logs"),
                  "--summary-every", str(every))
    assert result.returncode == 0, result.stderr
    acc = ea.EventAccumulator(str(tmp_path / "logs"))
    acc.Reload()
    assert [s.step for s in acc.Scalars("loss")] == list(range(0, steps, every))
    assert all(s.value > 0 for s in acc.Scalars("loss"))
    names = {n.name for n in acc.Graph().node}
    assert {"hidden1/weights", "hidden2/weights", "softmax_linear/weights", "loss"} <= names
