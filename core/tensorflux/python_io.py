"""``tf.python_io``: TF 1.x's older home of the TFRecord writer and reader (the same objects as ``tf.io``'s).

Example:
    >>> import tensorflux as tf
    >>> tf.python_io.TFRecordWriter is tf.io.TFRecordWriter
    True
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
