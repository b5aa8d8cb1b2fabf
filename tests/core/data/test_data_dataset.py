"""The Dataset handle: its spec properties, repr, apply, and the errors a graph-mode user meets."""

import pytest

import tensorflux as tf


def test_spec_properties_and_repr():
    ds = tf.data.Dataset.range(4).batch(2, drop_remainder=True)
    assert ds.output_types is tf.int64 and ds.output_shapes == tf.TensorShape([2])
    assert ds.output_classes is tf.Tensor and repr(ds) == "<BatchDataset shapes: (2,), types: tf.int64>"


def test_apply_passes_the_dataset_and_wants_one_back():
    assert tf.data.Dataset.range(4).apply(lambda d: d.take(1)).output_types is tf.int64
    with pytest.raises(TypeError, match="must return a Dataset"):
        tf.data.Dataset.range(4).apply(lambda d: 3)


def test_a_dataset_is_not_iterable_in_graph_mode():
    with pytest.raises(RuntimeError, match="make_one_shot_iterator"):
        iter(tf.data.Dataset.range(2))


def test_zip_refuses_what_is_not_a_dataset():
    with pytest.raises(TypeError, match="tuple or dict of datasets, got int"):
        tf.data.Dataset.zip((tf.data.Dataset.range(2), 3))
