"""FileWriter's event files read back with TensorBoard's own loaders: scalars, histograms, images, text, graph."""

import io
import os
import socket
import time
import warnings

import numpy as np
import pytest

import tensorflux as tf

ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                         reason="tensorboard is not installed; pip install tensorboard")
from tensorboard.backend.event_processing import event_file_loader  # noqa: E402


def _accumulator(logdir):
    acc = ea.EventAccumulator(str(logdir), size_guidance={ea.TENSORS: 0, ea.SCALARS: 0, ea.IMAGES: 0,
                                                          ea.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def _events(path):
    return list(event_file_loader.LegacyEventFileLoader(str(path)).Load())


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def test_event_file_name_and_version_record(tmp_path):
    before = int(time.time())
    with tf.summary.FileWriter(str(tmp_path / "run"), filename_suffix=".v2") as writer:
        path = writer.event_file
    name = os.path.basename(path)
    prefix, stamp, rest = name[:len("events.out.tfevents.")], name[20:30], name[31:]
    assert prefix == "events.out.tfevents." and before <= int(stamp) <= int(time.time())
    assert rest == socket.gethostname() + ".v2" and writer.get_logdir() == str(tmp_path / "run")
    (first,) = _events(path)
    assert first.file_version == "brain.Event:2" and first.wall_time >= before


def test_two_writers_in_one_second_get_two_files(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as a, tf.summary.FileWriter(str(tmp_path)) as b:
        assert a.event_file != b.event_file
    assert len(os.listdir(tmp_path)) == 2


def test_scalars_round_trip_with_steps(tmp_path):
    x = tf.placeholder(tf.float32, [None])
    loss = tf.summary.scalar("loss", tf.reduce_mean(tf.square(x)))
    feeds = [np.random.default_rng(i).normal(size=5).astype(np.float32) for i in range(4)]
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        for step, value in enumerate(feeds):
            writer.add_summary(sess.run(loss, {x: value}), global_step=step * 10)
    scalars = _accumulator(tmp_path).Scalars("loss")
    assert [s.step for s in scalars] == [0, 10, 20, 30]
    np.testing.assert_allclose([s.value for s in scalars], [np.mean(v ** 2) for v in feeds], rtol=1e-6)


def test_histograms_round_trip(tmp_path):
    values = np.random.default_rng(3).normal(2.0, 3.0, size=500)
    with tf.name_scope("layer1"):
        w = tf.constant(values, name="w")
        h = tf.summary.histogram("weights", w)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(sess.run(h), global_step=7)
    (event,) = _accumulator(tmp_path).Histograms("layer1/weights")
    histo = event.histogram_value
    assert event.step == 7 and histo.num == values.size and sum(histo.bucket) == values.size
    assert (histo.min, histo.max) == (values.min(), values.max())
    assert histo.sum == pytest.approx(values.sum()) and histo.sum_squares == pytest.approx((values ** 2).sum())
    assert list(histo.bucket_limit) == sorted(histo.bucket_limit)


def test_images_round_trip(tmp_path):
    image_mod = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (3, 6, 8, 3), np.uint8)
    floats = rng.uniform(0.0, 4.0, (1, 5, 5, 1)).astype(np.float32)
    tf.summary.image("rgb", tf.constant(pixels), max_outputs=2)
    tf.summary.image("gray", tf.constant(floats), max_outputs=1)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(sess.run(tf.summary.merge_all()), global_step=1)
    acc = _accumulator(tmp_path)
    assert sorted(acc.Tags()["images"]) == ["gray/image", "rgb/image/0", "rgb/image/1"]
    for i in range(2):
        (img,) = acc.Images(f"rgb/image/{i}")
        assert (img.height, img.width) == pixels.shape[1:3]
        np.testing.assert_array_equal(np.asarray(image_mod.open(io.BytesIO(img.encoded_image_string))), pixels[i])
    (gray,) = acc.Images("gray/image")
    decoded = np.asarray(image_mod.open(io.BytesIO(gray.encoded_image_string)))
    # Non-negative floats scale by 255 / max, truncated, as TF 1.x's image summary does.
    np.testing.assert_array_equal(decoded, (floats[0, :, :, 0] * np.float32(255.0 / floats.max())).astype(np.uint8))


def test_text_round_trips_as_a_text_plugin_tensor(tmp_path):
    lines = ["first **bold** line", "second line", "ünïcode"]
    tf.summary.text("notes", tf.constant(lines))
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(sess.run(tf.summary.merge_all()), global_step=2)
    acc = _accumulator(tmp_path)
    (event,) = acc.Tensors("notes")
    assert [s.decode() for s in event.tensor_proto.string_val] == lines
    assert [d.size for d in event.tensor_proto.tensor_shape.dim] == [len(lines)]
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"


def test_graph_with_name_scopes_round_trips(tmp_path):
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    with tf.name_scope("hidden"):
        w = tf.Variable(tf.zeros([4, 2]), name="weights")
        y = tf.matmul(x, w)
    with tf.name_scope("loss"):
        tf.reduce_mean(y, name="mean")
    graph = tf.get_default_graph()
    with tf.summary.FileWriter(str(tmp_path), graph):
        pass
    loaded = _accumulator(tmp_path).Graph()
    assert [(n.name, n.op) for n in loaded.node] == [(op.name, op.type) for op in graph.get_operations()]
    shapes = {n.name: n.attr["_output_shapes"].list.shape for n in loaded.node}
    assert [d.size for d in shapes[y.op.name][0].dim] == [-1, 2]


def test_summary_protos_are_accepted_and_metadata_is_written_once(tmp_path):
    tf.summary.text("note", tf.constant("hello"))
    merged = tf.summary.merge_all()
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(tf.summary.Summary.FromString(sess.run(merged)), global_step=0)
        writer.add_summary(sess.run(merged), global_step=1)
        writer.add_summary(tf.summary.Summary(value=[tf.summary.Summary.Value(tag="lr", simple_value=0.5)]), 2)
        path = writer.event_file
    summaries = [e.summary for e in _events(path) if e.HasField("summary")]
    assert [v.HasField("metadata") for s in summaries[:2] for v in s.value] == [True, False]
    assert _accumulator(tmp_path).Scalars("lr")[0].value == 0.5


def test_closed_writer_warns_once_drops_and_reopens(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.close()
    with pytest.warns(UserWarning, match="closed"):
        writer.add_event(tf.summary.Event(step=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        writer.add_event(tf.summary.Event(step=2))
    assert len(_events(writer.event_file)) == 1
    writer.reopen()
    writer.add_event(tf.summary.Event(step=3))
    writer.close()
    assert [e.step for e in _events(writer.event_file)] == [0, 3]


def test_background_flush_every_flush_secs(tmp_path):
    with tf.summary.FileWriter(str(tmp_path), flush_secs=0.1) as writer:
        size = os.path.getsize(writer.event_file)
        writer.add_event(tf.summary.Event(step=1, wall_time=time.time()))
        deadline = time.time() + 5
        while os.path.getsize(writer.event_file) == size and time.time() < deadline:
            time.sleep(0.05)
        assert os.path.getsize(writer.event_file) > size


def test_bad_arguments_name_what_was_given(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(TypeError, match="got int"):
            writer.add_summary(3)
        with pytest.raises(ValueError, match="not a serialized Summary"):
            writer.add_summary(b"\xff\xff\xff")
        with pytest.raises(TypeError, match="got str"):
            writer.add_graph("graph")
    with pytest.raises(ValueError, match="flush_secs must be positive, got 0"):
        tf.summary.FileWriter(str(tmp_path), flush_secs=0)
