"""The ``native`` checkpoint format: a protobuf index plus one raw data file.

Files for prefix ``P``:

- ``P.index``: the magic ``TFXINDEX`` then a CheckpointIndex (``proto/checkpoint_index.proto``):
  a body listing each tensor's name, dtype, shape, offset, size and SHA-256, and the body's own
  SHA-256.
- ``P.data-<hash>``: the tensors' bytes back to back. Its name carries a hash of its content (of
  the tensors' names and checksums), so a new save never overwrites the data an existing index
  points to: the index rename is the one commit point, and a save killed at any moment leaves the
  previous checkpoint readable.

Saves of one prefix, from threads or processes, take turns under ``fileio.path_lock(prefix)``; after
committing, a save deletes only the data files that the index then on disk does not name, and the
temporaries of killed saves in its folder (``.<file>.tmp-<host>-<pid>-*`` whose pid is gone).

Reading decodes bytes with ``np.frombuffer`` only; nothing from the file is executed.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import math
import os
import sys
import tempfile
from typing import Any

import numpy as np

from ....proto import checkpoint_index_pb2
from ... import dtypes as _dtypes
from ...errors import DataLossError
from ...fileio import _fsync_dir, atomic_write, path_lock, remove_stale_temps_in, temp_prefix
from ...serialization.tensor_proto import dtype_from_enum, shape_from_proto, shape_to_proto
from ...untrusted import parsing
from . import CheckpointFormat

MAGIC = b"TFXINDEX"
FORMAT_VERSION = 1
_LEN = np.dtype("<u8")


class NativeFormat(CheckpointFormat):
    """Index + raw data file, with per-tensor SHA-256 checksums (see the module docstring).

    Example:
        >>> import numpy as np, os, tempfile
        >>> from tensorflux._internal.checkpoint.formats.native import NativeFormat
        >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
        >>> NativeFormat().write(prefix, {"w": np.ones(3, np.float32)})
        >>> NativeFormat().read(prefix)["w"]
        array([1., 1., 1.], dtype=float32)
    """

    name = "native"

    def files(self, prefix: str) -> list[str]:
        data = [p for p in glob.glob(glob.escape(prefix) + ".data-*") if ".tmp-" not in p]
        return [prefix + ".index"] + sorted(data)

    def detect(self, prefix: str) -> bool:
        try:
            with open(prefix + ".index", "rb") as f:
                return f.read(len(MAGIC)) == MAGIC
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            return False

    # -- writing ---------------------------------------------------------------------------
    def write(self, prefix: str, tensors: dict[str, np.ndarray]) -> None:
        """Write ``tensors`` as the checkpoint ``prefix``, replacing it; safe against concurrent saves.

        Saves of one prefix take turns (``path_lock``: threads and processes). Each writes its data
        file, commits the index by renaming it into place, then deletes only the data files that the
        index current at that moment does not name, and the temporaries of killed saves.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NativeFormat().write(prefix, {"w": np.zeros(2, np.float32)})
            >>> NativeFormat().write(prefix, {"w": np.ones(2, np.float32)})
            >>> len(NativeFormat().files(prefix))  # the index and the one data file it names
            2
        """
        directory = os.path.dirname(os.path.abspath(prefix))
        os.makedirs(directory, exist_ok=True)
        with path_lock(prefix):
            remove_stale_temps_in(directory)
            data_path = self._write_data_and_index(prefix, tensors, directory)
            self._remove_unnamed_data_files(prefix, data_path)

    def _write_data_and_index(self, prefix: str, tensors: dict[str, np.ndarray], directory: str) -> str:
        body = checkpoint_index_pb2.CheckpointIndexBody()
        whole = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(prefix + ".data"), dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                offset = 0
                for name in sorted(tensors):
                    arr = np.asarray(tensors[name])
                    dt = _dtype_of(arr, name)
                    payload = _encode(arr, dt)
                    f.write(payload)
                    digest = hashlib.sha256(payload).digest()
                    whole.update(name.encode("utf-8") + b"\0" + digest)
                    body.tensor.add(name=name, dtype=dt.enum, shape=shape_to_proto(arr.shape), offset=offset,
                                    size=len(payload), sha256=digest)
                    offset += len(payload)
                f.flush()
                os.fsync(f.fileno())
            data_path = f"{prefix}.data-{whole.hexdigest()[:16]}"
            os.replace(tmp, data_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        _fsync_dir(directory)
        body.data_file = os.path.basename(data_path)
        body.data_size = offset
        raw_body = body.SerializeToString()
        index = checkpoint_index_pb2.CheckpointIndex(format_version=FORMAT_VERSION, body=raw_body,
                                                     body_sha256=hashlib.sha256(raw_body).digest())
        with atomic_write(prefix + ".index") as f:
            f.write(MAGIC + index.SerializeToString())
        return data_path

    def _remove_unnamed_data_files(self, prefix: str, data_path: str) -> None:
        # The index on disk now, not the one this save wrote, decides what stays: a writer that
        # bypasses the lock may have committed since, and its data file must survive.
        try:
            named = os.path.join(os.path.dirname(prefix), self.read_index(prefix).data_file)
        except DataLossError:
            return  # cannot tell which data file is live: deleting none is the safe choice
        for stale in self.files(prefix)[1:]:
            if stale != named:  # this save's own data file too, if another index has replaced it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(stale)

    # -- reading ---------------------------------------------------------------------------
    def read_index(self, prefix: str) -> checkpoint_index_pb2.CheckpointIndexBody:
        """The verified index body of ``prefix``; DataLossError names the index file on corruption.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NativeFormat().write(prefix, {"w": np.ones(3, np.float32)})
            >>> [e.name for e in NativeFormat().read_index(prefix).tensor]
            ['w']
        """
        path = prefix + ".index"
        with parsing(f"checkpoint index '{path}'", invalid=DataLossError):
            return self._read_index(path)

    def _read_index(self, path: str) -> checkpoint_index_pb2.CheckpointIndexBody:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise DataLossError(f"checkpoint index '{path}' does not exist") from None
        if raw[:len(MAGIC)] != MAGIC:
            raise DataLossError(f"checkpoint index '{path}' is not a Tensorflux native index (bad magic bytes)")
        index = checkpoint_index_pb2.CheckpointIndex()
        try:
            index.ParseFromString(raw[len(MAGIC):])
        except Exception as exc:  # noqa: BLE001 - any decode failure is corruption
            raise DataLossError(f"checkpoint index '{path}' is corrupt or truncated: {exc}") from None
        if index.format_version > FORMAT_VERSION:
            raise DataLossError(f"checkpoint index '{path}' has layout version {index.format_version}; this Tensorflux "
                                f"reads up to version {FORMAT_VERSION}: upgrade tensorflux")
        if hashlib.sha256(index.body).digest() != index.body_sha256:
            raise DataLossError(f"checkpoint index '{path}' is corrupt or truncated: its checksum does not match")
        body = checkpoint_index_pb2.CheckpointIndexBody()
        body.ParseFromString(index.body)
        return body

    def variables(self, prefix: str) -> dict[str, tuple]:
        """``{name: (DType, shape list)}`` from the index alone.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NativeFormat().write(prefix, {"w": np.ones(3, np.float32)})
            >>> NativeFormat().variables(prefix)
            {'w': (tf.float32, [3])}
        """
        body = self.read_index(prefix)
        out = {}
        for e in body.tensor:
            where = f"variable '{e.name}' in checkpoint index '{prefix}.index'"
            with parsing(where, invalid=DataLossError):
                out[e.name] = (dtype_from_enum(e.dtype, where), shape_from_proto(e.shape, where).as_list())
        return out

    def read(self, prefix: str, names: Any = None) -> dict[str, np.ndarray]:
        """Every tensor of ``prefix`` (or those in ``names``), each checked against its SHA-256 and declared size.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NativeFormat().write(prefix, {"w": np.ones(2, np.float32), "b": np.zeros(1)})
            >>> NativeFormat().read(prefix, names=["b"])
            {'b': array([0.])}
        """
        body = self.read_index(prefix)
        if body.data_file in ("", ".", "..") or os.path.basename(body.data_file) != body.data_file:
            raise DataLossError(f"checkpoint index '{prefix}.index' names data file '{body.data_file}', which is not "
                                "a plain file name")
        data_path = os.path.join(os.path.dirname(prefix), body.data_file)
        with parsing(f"checkpoint data file '{data_path}' (named by '{prefix}.index')", invalid=DataLossError):
            return self._read_data(prefix, body, data_path, names)

    def _read_data(self, prefix: str, body: Any, data_path: str, names: Any) -> dict[str, np.ndarray]:
        if not os.path.isfile(data_path):
            raise DataLossError(f"checkpoint data file '{data_path}' (named by '{prefix}.index') is missing")
        size = os.path.getsize(data_path)
        if size != body.data_size:
            raise DataLossError(f"checkpoint data file '{data_path}' has {size} bytes, but its index says "
                                f"{body.data_size}: the file is truncated or corrupt")
        wanted = None if names is None else set(names)
        out = {}
        with open(data_path, "rb") as f:
            for entry in body.tensor:
                if wanted is not None and entry.name not in wanted:
                    continue
                if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > size:
                    raise DataLossError(f"variable '{entry.name}' in checkpoint data file '{data_path}': its index "
                                        f"entry claims bytes {entry.offset}..{entry.offset + entry.size}, but the file "
                                        f"holds {size}")
                f.seek(entry.offset)
                payload = f.read(entry.size)
                if len(payload) != entry.size or hashlib.sha256(payload).digest() != entry.sha256:
                    raise DataLossError(f"checksum mismatch for variable '{entry.name}' in checkpoint data file "
                                        f"'{data_path}': the file is corrupt")
                out[entry.name] = _decode(payload, entry, data_path)
        return out


def _dtype_of(arr: np.ndarray, name: str) -> _dtypes.DType:
    try:
        return _dtypes.string if arr.dtype.kind in "OSU" else _dtypes.as_dtype(arr.dtype)
    except TypeError:
        raise TypeError(f"cannot save variable '{name}': numpy dtype {arr.dtype} has no tensorflux dtype") from None


def _encode(arr: np.ndarray, dt: _dtypes.DType) -> bytes:
    if dt is _dtypes.string:
        parts = []
        for v in arr.reshape(-1):
            b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
            parts.append(np.array(len(b), dtype=_LEN).tobytes() + b)
        return b"".join(parts)
    a = np.ascontiguousarray(arr, dtype=dt.np_dtype)
    return (a.byteswap() if sys.byteorder == "big" else a).tobytes()


def _decode(payload: bytes, entry: Any, data_path: str) -> np.ndarray:
    where = f"variable '{entry.name}' in checkpoint data file '{data_path}'"
    dt = dtype_from_enum(entry.dtype, where)
    shape = shape_from_proto(entry.shape, where)
    if not shape.is_fully_defined():
        raise DataLossError(f"{where}: stored shape {shape} is not fully defined")
    dims = tuple(shape.as_list())
    # Python ints: a product of crafted dims must not wrap around in int64.
    count = math.prod(dims)
    if dt is _dtypes.string:
        return _decode_strings(payload, count, where).reshape(dims)
    if len(payload) != count * dt.np_dtype.itemsize:
        raise DataLossError(f"{where}: {len(payload)} bytes do not hold a {dt.name} tensor of shape {list(dims)}")
    arr = np.frombuffer(payload, dtype=dt.np_dtype)
    return (arr.byteswap() if sys.byteorder == "big" else arr.copy()).reshape(dims)


def _decode_strings(payload: bytes, count: int, where: str) -> np.ndarray:
    # Each string has an 8-byte length: checked before the object array of `count` slots is allocated.
    if count * _LEN.itemsize > len(payload):
        raise DataLossError(f"{where}: {count} strings need at least {count * _LEN.itemsize} bytes of lengths, but "
                            f"the payload has {len(payload)}")
    out = np.empty(count, dtype=object)
    pos = 0
    for i in range(count):
        if pos + 8 > len(payload):
            raise DataLossError(f"{where}: string data ends early")
        n = int(np.frombuffer(payload, dtype=_LEN, count=1, offset=pos)[0])
        pos += 8
        if pos + n > len(payload):
            raise DataLossError(f"{where}: string data ends early")
        out[i] = payload[pos:pos + n]
        pos += n
    if pos != len(payload):
        raise DataLossError(f"{where}: {len(payload) - pos} unexpected bytes after the strings")
    return out
