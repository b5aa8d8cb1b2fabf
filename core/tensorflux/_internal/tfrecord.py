"""TFRecord files: ``tf.io.TFRecordWriter``, ``tf.io.tf_record_iterator`` and their options, as TF 1.15.

A record is framed as TensorBoard's event files are (``summary/records.py``, whose CRC-32C this reuses): a
little-endian uint64 length, the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data. A
file may be compressed whole with ZLIB or GZIP. Reading checks both checksums; a damaged or truncated record is
a ``DataLossError`` naming the file and the offset.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from typing import IO, Any, Iterator

from .errors import DataLossError, InvalidArgumentError, NotFoundError
from .summary.records import encode_record, masked_crc32c


class TFRecordCompressionType:
    """The compression kinds of a TFRecord file (TF's enum values).

    Example:
        >>> import tensorflux as tf
        >>> tf.io.TFRecordCompressionType.GZIP
        2
    """

    NONE = 0
    ZLIB = 1
    GZIP = 2


_NAMES = {TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
          TFRecordCompressionType.GZIP: "GZIP"}


class TFRecordOptions:
    """How a TFRecord file is written or read: ``compression_type`` '' (or None), 'ZLIB' or 'GZIP' (or the enum).

    ``compression_level`` sets the zlib level (default 6, as TF); the buffer sizes and ``flush_mode`` are
    accepted and have no effect.

    Example:
        >>> import tensorflux as tf
        >>> tf.io.TFRecordOptions("GZIP").compression_type
        'GZIP'
    """

    compression_type_map = dict(_NAMES)

    def __init__(self, compression_type: Any = None, flush_mode: Any = None, input_buffer_size: Any = None,
                 output_buffer_size: Any = None, window_bits: Any = None, compression_level: Any = None,
                 compression_method: Any = None, mem_level: Any = None, compression_strategy: Any = None) -> None:
        del flush_mode, input_buffer_size, output_buffer_size, compression_method, mem_level, compression_strategy
        self.compression_type = compression_name(compression_type)
        self.compression_level = 6 if compression_level is None else int(compression_level)
        self.window_bits = window_bits

    @classmethod
    def get_compression_type_string(cls, options: Any) -> str:
        """The compression of ``options`` (TFRecordOptions, a name, an enum value or None) as its name."""
        return compression_name(options)


def compression_name(value: Any) -> str:
    """'' , 'ZLIB' or 'GZIP' for any way TF lets one name a compression.

    Example:
        >>> compression_name(None), compression_name(2), compression_name("zlib")
        ('', 'GZIP', 'ZLIB')
    """
    if isinstance(value, TFRecordOptions):
        return value.compression_type
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, int):
        if value not in _NAMES:
            raise ValueError(f"TFRecord: unknown compression type {value}; expected one of {sorted(_NAMES)}")
        return _NAMES[value]
    name = str(value).upper()
    if name not in ("", "ZLIB", "GZIP"):
        raise ValueError(f"TFRecord: compression type must be '', 'ZLIB' or 'GZIP', got {value!r}")
    return name


class _ZlibWriter:
    """A binary stream that deflates into ``raw`` with zlib framing (TF's ZLIB option)."""

    def __init__(self, raw: IO[bytes], level: int) -> None:
        self._raw, self._deflate = raw, zlib.compressobj(level)

    def write(self, data: bytes) -> int:
        self._raw.write(self._deflate.compress(data))
        return len(data)

    def flush(self) -> None:
        self._raw.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        self._raw.flush()

    def close(self) -> None:
        self._raw.write(self._deflate.flush(zlib.Z_FINISH))
        self._raw.close()


def _open_for_writing(path: str, options: Any) -> Any:
    kind = compression_name(options)
    level = options.compression_level if isinstance(options, TFRecordOptions) else 6
    if kind == "GZIP":
        return gzip.open(path, "wb", compresslevel=level)
    raw = open(path, "wb")  # noqa: SIM115 - owned by the writer, closed in close()
    return _ZlibWriter(raw, level) if kind == "ZLIB" else raw


class TFRecordWriter:
    """Writes records (bytes) to a TFRecord file; a context manager that closes the file.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")
        >>> with tf.io.TFRecordWriter(path) as writer:
        ...     writer.write(b"first")
        ...     writer.write(b"second")
        >>> list(tf.io.tf_record_iterator(path))
        [b'first', b'second']
    """

    def __init__(self, path: Any, options: Any = None) -> None:
        self._path = os.fspath(path)
        self._stream: Any = _open_for_writing(self._path, options)

    def write(self, record: Any) -> None:
        """Append one record (bytes, or a str encoded as UTF-8)."""
        if self._stream is None:
            raise ValueError(f"TFRecordWriter: the writer of '{self._path}' is closed")
        data = record.encode() if isinstance(record, str) else bytes(record)
        self._stream.write(encode_record(data))

    def flush(self) -> None:
        """Push written records to the file."""
        if self._stream is not None:
            self._stream.flush()

    def close(self) -> None:
        """Flush and close the file; writing afterwards raises."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_compressed(path: str, kind: str) -> IO[bytes]:
    """``path`` opened for reading as a stream of its uncompressed bytes (``kind`` '', 'ZLIB' or 'GZIP').

    Example:
        >>> import gzip, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "lines.gz")
        >>> with open(path, "wb") as f:
        ...     _ = f.write(gzip.compress(b"packed"))
        >>> with open_compressed(path, "GZIP") as stream:
        ...     stream.read()
        b'packed'
    """
    if kind == "":
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    if kind == "GZIP":
        return gzip.open(path, "rb")
    with open(path, "rb") as f:
        raw = f.read()
    if kind == "ZLIB":
        try:
            raw = zlib.decompress(raw)
        except zlib.error as exc:
            raise DataLossError(f"TFRecord file '{path}' is not valid ZLIB data: {exc}") from None
    return io.BytesIO(raw)


def read_records(path: Any, compression_type: Any = None) -> Iterator[bytes]:
    """The records of the TFRecord file at ``path``, each checked against its two CRCs.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "r.tfrecord")
        >>> with TFRecordWriter(path) as w:
        ...     w.write(b"x")
        >>> list(read_records(path))
        [b'x']
    """
    path = os.fspath(path.decode() if isinstance(path, bytes) else path)
    if not os.path.exists(path):
        raise NotFoundError(f"{path}; No such file or directory")
    kind = compression_name(compression_type)
    with open_compressed(path, kind) as stream:
        offset = 0
        while True:
            header = _read_exact(stream, 12, path, offset, allow_eof=True)
            if header is None:
                return
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc32c(header[:8]) != length_crc:
                raise DataLossError(f"corrupted record at {offset} in TFRecord file '{path}': the length's CRC "
                                    "does not match")
            data = _read_exact(stream, length + 4, path, offset)
            if masked_crc32c(data[:length]) != struct.unpack("<I", data[length:])[0]:
                raise DataLossError(f"corrupted record at {offset} in TFRecord file '{path}': the data's CRC does "
                                    "not match")
            yield data[:length]
            offset += 12 + length + 4


def _read_exact(stream: IO[bytes], size: int, path: str, offset: int, allow_eof: bool = False) -> bytes | None:
    try:
        data = stream.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataLossError(f"TFRecord file '{path}' cannot be decompressed at record offset {offset}: {exc}") from None
    if allow_eof and not data:
        return None
    if len(data) != size:
        raise DataLossError(f"truncated record at {offset} in TFRecord file '{path}': needed {size} bytes, found "
                            f"{len(data)}")
    return data


def tf_record_iterator(path: Any, options: Any = None) -> Iterator[bytes]:
    """The records of a TFRecord file, as bytes (TF 1.x's ``tf.io.tf_record_iterator``).

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> path = os.path.join(tempfile.mkdtemp(), "z.tfrecord")
        >>> with tf.io.TFRecordWriter(path, options="ZLIB") as writer:
        ...     writer.write(b"packed")
        >>> list(tf.io.tf_record_iterator(path, options=tf.io.TFRecordOptions("ZLIB")))
        [b'packed']
    """
    if options is not None and not isinstance(options, (TFRecordOptions, str, bytes, int)):
        raise InvalidArgumentError(f"tf_record_iterator: options must be a TFRecordOptions or a compression name, "
                                   f"got {type(options).__name__}")
    return read_records(path, options)
