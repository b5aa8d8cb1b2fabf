"""TensorBoard summaries (``tf.summary``): summary ops, ``merge``/``merge_all`` and ``FileWriter``.

Summary ops produce a serialized ``Summary`` proto; run them and pass the result to
``FileWriter.add_summary``. ``FileWriter`` also writes the graph, a traced step's ``RunMetadata``
(``add_run_metadata``) and ``SessionLog`` events (``add_session_log``). The files are standard TensorBoard event files:
``tensorboard --logdir DIR`` shows them.

Example:
    >>> import tempfile
    >>> import tensorflux as tf
    >>> tf.reset_default_graph()
    >>> x = tf.placeholder(tf.float32, [None])
    >>> _ = tf.summary.scalar("mean", tf.reduce_mean(x))
    >>> _ = tf.summary.histogram("values", x)
    >>> merged = tf.summary.merge_all()
    >>> with tf.Session() as sess, tf.summary.FileWriter(tempfile.mkdtemp(), sess.graph) as writer:
    ...     writer.add_summary(sess.run(merged, {x: [1.0, 2.0, 4.0]}), global_step=0)
"""

from ._internal.ops.summary_ops import (
    audio as audio,
    histogram as histogram,
    image as image,
    merge as merge,
    merge_all as merge_all,
    scalar as scalar,
    tensor_summary as tensor_summary,
    text as text,
)
from ._internal.summary.writer import FileWriter as FileWriter
from ._internal.summary.writer_cache import FileWriterCache as FileWriterCache
from .proto.event_pb2 import Event as Event, SessionLog as SessionLog, TaggedRunMetadata as TaggedRunMetadata
from .proto.summary_pb2 import (
    HistogramProto as HistogramProto,
    Summary as Summary,
    SummaryMetadata as SummaryMetadata,
)
