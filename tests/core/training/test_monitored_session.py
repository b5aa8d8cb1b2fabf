"""MonitoredTrainingSession and its hooks: the training loop, checkpoints, stopping, restoring, hook order."""

import logging
import os

import numpy as np
import pytest

import tensorflux as tf


def _model(m):
    step = m.train.get_or_create_global_step()
    w = m.Variable(1.0, name="w")
    loss = m.square(w - 3.0)
    m.summary.scalar("loss", loss)
    train = m.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return step, w, loss, train


def _train(m, checkpoint_dir, steps, **kwargs):
    step, w, loss, train = _model(m)
    with m.train.MonitoredTrainingSession(checkpoint_dir=checkpoint_dir, save_checkpoint_steps=2,
                                          hooks=[m.train.StopAtStepHook(last_step=steps)], **kwargs) as sess:
        runs = 0
        while not sess.should_stop():
            sess.run(train)
            runs += 1
    return runs


def test_training_loop_matches_tensorflow(tfr, tmp_path):
    ours = _train(tf, str(tmp_path / "ours"), 5)
    with tfr.Graph().as_default():
        theirs = _train(tfr, str(tmp_path / "theirs"), 5)
    assert ours == theirs == 5
    for name in ("ours", "theirs"):
        state = tf.train.get_checkpoint_state(str(tmp_path / name))
        assert state.model_checkpoint_path.endswith("model.ckpt-5")
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "ours"))
    assert tf.train.load_variable(str(tmp_path / "ours"), "global_step") == 5


def test_restores_latest_checkpoint_and_continues(tmp_path):
    _train(tf, str(tmp_path), 3)
    tf.reset_default_graph()
    step, w, _, train = _model(tf)
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path),
                                           hooks=[tf.train.StopAtStepHook(num_steps=2)]) as sess:
        assert sess.run(step) == 3
        while not sess.should_stop():
            sess.run(train)
        assert sess.run(step) == 5


class _Recorder(tf.train.SessionRunHook):
    def __init__(self, calls, tensor):
        self.calls, self.tensor = calls, tensor

    def begin(self):
        self.calls.append("begin")

    def after_create_session(self, session, coord):
        self.calls.append("after_create_session")

    def before_run(self, run_context):
        self.calls.append("before_run")
        assert run_context.original_args.fetches is not None
        return tf.train.SessionRunArgs({"v": self.tensor})

    def after_run(self, run_context, run_values):
        self.calls.append(("after_run", float(run_values.results["v"])))
        run_context.request_stop()

    def end(self, session):
        self.calls.append("end")


def test_hooks_are_called_in_order_with_their_fetches():
    step = tf.train.get_or_create_global_step()
    calls = []
    with tf.train.MonitoredSession(hooks=[_Recorder(calls, tf.constant(4.0))]) as sess:
        assert sess.run(step) == 0
        assert sess.should_stop()
    assert calls == ["begin", "after_create_session", "before_run", ("after_run", 4.0), "end"]


def test_logging_and_nan_hooks(caplog):
    x = tf.Variable(1.0, name="x")
    bump = tf.assign_add(x, 1.0)
    nan = tf.constant(np.nan)
    hooks = [tf.train.LoggingTensorHook({"x": x}, every_n_iter=2),
             tf.train.LoggingTensorHook([x], at_end=True, formatter=lambda v: f"final {v['x:0']}")]
    with caplog.at_level(logging.INFO, logger="tensorflux"):
        with tf.train.SingularMonitoredSession(hooks=hooks) as sess:
            for _ in range(4):
                sess.run(bump)
            assert sess.raw_session().run(x) == 5.0
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("x = ") for m in messages) == 2 and "final 5.0" in messages
    tf.reset_default_graph()
    nan = tf.constant(np.nan)
    with pytest.raises(tf.train.NanLossDuringTrainingError):
        with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(nan)]) as sess:
            sess.run(nan)


def test_hooks_need_a_global_step_and_one_stop_rule():
    with pytest.raises(ValueError, match="Exactly one of num_steps or last_step"):
        tf.train.StopAtStepHook()
    tf.Variable(1.0)
    with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook"):
        tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=1)])


def test_out_of_range_ends_the_session_quietly():
    step = tf.train.get_or_create_global_step()
    def exhausted():
        raise StopIteration

    stop = tf.py_func(exhausted, [], tf.int64)
    with tf.train.MonitoredSession() as sess:
        sess.run(step)
        sess.run(stop)
    assert sess.should_stop()


def test_broadcast_global_variables_hook_works_as_a_hook():
    tf.distribute.init()
    step = tf.train.get_or_create_global_step()
    v = tf.Variable(2.0)
    with tf.train.MonitoredTrainingSession(hooks=[tf.distribute.BroadcastGlobalVariablesHook(0)]) as sess:
        assert sess.run(v) == 2.0 and sess.run(step) == 0


def test_logging_tensor_hook_logs_a_dict_sorted_by_tag_with_str_values(caplog):
    # As TF 1.15: tags sorted whatever the dict order, values as "%s" prints them, so a float32 loss
    # reads 0.22009486 and not its float64 widening 0.22009485960006714.
    step = tf.train.get_or_create_global_step()
    loss = tf.constant(0.22009486, tf.float32)
    with caplog.at_level(logging.INFO, logger="tensorflux"):
        with tf.train.SingularMonitoredSession(hooks=[tf.train.LoggingTensorHook({"step": step, "loss": loss},
                                                                                 every_n_iter=1)]) as sess:
            sess.run(loss)
    line = next(r.getMessage() for r in caplog.records if "loss = " in r.getMessage())
    assert line == f"loss = {np.float32(0.22009486)!s}, step = 0"
