"""``tf.summary.FileWriter``: appends Events to a TensorBoard event file in a log directory.

Events are written as they are added into a buffered file, which a background thread flushes every
``flush_secs`` (and ``flush()``/``close()`` flush at once), so TensorBoard sees a training run as it
goes without one disk write per step.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
import weakref
from typing import Any, BinaryIO

from ...proto import event_pb2, summary_pb2
from ..graph import Graph
from ..serialization.graph_def import graph_to_graph_def
from .records import write_record

FILE_VERSION = "brain.Event:2"


def _flush_every(ref: weakref.ref, stop: threading.Event, flush_secs: float) -> None:
    # Holds the writer only weakly, so an abandoned writer is still collected (and its file closed).
    while not stop.wait(flush_secs):
        writer = ref()
        if writer is None:
            return
        writer.flush()
        del writer


def _close_file(stream: BinaryIO, stop: threading.Event) -> None:
    stop.set()
    stream.close()


def _as_message(value: Any, cls: type, where: str, what: str) -> Any:
    """``value`` as our ``cls``: ours as is, another library's message of that name (TF's) through its bytes."""
    if isinstance(value, cls):
        return value
    if type(value).__name__ != cls.__name__ or not hasattr(value, "SerializeToString"):
        raise TypeError(f"FileWriter.{where}: expected {what}, got {type(value).__name__}")
    return cls.FromString(value.SerializeToString())


class EventFileWriter:
    """Writes Event protos to a new ``events.out.tfevents.<time>.<hostname><suffix>`` file in ``logdir``.

    Example:
        >>> import tempfile
        >>> from tensorflux.proto import event_pb2
        >>> w = EventFileWriter(tempfile.mkdtemp())
        >>> w.add_event(event_pb2.Event(wall_time=1.0, step=3))
        >>> w.close()
    """

    def __init__(self, logdir: str | os.PathLike, flush_secs: float = 120, filename_suffix: str = "") -> None:
        if flush_secs <= 0:
            raise ValueError(f"FileWriter: flush_secs must be positive, got {flush_secs}")
        self._logdir = os.fspath(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        self._lock = threading.Lock()
        self._stream, self.path = self._create(filename_suffix or "")
        self._stop = threading.Event()
        self._finalizer = weakref.finalize(self, _close_file, self._stream, self._stop)
        self.add_event(event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION))
        self.flush()
        threading.Thread(target=_flush_every, args=(weakref.ref(self), self._stop, flush_secs),
                         name=f"FileWriter flusher for {self._logdir}", daemon=True).start()

    def _create(self, suffix: str) -> tuple[BinaryIO, str]:
        stamp = int(time.time())
        while True:
            path = os.path.join(self._logdir, f"events.out.tfevents.{stamp:010d}.{socket.gethostname()}{suffix}")
            try:
                return open(path, "xb"), path  # noqa: SIM115 - closed by close() or the finalizer
            except FileExistsError:
                # Another writer opened this second: a later stamp keeps both files, in the order TensorBoard reads.
                stamp += 1

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return not self._finalizer.alive

    def add_event(self, event: Any) -> None:
        """Append one Event (ours or any message with the same wire format).

        Example:
            >>> import tempfile
            >>> from tensorflux.proto import event_pb2
            >>> w = EventFileWriter(tempfile.mkdtemp())
            >>> w.add_event(event_pb2.Event(step=1))
            >>> w.close()
        """
        data = event.SerializeToString()
        with self._lock:
            if self.closed:
                raise ValueError(f"EventFileWriter for {self.path} is closed; cannot add an event")
            write_record(self._stream, data)

    def flush(self) -> None:
        """Write buffered events to disk. Example: ``writer.flush()``."""
        with self._lock:
            if not self.closed:
                self._stream.flush()

    def close(self) -> None:
        """Flush and close the file; later calls do nothing. Example: ``writer.close()``."""
        with self._lock:
            self._finalizer()


class FileWriter:
    """Writes summaries and graphs for TensorBoard to an event file in ``logdir`` (TF 1.x's ``tf.summary.FileWriter``).

    ``max_queue`` is accepted for TF's positional order and ignored: events go straight to a buffered
    file flushed every ``flush_secs`` seconds. ``session`` (TF's writer-resource mode) is not supported.

    Example:
        >>> import tempfile
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> loss = tf.summary.scalar("loss", tf.constant(0.5))
        >>> with tf.summary.FileWriter(tempfile.mkdtemp(), tf.get_default_graph()) as writer, tf.Session() as sess:
        ...     writer.add_summary(sess.run(loss), global_step=1)
    """

    def __init__(self, logdir: str | os.PathLike, graph: Graph | None = None, max_queue: int = 10,
                 flush_secs: float = 120, graph_def: Any = None, filename_suffix: str | None = None,
                 session: Any = None) -> None:
        if session is not None:
            raise NotImplementedError("FileWriter(session=...) writes through TF's summary-writer resource ops, "
                                      "which tensorflux does not have; leave session out")
        self._logdir = os.fspath(logdir)
        self._flush_secs = flush_secs
        self._suffix = filename_suffix or ""
        self._writer = EventFileWriter(self._logdir, flush_secs, self._suffix)
        self._seen_summary_tags: set[str] = set()
        self._run_metadata_tags: set[str] = set()
        self._warned_closed = False
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def get_logdir(self) -> str:
        """The directory this writer writes to. Example: ``tf.summary.FileWriter("/tmp/run").get_logdir()``."""
        return self._logdir

    @property
    def event_file(self) -> str:
        """The path of the current event file. Example: ``os.path.basename(writer.event_file)``."""
        return self._writer.path

    def _usable(self) -> bool:
        if not self._writer.closed:
            return True
        if not self._warned_closed:
            # TF 1.x makes writes to a closed writer no-ops, with one warning, until reopen().
            warnings.warn(f"FileWriter for {self._logdir} is closed; events are dropped until reopen()",
                          stacklevel=3)
            self._warned_closed = True
        return False

    def add_event(self, event: Any) -> None:
        """Append an Event proto as is.

        Example:
            >>> import tempfile, time
            >>> import tensorflux as tf
            >>> with tf.summary.FileWriter(tempfile.mkdtemp()) as w:
            ...     w.add_event(tf.summary.Event(wall_time=time.time(), step=2))
        """
        if self._usable():
            self._writer.add_event(event)

    def _add_event(self, event: event_pb2.Event, global_step: int | None) -> None:
        event.wall_time = time.time()
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    def add_summary(self, summary: Any, global_step: int | None = None) -> None:
        """Write a Summary: the serialized bytes ``sess.run`` returns for a summary op, or a Summary proto.

        A tag's SummaryMetadata is written with its first value only, as TF does, to save space.

        Example:
            >>> import tempfile
            >>> import tensorflux as tf
            >>> tf.reset_default_graph()
            >>> s = tf.summary.scalar("loss", tf.constant(1.5))
            >>> with tf.summary.FileWriter(tempfile.mkdtemp()) as w, tf.Session() as sess:
            ...     w.add_summary(sess.run(s), global_step=10)
        """
        parsed = summary_pb2.Summary()
        raw = summary.item() if hasattr(summary, "item") and not isinstance(summary, bytes) else summary
        if isinstance(raw, (bytes, bytearray)):
            data = bytes(raw)
        elif hasattr(raw, "SerializeToString"):
            data = raw.SerializeToString()
        else:
            raise TypeError(f"FileWriter.add_summary: expected a serialized Summary (bytes) or a Summary proto, "
                            f"got {type(summary).__name__}")
        try:
            parsed.ParseFromString(data)
        except Exception:  # protobuf's DecodeError is not exported under one stable name
            raise ValueError("FileWriter.add_summary: the bytes given are not a serialized Summary") from None
        for value in parsed.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
            else:
                self._seen_summary_tags.add(value.tag)
        self._add_event(event_pb2.Event(summary=parsed), global_step)

    def add_graph(self, graph: Graph | None, global_step: int | None = None, graph_def: Any = None) -> None:
        """Write ``graph`` (with each op's output shapes) for TensorBoard's Graphs tab; or a GraphDef as is.

        Example:
            >>> import tempfile
            >>> import tensorflux as tf
            >>> g = tf.Graph()
            >>> with g.as_default(), tf.name_scope("layer"):
            ...     _ = tf.constant(1.0, name="w")
            >>> with tf.summary.FileWriter(tempfile.mkdtemp()) as w:
            ...     w.add_graph(g)
        """
        if graph is not None and graph_def is not None:
            raise ValueError("FileWriter.add_graph: give a graph or a graph_def, not both")
        if isinstance(graph, Graph):
            data = graph_to_graph_def(graph, add_shapes=True).SerializeToString()
        elif graph is not None or graph_def is not None:
            # TF accepts a GraphDef in the graph position too.
            source = graph if graph is not None else graph_def
            if not hasattr(source, "SerializeToString"):
                raise TypeError(f"FileWriter.add_graph: expected a tf.Graph or a GraphDef, got {type(source).__name__}")
            data = source.SerializeToString()
        else:
            raise ValueError("FileWriter.add_graph: give a graph or a graph_def")
        self._add_event(event_pb2.Event(graph_def=data), global_step)

    def add_meta_graph(self, meta_graph_def: Any, global_step: int | None = None) -> None:
        """Write a MetaGraphDef (e.g. from ``tf.train.export_meta_graph()``).

        Example:
            >>> import tempfile
            >>> import tensorflux as tf
            >>> with tf.summary.FileWriter(tempfile.mkdtemp()) as w:
            ...     w.add_meta_graph(tf.train.export_meta_graph())
        """
        if not hasattr(meta_graph_def, "SerializeToString"):
            raise TypeError(f"FileWriter.add_meta_graph: expected a MetaGraphDef, got {type(meta_graph_def).__name__}")
        self._add_event(event_pb2.Event(meta_graph_def=meta_graph_def.SerializeToString()), global_step)

    def add_session_log(self, session_log: Any, global_step: int | None = None) -> None:
        """Write a ``tf.SessionLog``: START (TensorBoard then drops the events of a crashed run after this
        step), STOP, or CHECKPOINT with its ``checkpoint_path``.

        Example:
            >>> import tempfile
            >>> import tensorflux as tf
            >>> with tf.summary.FileWriter(tempfile.mkdtemp()) as w:
            ...     w.add_session_log(tf.SessionLog(status=tf.SessionLog.START), global_step=0)
        """
        self._add_event(event_pb2.Event(session_log=_as_message(session_log, event_pb2.SessionLog,
                                                                "add_session_log", "a SessionLog")), global_step)

    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: int | None = None) -> None:
        """Write a traced step's ``tf.RunMetadata`` under ``tag``; TensorBoard's Graphs tab shows its per-op
        times on the graph. A tag may be used once per writer.

        Example:
            >>> import tempfile
            >>> import tensorflux as tf
            >>> tf.reset_default_graph()
            >>> y = tf.constant(2.0) * 3.0
            >>> meta = tf.RunMetadata()
            >>> with tf.Session() as sess, tf.summary.FileWriter(tempfile.mkdtemp(), sess.graph) as w:
            ...     _ = sess.run(y, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
            ...     w.add_run_metadata(meta, "step 1", global_step=1)
        """
        if not isinstance(tag, str):
            raise TypeError(f"FileWriter.add_run_metadata: tag must be a str, got {type(tag).__name__}")
        if tag in self._run_metadata_tags:
            raise ValueError(f"FileWriter.add_run_metadata: the tag {tag!r} was already used for run metadata in "
                             f"this writer; give each step its own tag")
        if not hasattr(run_metadata, "SerializeToString"):
            raise TypeError(f"FileWriter.add_run_metadata: expected a RunMetadata, got {type(run_metadata).__name__}")
        self._run_metadata_tags.add(tag)
        # Kept serialized, as TF does: TensorBoard parses it only when the step is picked in the Graphs tab.
        tagged = event_pb2.TaggedRunMetadata(tag=tag, run_metadata=run_metadata.SerializeToString())
        self._add_event(event_pb2.Event(tagged_run_metadata=tagged), global_step)

    def flush(self) -> None:
        """Write every added event to disk now. Example: ``writer.flush()``."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; :meth:`reopen` starts a new one. Example: ``writer.close()``."""
        self._writer.close()

    def reopen(self) -> None:
        """Start a new event file in the same directory after :meth:`close`. Example: ``writer.reopen()``."""
        if self._writer.closed:
            self._writer = EventFileWriter(self._logdir, self._flush_secs, self._suffix)
            self._warned_closed = False

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
