"""The `checkpoint` state file: TF's text format, latest_checkpoint and get_checkpoint_state."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import tensorflux as tf


def save_steps(directory, steps, **saver_kwargs):
    v = tf.Variable(np.zeros(2, np.float32), name="v")
    saver = tf.train.Saver(**saver_kwargs)
    with tf.Session() as sess:
        sess.run(v.initializer)
        for step in steps:
            sess.run(v.assign([step, step]))
            saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=step)
    return saver


def test_state_file_is_tensorflow_text_format(tmp_path):
    save_steps(str(tmp_path), [1, 2])
    text = (tmp_path / "checkpoint").read_text()
    lines = text.splitlines()
    assert lines[0] == f'model_checkpoint_path: "{tmp_path}/model.ckpt-2"'
    assert lines[1:3] == [f'all_model_checkpoint_paths: "{tmp_path}/model.ckpt-{s}"' for s in (1, 2)]


def test_relative_paths_resolve_against_the_folder(tmp_path):
    save_steps(str(tmp_path), [1, 2], save_relative_paths=True)
    assert 'model_checkpoint_path: "model.ckpt-2"' in (tmp_path / "checkpoint").read_text()
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    os.rename(tmp_path, moved)
    assert tf.train.latest_checkpoint(str(moved)) == os.path.join(str(moved), "model.ckpt-2")
    np.testing.assert_array_equal(tf.train.load_variable(str(moved), "v"), [2, 2])


def test_tensorflow_written_state_text_is_read(tmp_path):
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-9"\nall_model_checkpoint_paths: "model.ckpt-9"\n'
        "all_model_checkpoint_timestamps: 1.5\nlast_preserved_timestamp: 1.0\n")
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == str(tmp_path / "model.ckpt-9")
    assert list(state.all_model_checkpoint_timestamps) == [1.5]


def test_missing_corrupt_or_dangling_state(tmp_path):
    assert tf.train.get_checkpoint_state(str(tmp_path)) is None
    assert tf.train.latest_checkpoint(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_text("this is { not a checkpoint state")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tf.train.get_checkpoint_state(str(tmp_path)) is None
    assert "checkpoint state file" in str(caught[0].message) and str(tmp_path) in str(caught[0].message)
    tf.train.update_checkpoint_state(str(tmp_path), str(tmp_path / "gone-1"))
    with pytest.warns(UserWarning, match="gone-1', whose files do not exist"):
        assert tf.train.latest_checkpoint(str(tmp_path)) is None


def test_custom_latest_filename(tmp_path):
    v = tf.Variable(1.0, name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        tf.train.Saver().save(sess, str(tmp_path / "m"), latest_filename="best")
        with pytest.raises(ValueError, match="latest_filename must be a file name"):
            tf.train.Saver().save(sess, str(tmp_path / "m"), latest_filename="sub/best")
    assert tf.train.latest_checkpoint(str(tmp_path), "best") == str(tmp_path / "m")
    assert tf.train.latest_checkpoint(str(tmp_path)) is None


def test_crafted_state_files_warn_and_give_none(tmp_path):
    # Issue 20: nothing a state file holds escapes get_checkpoint_state as anything but a warning and None.
    for text in [b"model_checkpoint_path: " + b"{" * 5000, b"\xff\xfe"]:
        (tmp_path / "checkpoint").write_bytes(text)
        with pytest.warns(UserWarning, match="checkpoint state file"):
            assert tf.train.get_checkpoint_state(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_bytes(b'model_checkpoint_path: "a\\000b"')
    with pytest.warns(UserWarning, match="whose files do not exist"):
        assert tf.train.latest_checkpoint(str(tmp_path)) is None
