"""Inspecting checkpoints: NewCheckpointReader, list_variables, load_variable."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf


@pytest.fixture(params=["native", "npz"])
def prefix(request, tmp_path):
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="dense/w")
    s = tf.Variable(4, name="step")
    with tf.Session() as sess:
        sess.run([w.initializer, s.initializer])
        return tf.train.Saver(format=request.param).save(sess, str(tmp_path / "model"), global_step=4)


def test_reader_methods(prefix):
    reader = tf.train.NewCheckpointReader(prefix)
    assert reader.get_variable_to_shape_map() == {"dense/w": [3, 2], "step": []}
    assert reader.get_variable_to_dtype_map() == {"dense/w": tf.float32, "step": tf.int32}
    assert reader.has_tensor("step") and not reader.has_tensor("nope")
    np.testing.assert_array_equal(reader.get_tensor("dense/w"), np.arange(6).reshape(3, 2))
    assert reader.get_tensor("step") == 4
    assert b"dense/w (float32) [3, 2]" in reader.debug_string()
    with pytest.raises(tf.errors.NotFoundError, match=r"Key nope not found in checkpoint '.*model-4'; it holds: dense/w"):
        reader.get_tensor("nope")


def test_list_and_load_accept_a_prefix_or_a_folder(prefix, tmp_path):
    for where in (prefix, str(tmp_path)):
        assert tf.train.list_variables(where) == [("dense/w", [3, 2]), ("step", [])]
        assert tf.train.load_variable(where, "step:0") == 4
    assert isinstance(tf.train.load_checkpoint(str(tmp_path)), tf.train.CheckpointReader)


def test_reader_errors_name_the_path(tmp_path):
    with pytest.raises(tf.errors.NotFoundError, match=r"No checkpoint found at '.*missing'.*native, npz"):
        tf.train.NewCheckpointReader(str(tmp_path / "missing"))
    (tmp_path / "tfmodel.index").write_bytes(b"\x00" * 16)
    (tmp_path / "tfmodel.data-00000-of-00001").write_bytes(b"\x00" * 16)
    with pytest.raises(tf.errors.NotFoundError, match="looks like a TensorFlow checkpoint"):
        tf.train.NewCheckpointReader(str(tmp_path / "tfmodel"))
    with pytest.raises(ValueError, match="Couldn't find a 'checkpoint' state file"):
        tf.train.list_variables(str(tmp_path))
