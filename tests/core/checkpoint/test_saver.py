"""tf.train.Saver: save/restore through the session, step-numbered prefixes, max_to_keep and clear errors."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

import tensorflux as tf


def make_vars():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="layer/w")
    n = tf.Variable(7, name="count")
    return w, n


def test_save_then_restore_into_a_fresh_session(tmp_path):
    w, n = make_vars()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([w.assign(w * 2.0), n.assign(9)])
        want = sess.run([w, n])
        prefix = saver.save(sess, str(tmp_path / "model"))
    assert prefix == str(tmp_path / "model")
    assert os.path.exists(prefix + ".meta") and os.path.exists(tmp_path / "checkpoint")
    with tf.Session() as sess:
        saver.restore(sess, prefix)
        got = sess.run([w, n])
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1] == want[1]


@pytest.mark.parametrize("kind", ["int", "variable", "tensor"])
def test_global_step_names_the_checkpoint(tmp_path, kind):
    make_vars()
    step = tf.Variable(41, name="global_step", trainable=False)
    inc = tf.assign_add(step, 1)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(inc)
        global_step = {"int": 42, "variable": step, "tensor": tf.identity(step)}[kind]
        prefix = saver.save(sess, str(tmp_path / "ckpt"), global_step=global_step)
    assert prefix == str(tmp_path / "ckpt-42")
    assert os.path.exists(prefix + ".meta")


def test_pad_step_number(tmp_path):
    make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = tf.train.Saver(pad_step_number=True).save(sess, str(tmp_path / "m"), global_step=5)
    assert prefix.endswith("m-00000005")


def test_max_to_keep_deletes_older_checkpoints_and_updates_the_state_file(tmp_path):
    w, _ = make_vars()
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(4):
            sess.run(w.assign_add(tf.ones([2, 3])))
            saver.save(sess, str(tmp_path / "model"), global_step=step)
    kept = [str(tmp_path / "model-2"), str(tmp_path / "model-3")]
    assert saver.last_checkpoints == kept
    assert sorted(f.split(".")[0] for f in os.listdir(tmp_path) if f != "checkpoint") == ["model-2"] * 3 + ["model-3"] * 3
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == kept[-1]
    assert list(state.all_model_checkpoint_paths) == kept
    assert tf.train.latest_checkpoint(str(tmp_path)) == kept[-1]


def test_max_to_keep_zero_keeps_everything(tmp_path):
    make_vars()
    saver = tf.train.Saver(max_to_keep=0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert all(tf.train.checkpoint_exists(str(tmp_path / f"model-{s}")) for s in range(3))


def test_saving_the_same_prefix_again_replaces_it(tmp_path):
    w, _ = make_vars()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, str(tmp_path / "model"))
        sess.run(w.assign(tf.zeros([2, 3])))
        saver.save(sess, str(tmp_path / "model"))
    assert saver.last_checkpoints == [str(tmp_path / "model")]
    assert len([f for f in os.listdir(tmp_path) if ".data-" in f]) == 1
    np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path / "model"), "layer/w"), np.zeros((2, 3)))


def test_var_list_as_dict_renames_and_as_list_restricts(tmp_path):
    w, n = make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver({"renamed": w}).save(sess, str(tmp_path / "a"))
        tf.train.Saver([n]).save(sess, str(tmp_path / "b"))
    assert tf.train.list_variables(str(tmp_path / "a")) == [("renamed", [2, 3])]
    assert tf.train.list_variables(str(tmp_path / "b")) == [("count", [])]


@pytest.mark.parametrize("fmt", ["native", "npz"])
def test_each_format_round_trips_and_restore_detects_it(tmp_path, fmt):
    w, n = make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        want = sess.run([w, n])
        prefix = tf.train.Saver(format=fmt).save(sess, str(tmp_path / "model"))
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, prefix)  # a saver configured for native still reads npz
        got = sess.run([w, n])
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1] == want[1]
    assert tf.train.NewCheckpointReader(prefix).format_name == fmt


def test_write_meta_graph_and_write_state_can_be_turned_off(tmp_path):
    make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = tf.train.Saver().save(sess, str(tmp_path / "m"), write_meta_graph=False, write_state=False)
    assert not os.path.exists(prefix + ".meta") and not os.path.exists(tmp_path / "checkpoint")
    assert tf.train.checkpoint_exists(prefix)


def test_recover_last_checkpoints_adopts_existing_ones(tmp_path):
    make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = tf.train.Saver()
        for step in range(2):
            first.save(sess, str(tmp_path / "m"), global_step=step)
        second = tf.train.Saver(max_to_keep=2)
        second.recover_last_checkpoints(tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths)
        second.save(sess, str(tmp_path / "m"), global_step=2)
    assert not tf.train.checkpoint_exists(str(tmp_path / "m-0"))
    assert second.last_checkpoints == [str(tmp_path / "m-1"), str(tmp_path / "m-2")]


def test_keep_checkpoint_every_n_hours_keeps_old_files_on_disk(tmp_path):
    make_vars()
    saver = tf.train.Saver(max_to_keep=1, keep_checkpoint_every_n_hours=1e-9)  # every checkpoint is "an hour" old
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert saver.last_checkpoints == [str(tmp_path / "model-2")]
    assert all(tf.train.checkpoint_exists(str(tmp_path / f"model-{s}")) for s in range(3))


@pytest.mark.parametrize("keep", [0, None])
def test_max_to_keep_zero_or_none_keeps_all_and_records_none_as_tf_does(tmp_path, keep):
    make_vars()
    saver = tf.train.Saver(max_to_keep=keep)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert all(tf.train.checkpoint_exists(str(tmp_path / f"model-{s}")) for s in range(3))
    assert saver.last_checkpoints == []
    assert list(tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths) == [str(tmp_path / "model-2")]


@pytest.mark.parametrize("keep", [-1, -5])
def test_negative_max_to_keep_is_refused_before_anything_is_written(tmp_path, keep):
    make_vars()
    with pytest.raises(ValueError, match=rf"max_to_keep must be None or 0 .* or a positive int .*, got {keep}"):
        tf.train.Saver(max_to_keep=keep)
    from tensorflux.proto import saver_pb2

    with pytest.raises(ValueError, match=rf"saver_def.max_to_keep must be .*, got {keep}"):
        tf.train.Saver(saver_def=saver_pb2.SaverDef(max_to_keep=keep))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("keep", [2.5, "3", True])
def test_max_to_keep_that_is_not_an_int_is_a_type_error_as_in_tf(keep):
    make_vars()
    with pytest.raises(TypeError, match=rf"max_to_keep must be an int or None, got {type(keep).__name__} "):
        tf.train.Saver(max_to_keep=keep)


def test_a_saver_does_not_delete_a_checkpoint_another_saver_saved_over(tmp_path):
    """Two savers of one folder reach the same step: the older one's max_to_keep must not delete the newer save."""
    w, _ = make_vars()
    ours, theirs = tf.train.Saver(max_to_keep=1), tf.train.Saver(max_to_keep=1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        ours.save(sess, str(tmp_path / "model"), global_step=1)
        sess.run(w.assign(tf.fill([2, 3], 5.0)))
        theirs.save(sess, str(tmp_path / "model"), global_step=1)  # saved over: model-1 is now theirs
        ours.save(sess, str(tmp_path / "model"), global_step=2)  # would push model-1 out of ours' list
    assert theirs.last_checkpoints == [str(tmp_path / "model-1")]
    np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path / "model-1"), "layer/w"), np.full((2, 3), 5.0))
    assert ours.last_checkpoints == [str(tmp_path / "model-2")]


def test_a_saver_still_deletes_its_own_old_checkpoints_after_a_failed_save(tmp_path):
    """A save that raises releases its locks: the next save, and its deletions, proceed."""
    w, n = make_vars()
    saver = tf.train.Saver([w, n], max_to_keep=1, format="npz")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, str(tmp_path / "model"), global_step=1)
        with pytest.raises(ValueError, match="is reserved by the npz format"):
            tf.train.Saver({"__tensorflux_dtypes__": w}, format="npz").save(sess, str(tmp_path / "model"),
                                                                          global_step=2)
        saver.save(sess, str(tmp_path / "model"), global_step=3)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model-3.meta", "model-3.npz"]


# -- errors --------------------------------------------------------------------------------
def test_restore_of_a_missing_variable_names_it_and_the_checkpoint(tmp_path):
    make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = tf.train.Saver().save(sess, str(tmp_path / "m"))
    extra = tf.Variable(1.0, name="extra")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.NotFoundError, match=r"Key extra not found in checkpoint '.*m' \(tf_bundle format\)"):
            tf.train.Saver().restore(sess, prefix)
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(extra)  # nothing was loaded


def test_restore_shape_and_dtype_mismatch_name_the_variable_and_file(tmp_path):
    make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = tf.train.Saver().save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        tf.Variable(tf.zeros([3, 2]), name="layer/w")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"variable 'layer/w:0' .* shape \[3, 2\], but checkpoint '.*m' .* shape \[2, 3\]"):
                tf.train.Saver().restore(sess, prefix)
    with tf.Graph().as_default():
        tf.Variable(0.0, name="count")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"variable 'count:0' .* dtype float32, but checkpoint .* stores int32"):
                tf.train.Saver().restore(sess, prefix)


def test_restore_of_something_that_is_not_a_checkpoint(tmp_path):
    make_vars()
    with tf.Session() as sess:
        with pytest.raises(ValueError, match=r"not a valid checkpoint: No checkpoint found at '.*nothing'"):
            tf.train.Saver().restore(sess, str(tmp_path / "nothing"))
        with pytest.raises(ValueError, match="save_path is None"):
            tf.train.Saver().restore(sess, None)


def test_saving_an_uninitialized_variable_names_it(tmp_path):
    make_vars()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="layer/w"):
            tf.train.Saver().save(sess, str(tmp_path / "m"))
    assert not os.listdir(tmp_path)


def test_constructor_errors():
    with pytest.raises(ValueError, match="no variables to save"):
        tf.train.Saver()
    assert tf.train.Saver(allow_empty=True).last_checkpoints == []
    make_vars()
    with pytest.raises(tf.errors.NotFoundError, match="No checkpoint format named 'hdf9'.*known: native, npz"):
        tf.train.Saver(format="hdf9")
    with pytest.raises(TypeError, match=r"var_list entry 'x' is a Tensor, expected a tf.Variable"):
        tf.train.Saver({"x": tf.constant(1.0)})
    with pytest.raises(TypeError, match="must be a list or dict"):
        tf.train.Saver(var_list="layer/w")


def test_variables_from_another_graph_are_refused(tmp_path):
    make_vars()
    saver = tf.train.Saver()
    with tf.Session(graph=tf.Graph()) as sess:
        with pytest.raises(ValueError, match="variable 'layer/w:0' is not in the session's graph"):
            saver.save(sess, str(tmp_path / "m"))


def test_restore_logs_the_checkpoint_it_reads_as_tf_does(tmp_path, caplog):
    make_vars()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "model"))
        with caplog.at_level(logging.INFO, logger="tensorflux"):
            saver.restore(sess, prefix)
    assert [r.getMessage() for r in caplog.records] == [f"Restoring parameters from {prefix}"]
