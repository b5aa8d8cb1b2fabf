"""``tf.data``: input pipelines that feed the graph without ``feed_dict`` (TF 1.15's ``tf.compat.v1.data``).

Example:
    >>> import tensorflux as tf
    >>> it = tf.data.make_one_shot_iterator(tf.data.Dataset.range(4).batch(2))
    >>> nxt = it.get_next()
    >>> with tf.Session() as sess:
    ...     sess.run(nxt).tolist()
    [0, 1]
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ._internal.data.dataset import Dataset as Dataset, DatasetV1 as DatasetV1
from ._internal.data.iterator import Iterator as Iterator
from ._internal.data.readers import TextLineDataset as TextLineDataset, TFRecordDataset as TFRecordDataset
from ._internal.data.transforms import AUTOTUNE as AUTOTUNE

experimental = SimpleNamespace(AUTOTUNE=AUTOTUNE)


def make_one_shot_iterator(dataset: Dataset) -> Iterator:
    """``dataset.make_one_shot_iterator()``, as ``tf.compat.v1.data.make_one_shot_iterator(dataset)`` spells it."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset: Dataset, shared_name: str | None = None) -> Iterator:
    """``dataset.make_initializable_iterator()``, as ``tf.compat.v1.data`` spells it."""
    return dataset.make_initializable_iterator(shared_name)


def get_output_types(dataset_or_iterator: Any) -> Any:
    """The component dtypes of a dataset or iterator, nested like its elements."""
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator: Any) -> Any:
    """The component static shapes of a dataset or iterator, nested like its elements."""
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator: Any) -> Any:
    """The component classes (``tf.Tensor``) of a dataset or iterator, nested like its elements."""
    return dataset_or_iterator.output_classes
