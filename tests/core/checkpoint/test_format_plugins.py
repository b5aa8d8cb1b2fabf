"""Checkpoint formats are plugins: a third-party format installs through entry points with no core change,
a malformed one is rejected naming its plugin, and no loading path can run code from a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tensorflux as tf
from tests.plugin_sandbox import make_site, run

TEXT_FORMAT_PLUGIN = """
    import json, os
    import numpy as np
    from tensorflux.extend import CheckpointFormat, atomic_write, hookimpl

    TENSORFLUX_CONTRACT = "1.0"

    class JsonFormat(CheckpointFormat):
        def files(self, prefix):
            return [prefix + ".json"]

        def detect(self, prefix):
            return os.path.exists(prefix + ".json")

        def write(self, prefix, tensors):
            doc = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "data": v.ravel().tolist()}
                   for k, v in tensors.items()}
            with atomic_write(prefix + ".json", "w") as f:
                json.dump(doc, f)

        def read(self, prefix):
            with open(prefix + ".json") as f:
                doc = json.load(f)
            return {k: np.array(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in doc.items()}

    @hookimpl
    def tensorflux_register_checkpoint_formats(registrar):
        registrar.checkpoint_format("json", JsonFormat())
"""

BROKEN_FORMAT_PLUGIN = """
    from tensorflux.extend import hookimpl
    TENSORFLUX_CONTRACT = "1.0"

    class HalfDone:
        def write(self, prefix, tensors):
            pass

    @hookimpl
    def tensorflux_register_checkpoint_formats(registrar):
        registrar.checkpoint_format("halfdone", HalfDone())
"""

USE_FORMATS = """
    import os, sys, warnings
    warnings.simplefilter("always")
    import numpy as np
    import tensorflux as tf

    print("FORMATS", tf.train.list_checkpoint_formats())
    d = os.environ["CKPT_DIR"]
    v = tf.Variable(np.arange(4, dtype=np.float32), name="layer/v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        prefix = tf.train.Saver(format="json").save(sess, os.path.join(d, "model"), global_step=3)
        print("FILES", sorted(os.listdir(d)))
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, tf.train.latest_checkpoint(d))
        print("RESTORED", sess.run(v).tolist(), tf.train.NewCheckpointReader(prefix).format_name)
"""


@pytest.fixture(scope="module")
def format_site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("formats"),
                     plugins={"jsonfmt": TEXT_FORMAT_PLUGIN, "halfdone": BROKEN_FORMAT_PLUGIN})


@pytest.fixture(scope="module")
def format_run(format_site, tmp_path_factory):
    return run(format_site, USE_FORMATS, env={"CKPT_DIR": str(tmp_path_factory.mktemp("ckpt"))})


def test_third_party_format_saves_restores_and_is_detected(format_run):
    assert format_run.returncode == 0, format_run.stderr
    out = format_run.stdout
    assert "FORMATS ['json', 'native', 'npz', 'tf_bundle']" in out
    assert "FILES ['checkpoint', 'model-3.json', 'model-3.meta']" in out
    assert "RESTORED [0.0, 1.0, 2.0, 3.0] json" in out


def test_a_format_missing_methods_is_rejected_naming_the_plugin(format_run):
    assert re.search(r"plugin 'halfdone' was skipped: .*checkpoint format 'halfdone' as a HalfDone, which lacks "
                     r"the method\(s\) read, detect, files", format_run.stderr), format_run.stderr


def test_core_formats_are_listed():
    assert {"native", "npz"} <= set(tf.train.list_checkpoint_formats())


LOADING_PATHS = ["serialization", "checkpoint"]  # every module that reads graph, meta-graph or checkpoint files


def test_no_loading_path_uses_pickle_or_eval():
    root = Path(tf.__file__).parent / "_internal"
    offenders = []
    pattern = re.compile(r"\b(pickle|marshal|shelve|dill)\s*\.\w|\b(eval|exec)\s*\(|allow_pickle\s*=\s*True"
                         r"|import\s+(pickle|marshal|shelve|dill)")
    files = [p for sub in LOADING_PATHS for p in sorted((root / sub).rglob("*.py"))] + [root / "fileio.py"]
    assert len(files) > 10
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


FRAGILE_FORMAT_PLUGIN = """
    from tensorflux.extend import CheckpointFormat, hookimpl

    TENSORFLUX_CONTRACT = "1.0"

    class Fragile(CheckpointFormat):
        def files(self, prefix):
            return [prefix + ".fragile"]

        def detect(self, prefix):
            raise UnicodeDecodeError("utf-8", b"\\xff", 0, 1, "invalid start byte")

        def write(self, prefix, tensors):
            raise NotImplementedError

        def read(self, prefix):
            raise NotImplementedError

    @hookimpl
    def tensorflux_register_checkpoint_formats(registrar):
        registrar.checkpoint_format("fragile", Fragile())
"""


def test_a_format_whose_detect_raises_gives_a_data_loss_error_naming_it(tmp_path):
    code = f"""
        import tensorflux as tf
        v = tf.Variable([1.0], name="v")
        with tf.Session() as sess:
            try:
                tf.train.Saver().restore(sess, {str(tmp_path / "missing")!r})
            except tf.errors.DataLossError as exc:
                print("ERROR", exc)
    """
    result = run(make_site(tmp_path / "site", plugins={"fragile": FRAGILE_FORMAT_PLUGIN}), code)
    assert result.returncode == 0, result.stderr
    assert "ERROR checkpoint format 'fragile' failed to inspect" in result.stdout
    assert "UnicodeDecodeError" in result.stdout
