"""The third-party example plugin, installed with pip into the test venv, works with no change to core.

It adds an op (Swish), an optimizer (lion) and a checkpoint format (rawdir); after uninstalling, all
three are gone. Everything runs in subprocesses so that discovery starts fresh each time.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "examples" / "plugin_example"

USE_ALL_THREE = """
import json
import numpy as np
import tensorflux as tf
from tfx_example_plugin import swish
w = tf.Variable([1.0, -2.0], name="w")
loss = tf.reduce_sum(swish(w))
train = tf.train.get_optimizer("lion")(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train)
    prefix = tf.train.Saver(format="rawdir").save(sess, {prefix!r})
    print("FORMATS", tf.train.list_checkpoint_formats())
    print("OPTIMIZERS", tf.train.list_optimizers())
    print("W", json.dumps(sess.run(w).tolist()))
"""

AFTER_UNINSTALL = """
import tensorflux as tf
from tensorflux.extend import registered_ops
print("SWISH", "Swish" in registered_ops())
print("LION", "lion" in tf.train.list_optimizers())
print("RAWDIR", "rawdir" in tf.train.list_checkpoint_formats())
"""


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, capture_output=True, timeout=300)


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed():
    _pip("install", "--no-deps", "--no-build-isolation", str(PACKAGE))
    try:
        yield
    finally:
        _pip("uninstall", "-y", "tensorflux-example-plugin")


def test_install_use_uninstall(installed, tmp_path):
    out = _python(USE_ALL_THREE.format(prefix=str(tmp_path / "model")))
    assert "'rawdir'" in out.split("FORMATS")[1].splitlines()[0]
    assert "'lion'" in out.split("OPTIMIZERS")[1].splitlines()[0]
    w = json.loads(out.split("W ")[1].splitlines()[0])
    assert w == pytest.approx([0.9, -1.9])
    assert (tmp_path / "model.rawidx").exists()
    own_tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PACKAGE / "tests")],
                               capture_output=True, text=True, timeout=300, cwd=PACKAGE)
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr


def test_gone_after_uninstall(installed):
    _pip("uninstall", "-y", "tensorflux-example-plugin")
    try:
        out = _python(AFTER_UNINSTALL)
        assert "SWISH False" in out and "LION False" in out and "RAWDIR False" in out
    finally:
        _pip("install", "--no-deps", "--no-build-isolation", str(PACKAGE))
