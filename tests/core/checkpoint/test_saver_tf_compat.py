"""Saver's max_to_keep against TensorFlow's own ``tf.compat.v1.train.Saver`` (the reference).

The same saves run through both: which checkpoints stay on disk, ``last_checkpoints`` and the state
file's list must agree for every value TF accepts and handles sanely; values TF rejects raise
TypeError in both. Skipped, with the reason, where TensorFlow is not installed.
"""

from __future__ import annotations

import os

import pytest

import tensorflux as tf

STEPS = 4


def saves(api, directory, max_to_keep):
    """Save STEPS step-numbered checkpoints with ``api``'s Saver; return what a user can observe afterwards."""
    with api.Graph().as_default():
        v = api.Variable(1.0, name="v")
        saver = api.train.Saver([v], max_to_keep=max_to_keep)
        with api.Session() as sess:
            sess.run(v.initializer)
            for step in range(STEPS):
                saver.save(sess, os.path.join(directory, "model"), global_step=step)
    state = api.train.get_checkpoint_state(directory)
    return {
        "on disk": [s for s in range(STEPS) if os.path.exists(os.path.join(directory, f"model-{s}.index"))],
        "last_checkpoints": [os.path.basename(p) for p in saver.last_checkpoints],
        "state lists": [os.path.basename(p) for p in state.all_model_checkpoint_paths],
        "state names": os.path.basename(state.model_checkpoint_path),
    }


@pytest.mark.parametrize("max_to_keep", [None, 0, 1, 2, STEPS, STEPS + 3])
def test_kept_checkpoints_match_tf(tfr, tmp_path, max_to_keep):
    ours = saves(tf, str(tmp_path / "ours"), max_to_keep)
    theirs = saves(tfr, str(tmp_path / "tf"), max_to_keep)
    assert ours == theirs


@pytest.mark.parametrize("max_to_keep", [2.5, "3", True, False])
def test_values_tf_rejects_are_type_errors_here_too(tfr, max_to_keep):
    with tfr.Graph().as_default():
        v = tfr.Variable(1.0, name="v")
        with pytest.raises(TypeError):
            tfr.train.Saver([v], max_to_keep=max_to_keep)
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        with pytest.raises(TypeError, match="max_to_keep must be an int or None"):
            tf.train.Saver([v], max_to_keep=max_to_keep)


def test_negative_max_to_keep_destroys_every_checkpoint_in_tf_so_it_is_refused_here(tfr, tmp_path):
    theirs = saves(tfr, str(tmp_path), -1)
    assert theirs["on disk"] == [] and theirs["last_checkpoints"] == []  # TF deleted each save right after writing it
    assert not tfr.train.checkpoint_exists(os.path.join(str(tmp_path), theirs["state names"]))
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        with pytest.raises(ValueError, match="got -1; TF's Saver accepts a negative value but then deletes"):
            tf.train.Saver([v], max_to_keep=-1)
