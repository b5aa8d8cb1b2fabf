"""FileWriter's session logs and tagged run metadata, and FileWriterCache, read back with TensorBoard's loaders."""

import numpy as np
import pytest

import tensorflux as tf

ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                         reason="tensorboard is not installed; pip install tensorboard")
from tensorboard.backend.event_processing import event_file_loader  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()
    yield
    tf.summary.FileWriterCache.clear()


def _events(path):
    return list(event_file_loader.LegacyEventFileLoader(str(path)).Load())


def _accumulator(logdir):
    acc = ea.EventAccumulator(str(logdir), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    return acc


def test_session_logs_round_trip(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), global_step=0)
        writer.add_session_log(tf.summary.SessionLog(status=tf.SessionLog.CHECKPOINT, checkpoint_path="/ckpt/model-5",
                                                     msg="saved"), 5)
        writer.add_session_log(tf.SessionLog(status=tf.SessionLog.STOP), global_step=9)
        path = writer.event_file
    logs = [(e.step, e.session_log) for e in _events(path) if e.HasField("session_log")]
    assert [(step, log.status) for step, log in logs] == [(0, 1), (5, 3), (9, 2)]  # TF's START, CHECKPOINT, STOP
    assert (logs[1][1].checkpoint_path, logs[1][1].msg) == ("/ckpt/model-5", "saved")


def test_a_restart_logged_with_start_makes_tensorboard_drop_the_orphaned_steps(tmp_path):
    # A run that crashed after step 20 and restarted from its step-10 checkpoint: TensorBoard keeps steps
    # below the START's step from before it, then the restarted run's own.
    loss = tf.placeholder(tf.float32, [])
    summary = tf.summary.scalar("loss", loss)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        for step in (0, 10, 20):
            writer.add_summary(sess.run(summary, {loss: 1.0}), step)
        writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), global_step=10)
        for step in (10, 20):
            writer.add_summary(sess.run(summary, {loss: 2.0}), step)
    kept = [(s.step, s.value) for s in _accumulator(tmp_path).Scalars("loss")]
    assert kept == [(0, 1.0), (10, 2.0), (20, 2.0)]


def test_run_metadata_of_a_traced_step_round_trips(tmp_path):
    x = tf.placeholder(tf.float32, [3], name="x")
    with tf.name_scope("model"):
        y = tf.reduce_sum(tf.square(x, name="squared"), name="total")
    meta = tf.RunMetadata()
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path), sess.graph) as writer:
        sess.run(y, {x: np.ones(3, np.float32)}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=meta)
        writer.add_run_metadata(meta, "step 3", global_step=3)
        with pytest.raises(ValueError, match="'step 3' was already used"):
            writer.add_run_metadata(meta, "step 3", global_step=4)
        path = writer.event_file
    [tagged] = [e for e in _events(path) if e.HasField("tagged_run_metadata")]
    assert (tagged.step, tagged.tagged_run_metadata.tag) == (3, "step 3")
    acc = _accumulator(tmp_path)
    assert acc.Tags()["run_metadata"] == ["step 3"]
    traced = {n.node_name for d in acc.RunMetadata("step 3").step_stats.dev_stats for n in d.node_stats}
    assert {"model/squared", "model/total"} <= traced
    # The per-op times attach to the graph written beside them: every traced node is one of its nodes.
    assert traced <= {n.name for n in acc.Graph().node}


def test_wrong_types_name_what_was_given(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(TypeError, match="expected a SessionLog, got dict"):
            writer.add_session_log({"status": 1})
        with pytest.raises(TypeError, match="expected a RunMetadata, got str"):
            writer.add_run_metadata("meta", "step 1")
        with pytest.raises(TypeError, match="tag must be a str, got int"):
            writer.add_run_metadata(tf.RunMetadata(), 1)


def test_tensorflow_session_log_and_run_metadata_are_accepted(tfr, tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_session_log(tfr.SessionLog(status=tfr.SessionLog.CHECKPOINT, checkpoint_path="c-1"), 1)
        writer.add_run_metadata(tfr.RunMetadata(), "tf step", 2)
        path = writer.event_file
    events = _events(path)
    assert [e.session_log.checkpoint_path for e in events if e.HasField("session_log")] == ["c-1"]
    assert [e.tagged_run_metadata.tag for e in events if e.HasField("tagged_run_metadata")] == ["tf step"]


def test_file_writer_cache_shares_one_writer_per_logdir(tmp_path):
    tf.constant(1.0, name="c")
    first = tf.summary.FileWriterCache.get(str(tmp_path / "a"))
    assert tf.summary.FileWriterCache.get(str(tmp_path / "a")) is first
    assert tf.summary.FileWriterCache.get(str(tmp_path / "b")) is not first
    first.add_session_log(tf.SessionLog(status=tf.SessionLog.START), 0)
    tf.summary.FileWriterCache.clear()
    # Cleared: the writer was closed (its events are on disk, the default graph first) and a new one is made.
    kinds = [e.WhichOneof("what") for e in _events(first.event_file)]
    assert kinds == ["file_version", "graph_def", "session_log"]
    assert tf.summary.FileWriterCache.get(str(tmp_path / "a")) is not first
