"""``tf.io``: TFRecord files (``TFRecordWriter``, ``tf_record_iterator``, ``TFRecordOptions``), as TF 1.15.

Example:
    >>> import os, tempfile, tensorflux as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")
    >>> with tf.io.TFRecordWriter(path) as writer:
    ...     writer.write(b"one")
    >>> list(tf.io.tf_record_iterator(path))
    [b'one']
"""

from ._internal.tfrecord import (
    TFRecordCompressionType as TFRecordCompressionType,
    TFRecordOptions as TFRecordOptions,
    TFRecordWriter as TFRecordWriter,
    tf_record_iterator as tf_record_iterator,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
