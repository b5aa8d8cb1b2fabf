"""File datasets: ``tf.data.TextLineDataset`` (lines) and ``tf.data.TFRecordDataset`` (records), string scalars.

``filenames`` is a string, a list of them or a string tensor (a placeholder works with an initializable
iterator); files are read in order, each when its turn comes. Compression is '' , 'ZLIB' or 'GZIP'.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator

import numpy as np

from .. import dtypes
from ..errors import NotFoundError
from ..op_builder import convert_to_tensor
from ..shapes import TensorShape
from ..tfrecord import compression_name, open_compressed, read_records
from .base import Environment, Node
from .dataset import Dataset, _count
from .per_element import interleave


def _filenames_tensor(filenames: Any, who: str) -> Any:
    tensor = convert_to_tensor(filenames, dtype=dtypes.string, name="filenames")
    if tensor.shape.rank not in (None, 0, 1):
        raise ValueError(f"{who}: filenames must be a string scalar or vector, got shape {tensor.shape}")
    return tensor


def _as_paths(value: Any) -> list[str]:
    names = np.asarray(value, dtype=object).reshape(-1)
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _lines(path: str, compression: str) -> Iterator[bytes]:
    if not os.path.exists(path):
        raise NotFoundError(f"{path}; No such file or directory")
    with open_compressed(path, compression) as stream:
        for line in stream:
            # As TF's reader: the newline goes, and a carriage return before it (Windows line ends).
            line = line[:-1] if line.endswith(b"\n") else line
            yield line[:-1] if line.endswith(b"\r") else line


class _FileRecords(Node):
    def __init__(self, filenames: Any, compression_type: Any, read: Callable, who: str,
                 parallel_reads: Any = None) -> None:
        self.filenames = _filenames_tensor(filenames, who)
        self.compression = compression_name(compression_type)
        super().__init__(dtypes.string, TensorShape([]), captures=(self.filenames, parallel_reads))
        self._read, self.parallel_reads = read, parallel_reads

    def elements(self, env: Environment) -> Iterator[tuple]:
        paths = _as_paths(env.value(self.filenames))
        files = (self._records(path) for path in paths)
        parallel = None if self.parallel_reads is None else env.count(self.parallel_reads, "num_parallel_reads")
        if parallel is None or parallel <= 1:
            return (element for f in files for element in f)
        return interleave(files, parallel, 1)  # TF reads that many files at once, one record from each in turn

    def _records(self, path: str) -> Iterator[tuple]:
        for record in self._read(path, self.compression):
            yield (np.asarray(record, dtype=object),)


class TextLineNode(_FileRecords):
    name = "TextLineDataset"

    def __init__(self, filenames: Any, compression_type: Any = None) -> None:
        super().__init__(filenames, compression_type, _lines, "TextLineDataset")


class TFRecordNode(_FileRecords):
    name = "TFRecordDataset"

    def __init__(self, filenames: Any, compression_type: Any = None, num_parallel_reads: Any = None) -> None:
        super().__init__(filenames, compression_type, read_records, "TFRecordDataset",
                         None if num_parallel_reads is None else _count(num_parallel_reads))


class TextLineDataset(Dataset):
    """The lines of text files, without their line ends, as string scalars.

    ``buffer_size`` is accepted and has no effect.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("first\\nsecond\\n")
        >>> nxt = tf.data.TextLineDataset(path).make_one_shot_iterator().get_next()
        >>> with tf.Session() as sess:
        ...     sess.run(nxt), sess.run(nxt)
        (b'first', b'second')
    """

    def __init__(self, filenames: Any, compression_type: Any = None, buffer_size: Any = None) -> None:
        del buffer_size
        super().__init__(TextLineNode(filenames, compression_type))


class TFRecordDataset(Dataset):
    """The records of TFRecord files as string scalars (each checked against its CRCs: a damaged one is a
    ``DataLossError``); ``num_parallel_reads`` files are read at once, a record from each in turn.

    ``buffer_size`` is accepted and has no effect.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> path = os.path.join(tempfile.mkdtemp(), "r.tfrecord")
        >>> with tf.io.TFRecordWriter(path) as writer:
        ...     writer.write(b"record")
        >>> nxt = tf.data.TFRecordDataset([path]).make_one_shot_iterator().get_next()
        >>> tf.Session().run(nxt)
        b'record'
    """

    def __init__(self, filenames: Any, compression_type: Any = None, buffer_size: Any = None,
                 num_parallel_reads: Any = None) -> None:
        del buffer_size
        super().__init__(TFRecordNode(filenames, compression_type, num_parallel_reads))
