"""Every script in examples/: --help works, and the MNIST ones find the data as `make demo` does, or say what to pass."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
SHARED = REPO_ROOT.parent / "shared" / "data" / "mnist"
MNIST_SCRIPTS = ["mnist_softmax.py", "mnist_mlp.py", "mnist_cnn.py", "tf1_style_mnist.py"]
needs_shared = pytest.mark.skipif(not (SHARED / "t10k-images-idx3-ubyte.gz").is_file(),
                                  reason=f"the shared MNIST files are not in {SHARED} (../shared/data/mnist from the repo root)")


def _env(tmp_path, **extra):
    """No TENSORFLUX_DATA_DIR, an empty home, and downloads refused at once by a proxy on a closed port."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "TF_CPP_MIN_LOG_LEVEL": "3",
           "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    return {**env, **extra}


def _run(script, *args, cwd, env=None, timeout=300):
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_every_example_is_covered():
    assert {p.name for p in SCRIPTS} >= {"hello.py", "tf1_style_mnist.py", *MNIST_SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_prints_usage_and_exits_0(script, tmp_path):
    result = _run(script.name, "--help", cwd=tmp_path, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script.name}"), result.stdout
    assert not (tmp_path / "--help").exists()  # --help is not taken for a data directory


@pytest.mark.parametrize("script", MNIST_SCRIPTS)
def test_without_data_the_error_names_each_way_to_point_at_it(script, tmp_path):
    empty = tmp_path / "data"
    result = _run(script, "--steps", "1", cwd=tmp_path, env=_env(tmp_path, TENSORFLUX_DATA_DIR=str(empty)))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"{script[:-3]}: MNIST data not found in {empty / 'mnist'}"), result.stderr
    for remedy in ("--data-dir", "TENSORFLUX_DATA_DIR"):
        assert remedy in result.stderr


def test_tf1_style_mnist_without_arguments_gives_the_data_error_not_an_index_error(tmp_path):
    result = _run("tf1_style_mnist.py", cwd=tmp_path, env=_env(tmp_path, TENSORFLUX_DATA_DIR=str(tmp_path / "data")))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "MNIST data not found" in result.stderr and "--data-dir" in result.stderr


@needs_shared
# One script is enough: every example takes its default from tf.datasets.mnist.default_dir, and each run
# reads the whole data set (several seconds).
@pytest.mark.parametrize("script, args", [("tf1_style_mnist.py", ["--steps", "20"])])
def test_without_data_dir_the_shared_data_beside_the_checkout_is_used(script, args, tmp_path):
    # Run from elsewhere: the shared folder is found from the checkout, not from the working directory.
    result = _run(script, *args, cwd=tmp_path, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout
    assert not (tmp_path / "home" / ".cache" / "tensorflux" / "mnist").exists()  # nothing was downloaded


@needs_shared
def test_help_shows_the_resolved_default_data_dir(tmp_path):
    result = _run("mnist_softmax.py", "--help", cwd=tmp_path, env=_env(tmp_path, COLUMNS="500"))
    assert result.returncode == 0, result.stderr
    assert str(SHARED.resolve()) in result.stdout or str(SHARED) in result.stdout
