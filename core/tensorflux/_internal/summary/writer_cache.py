"""``tf.summary.FileWriterCache``: one shared FileWriter per log directory, as hooks and estimators use."""

from __future__ import annotations

import os
import threading

from ..graph import get_default_graph
from .writer import FileWriter


class FileWriterCache:
    """One FileWriter per ``logdir``, made on first :meth:`get` with the default graph, closed by :meth:`clear`.

    Example:
        >>> import tempfile
        >>> import tensorflux as tf
        >>> logdir = tempfile.mkdtemp()
        >>> tf.summary.FileWriterCache.get(logdir) is tf.summary.FileWriterCache.get(logdir)
        True
        >>> tf.summary.FileWriterCache.clear()
    """

    _writers: dict[str, FileWriter] = {}
    _lock = threading.RLock()

    @staticmethod
    def get(logdir: str | os.PathLike) -> FileWriter:
        """The cached FileWriter for ``logdir``; the first call makes it, writing the default graph.

        Example:
            >>> import tempfile
            >>> import tensorflux as tf
            >>> tf.summary.FileWriterCache.get(tempfile.mkdtemp()).get_logdir() != ""
            True
        """
        key = os.fspath(logdir)
        with FileWriterCache._lock:
            writer = FileWriterCache._writers.get(key)
            if writer is None:
                writer = FileWriterCache._writers[key] = FileWriter(key, graph=get_default_graph())
            return writer

    @staticmethod
    def clear() -> None:
        """Close every cached FileWriter and forget them. Example: ``tf.summary.FileWriterCache.clear()``."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._writers.values():
                writer.close()
            FileWriterCache._writers.clear()
