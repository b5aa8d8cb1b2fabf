"""Against TensorFlow (the reference): the same summaries built in both give the same names, tags and values,
and TF's own reader reads our event files. Skipped where TensorFlow is not installed."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.proto import summary_pb2

RNG = np.random.default_rng(11)
VALUES = RNG.normal(0.5, 2.0, size=(6, 5)).astype(np.float32)
SIGNED_IMAGES = RNG.uniform(-3.0, 2.0, (2, 4, 6, 3)).astype(np.float32)
UINT8_IMAGES = RNG.integers(0, 256, (3, 5, 4, 1), np.uint8)
TEXT = ["alpha", "**beta**"]


def _build(lib):
    """The same summaries in either library; returns the merged op and the op names."""
    with lib.name_scope("train"):
        lib.summary.scalar("loss", lib.reduce_mean(lib.constant(VALUES)))
        lib.summary.scalar("loss", lib.constant(2.5))
    lib.summary.histogram("weights", lib.constant(VALUES), family="layer")
    lib.summary.image("signed", lib.constant(SIGNED_IMAGES), max_outputs=3)
    lib.summary.image("digits", lib.constant(UINT8_IMAGES), max_outputs=1)
    lib.summary.text("notes", lib.constant(TEXT))
    merged = lib.summary.merge_all()
    names = [t.op.name for t in lib.get_collection(lib.GraphKeys.SUMMARIES)] + [merged.op.name]
    return merged, names


def _ours():
    with tf.Graph().as_default():
        merged, names = _build(tf)
        with tf.Session() as sess:
            return summary_pb2.Summary.FromString(sess.run(merged)), names


def _theirs(tfr):
    with tfr.Graph().as_default():
        merged, names = _build(tfr)
        with tfr.Session() as sess:
            return summary_pb2.Summary.FromString(sess.run(merged)), names


def _pixels(value):
    image_mod = pytest.importorskip("PIL.Image")
    return np.asarray(image_mod.open(io.BytesIO(value.image.encoded_image_string)))


def test_same_op_names_tags_and_values_as_tensorflow(tfr):
    ours, our_names = _ours()
    theirs, their_names = _theirs(tfr)
    assert our_names == their_names
    assert [v.tag for v in ours.value] == [v.tag for v in theirs.value]
    for mine, ref in zip(ours.value, theirs.value):
        kind = mine.WhichOneof("value")
        assert kind == ref.WhichOneof("value"), mine.tag
        if kind == "simple_value":
            assert mine.simple_value == pytest.approx(ref.simple_value, rel=1e-6)
        elif kind == "histo":
            assert list(mine.histo.bucket_limit) == list(ref.histo.bucket_limit)
            assert list(mine.histo.bucket) == list(ref.histo.bucket)
            assert (mine.histo.min, mine.histo.max, mine.histo.num) == (ref.histo.min, ref.histo.max, ref.histo.num)
            assert mine.histo.sum == pytest.approx(ref.histo.sum)
        elif kind == "image":
            assert (mine.image.height, mine.image.width, mine.image.colorspace) == (
                ref.image.height, ref.image.width, ref.image.colorspace)
            np.testing.assert_array_equal(_pixels(mine), _pixels(ref))
        else:
            assert mine.tensor.string_val == ref.tensor.string_val
            assert mine.metadata.plugin_data.plugin_name == ref.metadata.plugin_data.plugin_name


def test_tensorflow_reads_our_event_files(tfr, tmp_path):
    ours, _ = _ours()
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(ours, global_step=4)
        writer.add_graph(tf.Graph())
        path = writer.event_file
    events = list(tfr.train.summary_iterator(path))
    assert [e.WhichOneof("what") for e in events] == ["file_version", "summary", "graph_def"]
    assert events[0].file_version == "brain.Event:2" and events[1].step == 4
    assert [v.tag for v in events[1].summary.value] == [v.tag for v in ours.value]
