"""The real TensorBoard server reads our event files: scalars, the name-scoped graph with a traced step's run
metadata, and audio, over its HTTP API."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

import tensorflux as tf

pytest.importorskip("tensorboard", reason="tensorboard is not installed; pip install tensorboard")

STARTUP_SECONDS = 60  # a deadline: tensorboard imports TensorFlow when installed, slow on a loaded machine


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def _wait_for(url, proc, log):
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tensorboard exited with {proc.returncode}: {log.read_text()}")
        try:
            body = _get(url)
            if body.strip() not in ("", "[]"):
                return body
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.25)
    pytest.fail(f"tensorboard served nothing at {url} within {STARTUP_SECONDS}s: {log.read_text()}")


def test_tensorboard_serves_our_scalars_graph_run_metadata_and_audio(tmp_path):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [], name="x")
    with tf.name_scope("model"):
        y = tf.square(x, name="squared")
    loss = tf.summary.scalar("loss", y)
    audio = tf.summary.audio("tone", tf.sin(tf.linspace(0.0, 40.0, 400))[None, :], 8000.0, max_outputs=1)
    inputs = np.linspace(0.5, 2.0, 4, dtype=np.float32)
    logdir = tmp_path / "logs"
    meta = tf.RunMetadata()
    with tf.Session() as sess, tf.summary.FileWriter(str(logdir), sess.graph) as writer:
        for step, value in enumerate(inputs):
            trace = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE) if step == 1 else None
            writer.add_summary(sess.run(loss, {x: value}, options=trace, run_metadata=meta), global_step=step)
        writer.add_run_metadata(meta, "step 1", global_step=1)
        writer.add_summary(sess.run(audio), global_step=0)

    port, log = _free_port(), tmp_path / "tensorboard.log"
    # Output goes to a file: an undrained pipe could fill and stall the server.
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
             "--port", str(port), "--reload_interval", "1"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        scalars = json.loads(_wait_for(f"{base}/data/plugin/scalars/scalars?run=.&tag=loss", proc, log))
        assert [step for _, step, _ in scalars] == list(range(len(inputs)))
        np.testing.assert_allclose([value for _, _, value in scalars], inputs ** 2, rtol=1e-6)
        graph = _wait_for(f"{base}/data/plugin/graphs/graph?run=.", proc, log)
        for op in tf.get_default_graph().get_operations():
            assert f'name: "{op.name}"' in graph
        assert 'name: "model/squared"' in graph and 'op: "ScalarSummary"' in graph
        # The traced step is listed with the graph, and its per-op stats name the graph's nodes.
        info = json.loads(_get(f"{base}/data/plugin/graphs/info"))
        assert info["."]["run_graph"] and info["."]["tags"]["step 1"]["profile"]
        stats = _get(f"{base}/data/plugin/graphs/run_metadata?run=.&tag={urllib.parse.quote('step 1')}")
        assert 'node_name: "model/squared"' in stats
        tags = json.loads(_wait_for(f"{base}/data/plugin/audio/tags", proc, log))
        assert list(tags["."]) == ["tone/audio"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
