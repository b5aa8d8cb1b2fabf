"""Summary ops as TF 1.15 builds them (names, tags, collections) and what their cpu kernels produce."""

import io

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.proto import summary_pb2


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def _run(summary, feed=None):
    with tf.Session() as sess:
        return summary_pb2.Summary.FromString(sess.run(summary, feed))


def test_names_tags_and_collections_follow_tf():
    with tf.name_scope("train"):
        a = tf.summary.scalar("loss", tf.constant(1.0))
        b = tf.summary.scalar("loss", tf.constant(2.0))
    c = tf.summary.scalar("acc", tf.constant(0.5), family="eval")
    d = tf.summary.scalar("my loss!", tf.constant(0.5))
    private = tf.summary.scalar("hidden", tf.constant(0.0), collections=["mine"])
    assert [s.op.name for s in (a, b, c, d)] == ["train/loss", "train/loss_1", "eval/acc", "my_loss_"]
    tags = [_run(s).value[0].tag for s in (a, b, c, d)]
    assert tags == ["train/loss", "train/loss_1", "eval/eval/acc", "my_loss_"]
    assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [a, b, c, d]
    assert tf.get_collection("mine") == [private]
    assert a.dtype == tf.string and a.shape.as_list() == []


def test_scalar_values_and_dtypes():
    for dtype in (tf.float64, tf.int32, tf.float16):
        tf.summary.scalar(f"v_{dtype.name}", tf.constant(3, dtype))
    x = tf.placeholder(tf.float32, [])
    s = tf.summary.scalar("fed", x)
    assert _run(s, {x: 0.125}).value[0].simple_value == 0.125
    values = {v.tag: v.simple_value for v in _run(tf.summary.merge_all(), {x: 1.0}).value}
    assert values == {"v_float64": 3.0, "v_int32": 3.0, "v_float16": 3.0, "fed": 1.0}


def test_scalar_refuses_non_scalars_and_strings():
    with pytest.raises(ValueError, match=r"tf.summary.scalar 'loss': expected a scalar tensor, got 'Const:0'"):
        tf.summary.scalar("loss", tf.constant([1.0, 2.0]))
    with pytest.raises((TypeError, ValueError), match="string"):
        tf.summary.scalar("name", tf.constant("text"))


def test_scalar_of_an_unknown_shape_fails_at_run_time_naming_the_op():
    x = tf.placeholder(tf.float32)
    s = tf.summary.scalar("loss", x)
    with pytest.raises(tf.errors.OpError, match=r"(?s)loss.*not the same shape: \[\] != \[2\]"):
        _run(s, {x: [1.0, 2.0]})


def test_histogram_of_a_fed_tensor():
    x = tf.placeholder(tf.float32, [None, 3])
    h = tf.summary.histogram("acts", x, family="layer")
    values = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    (value,) = _run(h, {x: values}).value
    assert value.tag == "layer/layer/acts" and h.op.type == "HistogramSummary"
    assert value.histo.num == values.size and value.histo.max == values.astype(np.float64).max()


def test_histogram_of_nan_fails_naming_the_op():
    x = tf.placeholder(tf.float32, [2])
    h = tf.summary.histogram("weights", x)
    with pytest.raises(tf.errors.OpError, match="(?s)weights.*Nan in summary histogram"):
        _run(h, {x: [1.0, np.nan]})


def _decode(value):
    image_mod = pytest.importorskip("PIL.Image")
    return np.asarray(image_mod.open(io.BytesIO(value.image.encoded_image_string)))


def test_image_float_normalization_and_bad_color():
    rng = np.random.default_rng(1)
    signed = rng.uniform(-2.0, 1.0, (2, 3, 4, 3)).astype(np.float32)
    signed[1, 0, 0, 1] = np.inf
    s = tf.summary.image("img", tf.constant(signed), max_outputs=5)
    values = _run(s).value
    assert [v.tag for v in values] == ["img/image/0", "img/image/1"]
    assert [(v.image.height, v.image.width, v.image.colorspace) for v in values] == [(3, 4, 3)] * 2
    for i, v in enumerate(values):
        img = signed[i]
        finite = np.isfinite(img).all(axis=-1)
        scale = np.float32(127.0 / np.abs(img[finite]).max())
        expected = (np.where(np.isfinite(img), img, 0) * scale + np.float32(128.0)).astype(np.uint8)
        expected[~finite] = [255, 0, 0]
        np.testing.assert_array_equal(_decode(v), expected)


def test_image_shape_is_checked_at_build_time():
    with pytest.raises(ValueError, match=r"4-D.*1, 3 or 4 channels, got \(2, 3, 3, 2\)|4-D.*\[2, 3, 3, 2\]"):
        tf.summary.image("img", tf.zeros([2, 3, 3, 2]))


def test_text_keeps_shape_and_needs_strings():
    t = tf.summary.text("notes", tf.constant([["a", "b"], ["c", "d"]]))
    (value,) = _run(t).value
    assert value.metadata.plugin_data.plugin_name == "text"
    assert value.tensor.string_val == [b"a", b"b", b"c", b"d"]
    assert [d.size for d in value.tensor.tensor_shape.dim] == [2, 2]
    with pytest.raises(ValueError, match="Expected tensor Const_1:0 to have dtype string, got float32"):
        tf.summary.text("bad", tf.constant(1.0))


def test_merge_and_merge_all():
    assert tf.summary.merge_all() is None
    a = tf.summary.scalar("a", tf.constant(1.0))
    b = tf.summary.histogram("b", tf.constant([1.0, 2.0]))
    merged = tf.summary.merge_all()
    assert merged.op.name == "Merge/MergeSummary" and merged not in tf.get_collection(tf.GraphKeys.SUMMARIES)
    assert [v.tag for v in _run(merged).value] == ["a", "b"]
    assert [v.tag for v in _run(tf.summary.merge([b, a], name="both")).value] == ["b", "a"]
    assert tf.summary.merge_all(scope="a").op.inputs[0] is a


def test_merge_refuses_duplicate_tags_and_non_strings():
    a = tf.summary.scalar("a", tf.constant(1.0))
    with pytest.raises(tf.errors.OpError, match="Duplicate tag a found in summary inputs"):
        _run(tf.summary.merge([a, a]))
    with pytest.raises(TypeError, match="tf.summary.merge: input 'Const_1:0' must be a serialized Summary"):
        tf.summary.merge([a, tf.constant(1.0)])


def test_summaries_are_not_differentiable():
    from tensorflux.extend import get_op_def

    for op_type in ("ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummaryV2", "TensorSummaryV2",
                    "MergeSummary"):
        assert get_op_def(op_type).differentiable is False
