"""MetaGraphDef export/import: collections of tensors, ops, variables and plain values survive the round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.serialization.meta_graph import CollectionWarning
from tensorflux.proto import variable_pb2


def build():
    images = tf.placeholder(tf.float32, [None, 2], name="images")
    labels = tf.placeholder(tf.int32, [None], name="labels")
    with tf.name_scope("linear"):
        w = tf.Variable(np.array([[1.0, -1.0], [0.5, 2.0]], np.float32), name="weights")
        b = tf.Variable(np.zeros(2, np.float32), name="biases")
        logits = tf.add(tf.matmul(images, w), b, name="logits")
    step = tf.Variable(0, name="global_step", trainable=False)
    tf.add_to_collection(tf.GraphKeys.GLOBAL_STEP, step)
    train = tf.group(tf.assign_add(step, 1), name="train")
    tf.add_to_collection("logits", logits)
    tf.add_to_collection("images", images)
    tf.add_to_collection("labels", labels)
    tf.add_to_collection("train_op", train)
    tf.add_to_collection("sizes", 3)
    tf.add_to_collection("sizes", 4)
    tf.add_to_collection("rates", 0.5)
    tf.add_to_collection("names", "alpha")
    tf.add_to_collection("watched", w)
    return w, b, step


@pytest.mark.parametrize("as_text", [False, True], ids=["binary", "text"])
def test_collections_survive_the_round_trip(tmp_path, as_text):
    build()
    path = str(tmp_path / "model.meta")
    tf.train.export_meta_graph(path, as_text=as_text)
    with tf.Graph().as_default() as g:
        tf.train.import_meta_graph(path)
        assert [t.name for t in tf.get_collection("logits")] == ["linear/logits:0"]
        assert [t.name for t in tf.get_collection("images")] == ["images:0"]
        assert [t.name for t in tf.get_collection("labels")] == ["labels:0"]
        assert [op.name for op in tf.get_collection("train_op")] == ["train"]
        assert tf.get_collection("sizes") == [3, 4]
        assert tf.get_collection("rates") == [0.5]
        assert tf.get_collection("names") == [b"alpha"]
        gvars = tf.global_variables()
        assert [v.name for v in gvars] == ["linear/weights:0", "linear/biases:0", "global_step:0"]
        assert [v.name for v in tf.trainable_variables()] == ["linear/weights:0", "linear/biases:0"]
        assert tf.trainable_variables()[0] is gvars[0]
        assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP)[0] is gvars[2]
        assert tf.get_collection("watched")[0] is gvars[0]
        assert all(v.graph is g for v in gvars)


def test_imported_variables_initialize_assign_and_read():
    build()
    mg = tf.train.export_meta_graph()
    with tf.Graph().as_default():
        tf.train.import_meta_graph(mg)
        w, b, step = tf.global_variables()
        assert w.initializer.name == "linear/weights/Assign" and w.value().name == "linear/weights/read:0"
        assert not step.trainable and w.shape == [2, 2] and step.dtype is tf.int32
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            feed = np.array([[1.0, 2.0]], np.float32)
            want = feed @ np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
            np.testing.assert_allclose(sess.run(tf.get_collection("logits")[0], {"images:0": feed}), want)
            sess.run(tf.get_collection("train_op")[0])
            assert sess.run(step) == 1
            sess.run(w.assign(tf.zeros([2, 2])))
            assert sess.run(tf.reduce_sum(w)) == 0


def test_variable_collections_use_tensorflow_variable_defs():
    w, _, _ = build()
    mg = tf.train.export_meta_graph()
    raw = mg.collection_def["trainable_variables"].bytes_list.value[0]
    vdef = variable_pb2.VariableDef.FromString(raw)
    assert (vdef.variable_name, vdef.initializer_name, vdef.snapshot_name) == (
        "linear/weights:0", "linear/weights/Assign", "linear/weights/read:0")
    assert vdef.initial_value_name == w.initial_value.name and vdef.trainable
    assert list(mg.collection_def["watched"].node_list.value) == ["linear/weights:0"]


def test_import_scope_prefixes_names_and_keeps_checkpoint_keys():
    build()
    mg = tf.train.export_meta_graph()
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(mg, import_scope="copy")
        assert [v.name for v in tf.global_variables()][0] == "copy/linear/weights:0"
        assert sorted(saver._var_list) == ["global_step", "linear/biases", "linear/weights"]


def test_collection_list_limits_the_export():
    build()
    mg = tf.train.export_meta_graph(collection_list=["logits"])
    assert list(mg.collection_def) == ["logits"]


def test_mixed_or_unserializable_collections_warn_and_are_skipped():
    tf.add_to_collection("mixed", tf.constant(1.0))
    tf.add_to_collection("mixed", 3)
    tf.add_to_collection("objects", object())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mg = tf.train.export_meta_graph()
    messages = sorted(str(w.message) for w in caught if issubclass(w.category, CollectionWarning))
    assert "mixed" not in mg.collection_def and "objects" not in mg.collection_def
    assert "collection 'mixed' was not exported" in messages[0]
    assert "collection 'objects' was not exported" in messages[1]


def test_no_variables_means_no_saver_and_saver_def_is_recorded():
    tf.constant(1.0, name="c")
    assert tf.train.import_meta_graph(tf.train.export_meta_graph(), import_scope="x") is None
    tf.reset_default_graph()
    tf.Variable(1.0)
    saver = tf.train.Saver(max_to_keep=3)
    mg = saver.export_meta_graph()
    assert mg.saver_def.max_to_keep == 3
    with tf.Graph().as_default():
        assert tf.train.import_meta_graph(mg)._max_to_keep == 3


def test_unreadable_meta_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.meta"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(tf.errors.DataLossError, match="broken.meta' is not a valid binary MetaGraphDef"):
        tf.train.import_meta_graph(str(bad))
    with pytest.raises(FileNotFoundError, match="missing.meta' does not exist"):
        tf.train.import_meta_graph(str(tmp_path / "missing.meta"))


def test_collection_naming_a_missing_node_is_a_clear_error():
    build()
    mg = tf.train.export_meta_graph()
    mg.collection_def["logits"].node_list.value.append("ghost:0")
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="collection 'logits' names 'ghost:0', which is not in the graph"):
            tf.train.import_meta_graph(mg)
