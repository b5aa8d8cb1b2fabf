"""The ``tf_bundle`` checkpoint format: TensorFlow's V2 "tensor bundle", read and written byte-compatibly.

Files for prefix ``P``:

- ``P.index``: a LevelDB table (``leveldb_table.py``). Key ``""`` holds a BundleHeaderProto (number of data
  files, byte order, layout version); every other key is a tensor name, in byte order, holding its
  BundleEntryProto: dtype, shape, data file, offset, size and the masked CRC-32C of its bytes.
- ``P.data-SSSSS-of-NNNNN``: the tensors' bytes back to back, little-endian, unaligned. A string tensor
  is each element's length as a varint, a masked CRC-32C of the lengths (as uint32s), then the bytes.

Writing never overwrites a data file the index on disk names: the data file goes first, then the index
is renamed into place (the commit point). Saving over an existing checkpoint ``P`` that names one data
file writes the new data as ``P.data-00000-of-00002`` (an index with two shards, the second unused)
and the other way round, so a save killed at any moment leaves the previous checkpoint readable; after
the commit, the data files the new index does not name are deleted. TensorFlow opens a bundle's data
files only as its entries need them, so it reads both layouts.

Reading verifies every block checksum of the index and every tensor's CRC-32C, checks every size against
the bytes present before allocating, and decodes with ``np.frombuffer``/``readinto`` only.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import re
import struct
import sys
import tempfile
from typing import Any, BinaryIO

import numpy as np

from ....proto import tensor_bundle_pb2
from ... import crc32c, dtypes as _dtypes
from ...errors import DataLossError
from ...fileio import _fsync_dir, atomic_write, path_lock, remove_stale_temps_in, temp_prefix
from ...serialization.tensor_proto import shape_from_proto, shape_to_proto
from ...untrusted import parsing
from . import CheckpointFormat, leveldb_table

HEADER_KEY = b""
BUNDLE_VERSION = 1  # TensorFlow's kTensorBundleVersion: the layout this module reads and writes
MAX_SHARDS = 99999  # data file names hold five digits
_DATA_NAME = re.compile(r"\.data-(\d{5})-of-(\d{5})$")

# Every dtype a bundle can hold as plain bytes, by TF DataType number; those Tensorflux has no DType for
# (unsigned wider than 8 bits, complex) still round-trip through this format as numpy arrays.
_NUMPY_BY_ENUM: dict[int, np.dtype] = {
    **{d.enum: d.np_dtype for d in _dtypes.ALL_DTYPES if d is not _dtypes.string},
    17: np.dtype(np.uint16), 22: np.dtype(np.uint32), 23: np.dtype(np.uint64),
    8: np.dtype(np.complex64), 18: np.dtype(np.complex128),
}
_ENUM_BY_NUMPY = {dt: enum for enum, dt in _NUMPY_BY_ENUM.items()}
_STRING = _dtypes.string.enum


def data_file(prefix: str, shard: int, num_shards: int) -> str:
    """TensorFlow's name for data file ``shard`` of ``num_shards``.

    Example:
        >>> data_file("model", 0, 1)
        'model.data-00000-of-00001'
    """
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def dtype_name(enum: int) -> Any:
    """The Tensorflux DType of a DataType number, or the numpy dtype where Tensorflux has none (uint32, complex64...).

    Example:
        >>> dtype_name(1), dtype_name(8)
        (tf.float32, dtype('complex64'))
    """
    if enum == _STRING:
        return _dtypes.string
    found = _NUMPY_BY_ENUM.get(enum)
    if found is None:
        raise DataLossError(f"DataType {enum} cannot be stored in a tensor bundle by Tensorflux")
    try:
        return _dtypes.as_dtype(found)
    except TypeError:
        return found


class TfBundleFormat(CheckpointFormat):
    """TensorFlow's V2 checkpoint layout (see the module docstring); what ``tf.compat.v1.train.Saver`` writes.

    Example:
        >>> import numpy as np, os, tempfile
        >>> from tensorflux._internal.checkpoint.formats.tf_bundle import TfBundleFormat
        >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
        >>> TfBundleFormat().write(prefix, {"w": np.ones(3, np.float32)})
        >>> sorted(os.path.basename(p) for p in TfBundleFormat().files(prefix))
        ['model.data-00000-of-00001', 'model.index']
        >>> TfBundleFormat().read(prefix)["w"]
        array([1., 1., 1.], dtype=float32)
    """

    name = "tf_bundle"

    def files(self, prefix: str) -> list[str]:
        data = [p for p in glob.glob(glob.escape(prefix) + ".data-*-of-*") if _DATA_NAME.search(p)]
        return [prefix + ".index"] + sorted(data)

    def detect(self, prefix: str) -> bool:
        try:
            with open(prefix + ".index", "rb") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() < leveldb_table.FOOTER_SIZE:
                    return False
                f.seek(-8, os.SEEK_END)
                return leveldb_table.has_magic(f.read(8))
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            return False

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, prefix: str, tensors: dict[str, np.ndarray]) -> None:
        """Write ``tensors`` as the bundle ``prefix``, replacing it; a killed save leaves the previous one intact.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> TfBundleFormat().write(prefix, {"w": np.zeros(2, np.float32)})
            >>> TfBundleFormat().write(prefix, {"w": np.ones(2, np.float32)})  # over it: the other layout
            >>> sorted(os.path.basename(p) for p in TfBundleFormat().files(prefix))
            ['model.data-00000-of-00002', 'model.index']
        """
        if "" in tensors:
            raise ValueError(f"tf_bundle checkpoint '{prefix}': a variable cannot be saved under the empty name, which "
                             "the bundle's header uses")
        directory = os.path.dirname(os.path.abspath(prefix))
        os.makedirs(directory, exist_ok=True)
        with path_lock(prefix):
            remove_stale_temps_in(directory)
            num_shards = 2 if self._live_shards(prefix) == 1 else 1
            entries = self._write_data(prefix, tensors, data_file(prefix, 0, num_shards), directory)
            header = tensor_bundle_pb2.BundleHeaderProto(num_shards=num_shards,
                                                         endianness=tensor_bundle_pb2.BundleHeaderProto.LITTLE)
            header.version.producer = BUNDLE_VERSION
            items = [(HEADER_KEY, header.SerializeToString())] + entries
            with atomic_write(prefix + ".index") as f:
                f.write(leveldb_table.build_table(items))
            self._remove_unnamed_data_files(prefix)

    def _live_shards(self, prefix: str) -> int | None:
        """The shard count of the index on disk now, or None where there is none (or it is unreadable)."""
        try:
            return self._header(self._table(prefix)[0], prefix + ".index").num_shards
        except Exception:  # noqa: BLE001 - whatever is wrong with the old index, this save must go on
            return None

    def _write_data(self, prefix: str, tensors: dict[str, np.ndarray], path: str, directory: str) -> list:
        entries = []
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                offset = 0
                for name in sorted(tensors, key=lambda n: n.encode("utf-8")):
                    entry, size = _write_tensor(f, name, np.asarray(tensors[name]), prefix)
                    entry.offset = offset
                    offset += size
                    entries.append((name.encode("utf-8"), entry.SerializeToString()))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(directory)
        return entries

    def _remove_unnamed_data_files(self, prefix: str) -> None:
        # The index on disk now decides what stays: a writer that bypassed the lock may have committed since.
        shards = self._live_shards(prefix)
        if shards is None:
            return  # cannot tell which data files are live: deleting none is the safe choice
        named = {data_file(prefix, i, shards) for i in range(shards)}
        # Every other data file of the prefix, a native checkpoint's saved over included, is unreferenced now.
        for path in glob.glob(glob.escape(prefix) + ".data-*"):
            if path not in named and ".tmp-" not in os.path.basename(path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    # -- reading ---------------------------------------------------------------------------------------
    def _table(self, prefix: str) -> list[tuple[bytes, bytes]]:
        path = prefix + ".index"
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise DataLossError(f"checkpoint index '{path}' does not exist") from None
        table = leveldb_table.read_table(raw, f"checkpoint index '{path}'")
        if not table or table[0][0] != HEADER_KEY:
            raise DataLossError(f"checkpoint index '{path}' has no bundle header (the entry with the empty key)")
        return table

    def _header(self, item: tuple[bytes, bytes], path: str) -> Any:
        header = tensor_bundle_pb2.BundleHeaderProto()
        try:
            header.ParseFromString(item[1])
        except Exception as exc:  # noqa: BLE001 - any decode failure is corruption
            raise DataLossError(f"checkpoint index '{path}': its bundle header is corrupt: {exc}") from None
        if not 1 <= header.num_shards <= MAX_SHARDS:
            raise DataLossError(f"checkpoint index '{path}' claims {header.num_shards} data files; a bundle has "
                                f"1 to {MAX_SHARDS}")
        if header.endianness not in (0, 1):
            raise DataLossError(f"checkpoint index '{path}' has an unknown byte order {header.endianness}")
        v = header.version
        if v.min_consumer > BUNDLE_VERSION or BUNDLE_VERSION in v.bad_consumers:
            raise DataLossError(f"checkpoint index '{path}' needs a reader of bundle version {v.min_consumer} or "
                                f"newer (not {list(v.bad_consumers)}); Tensorflux reads version {BUNDLE_VERSION}")
        return header

    def read_index(self, prefix: str) -> tuple[Any, dict[str, Any]]:
        """``(header, {name: BundleEntryProto})`` of ``prefix``, checksums verified; errors name the index file.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> TfBundleFormat().write(prefix, {"w": np.ones(3, np.float32)})
            >>> header, entries = TfBundleFormat().read_index(prefix)
            >>> header.num_shards, list(entries), entries["w"].size
            (1, ['w'], 12)
        """
        path = prefix + ".index"
        with parsing(f"checkpoint index '{path}'", invalid=DataLossError):
            table = self._table(prefix)
            header = self._header(table[0], path)
            entries = {}
            for key, raw in table[1:]:
                try:
                    name = key.decode("utf-8")
                except UnicodeDecodeError:
                    if key[:1] == b"\0":
                        continue  # one slice of a partitioned tensor (TF's encoded slice key); its entry says so
                    raise DataLossError(f"checkpoint index '{path}': a tensor name is not UTF-8: {key[:40]!r}") from None
                entry = tensor_bundle_pb2.BundleEntryProto()
                try:
                    entry.ParseFromString(raw)
                except Exception as exc:  # noqa: BLE001
                    raise DataLossError(f"variable '{name}' in checkpoint index '{path}': its entry is corrupt: "
                                        f"{exc}") from None
                if name.startswith("\0"):
                    continue
                entries[name] = entry
        return header, entries

    def variables(self, prefix: str) -> dict[str, tuple]:
        """``{name: (dtype, shape list)}`` from the index alone (a numpy dtype where Tensorflux has no DType).

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> TfBundleFormat().write(prefix, {"w": np.ones((2, 3), np.float32)})
            >>> TfBundleFormat().variables(prefix)
            {'w': (tf.float32, [2, 3])}
        """
        _, entries = self.read_index(prefix)
        out = {}
        for name, entry in entries.items():
            where = f"variable '{name}' in checkpoint index '{prefix}.index'"
            with parsing(where, invalid=DataLossError):
                out[name] = (dtype_name(entry.dtype), shape_from_proto(entry.shape, where).as_list())
        return out

    def read(self, prefix: str, names: Any = None) -> dict[str, np.ndarray]:
        """Every tensor of ``prefix`` (or those in ``names``), each checked against its CRC-32C and size.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> TfBundleFormat().write(prefix, {"w": np.ones(2, np.float32), "s": np.array([b"hi"], object)})
            >>> TfBundleFormat().read(prefix, names=["s"])
            {'s': array([b'hi'], dtype=object)}
        """
        header, entries = self.read_index(prefix)
        wanted = None if names is None else set(names)
        swap = (header.endianness == 1) != (sys.byteorder == "big")
        out: dict[str, np.ndarray] = {}
        files: dict[int, tuple[BinaryIO, int, str]] = {}
        try:
            for name, entry in entries.items():
                if wanted is not None and name not in wanted:
                    continue
                if entry.slices:
                    raise DataLossError(f"variable '{name}' in checkpoint '{prefix}' is partitioned into "
                                        f"{len(entry.slices)} slices; Tensorflux reads only whole tensors")
                if not 0 <= entry.shard_id < header.num_shards:
                    raise DataLossError(f"variable '{name}' in checkpoint index '{prefix}.index' names data file "
                                        f"{entry.shard_id}, but the bundle has {header.num_shards}")
                if entry.shard_id not in files:
                    files[entry.shard_id] = _open_data(data_file(prefix, entry.shard_id, header.num_shards), name,
                                                       prefix)
                f, size, path = files[entry.shard_id]
                with parsing(f"variable '{name}' in checkpoint data file '{path}'", invalid=DataLossError):
                    out[name] = _read_tensor(f, size, path, name, entry, swap)
        finally:
            for f, _, _ in files.values():
                f.close()
        return out


# -- one tensor -----------------------------------------------------------------------------------------
def _write_tensor(f: BinaryIO, name: str, arr: np.ndarray, prefix: str) -> tuple[Any, int]:
    entry = tensor_bundle_pb2.BundleEntryProto(shape=shape_to_proto(arr.shape))
    if arr.dtype.kind in "OSU":
        entry.dtype = _STRING
        payload, crc = _encode_strings(arr)
        f.write(payload)
        entry.size = len(payload)
    else:
        dt = np.dtype(arr.dtype).newbyteorder("=")
        if dt not in _ENUM_BY_NUMPY:
            raise TypeError(f"cannot save variable '{name}' in checkpoint '{prefix}': numpy dtype {arr.dtype} has no "
                            "TensorFlow DataType")
        entry.dtype = _ENUM_BY_NUMPY[dt]
        data = np.ascontiguousarray(arr, dtype=dt.newbyteorder("<"))
        crc = crc32c.value(data)
        f.write(memoryview(data.reshape(-1).view(np.uint8)))
        entry.size = data.nbytes
    entry.crc32c = crc32c.mask(crc)
    return entry, entry.size


def _encode_strings(arr: np.ndarray) -> tuple[bytes, int]:
    items = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1).tolist()]
    lengths = b"".join(leveldb_table.put_varint(len(b)) for b in items)
    crc = crc32c.value(struct.pack(f"<{len(items)}I", *(len(b) & 0xFFFFFFFF for b in items)))
    length_crc = struct.pack("<I", crc32c.mask(crc))
    crc = crc32c.extend(crc, length_crc)
    body = b"".join(items)
    return lengths + length_crc + body, crc32c.extend(crc, body)


def _open_data(path: str, name: str, prefix: str) -> tuple[BinaryIO, int, str]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the caller, with every other shard
    except FileNotFoundError:
        raise DataLossError(f"checkpoint data file '{path}' (needed for variable '{name}', named by '{prefix}.index') "
                            "is missing") from None
    return f, os.fstat(f.fileno()).st_size, path


def _read_tensor(f: BinaryIO, file_size: int, path: str, name: str, entry: Any, swap: bool) -> np.ndarray:
    where = f"variable '{name}' in checkpoint data file '{path}'"
    shape = shape_from_proto(entry.shape, where)
    if not shape.is_fully_defined():
        raise DataLossError(f"{where}: stored shape {shape} is not fully defined")
    dims = tuple(shape.as_list())
    count = math.prod(dims)  # Python ints: crafted dims cannot wrap around
    if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > file_size:
        raise DataLossError(f"{where}: its index entry claims bytes {entry.offset}..{entry.offset + entry.size}, but "
                            f"the file holds {file_size}: the file is truncated or corrupt")
    if entry.dtype == _STRING:
        f.seek(entry.offset)
        payload = f.read(entry.size)
        return _decode_strings(payload, count, entry.crc32c, where).reshape(dims)
    dt = _NUMPY_BY_ENUM.get(entry.dtype)
    if dt is None:
        raise DataLossError(f"{where}: DataType {entry.dtype} is not a dtype Tensorflux reads from a bundle")
    if entry.size != count * dt.itemsize:
        raise DataLossError(f"{where}: {entry.size} bytes do not hold a {dt.name} tensor of shape {list(dims)}")
    arr = np.empty(count, dtype=dt)
    f.seek(entry.offset)
    got = f.readinto(memoryview(arr.view(np.uint8)))
    if got != entry.size:
        raise DataLossError(f"{where}: the file ends {entry.size - got} bytes early")
    if crc32c.unmask(entry.crc32c) != crc32c.value(arr):
        raise DataLossError(f"checksum mismatch for {where}: the file is corrupt")
    if swap:
        arr = arr.byteswap()
    return arr.reshape(dims)


def _decode_strings(payload: bytes, count: int, masked_crc: int, where: str) -> np.ndarray:
    """TensorFlow's string layout: the lengths as varints, their checksum (over them as uint32s), the bytes."""
    lengths, pos = _string_lengths(payload, count, where)
    crc = crc32c.value(struct.pack(f"<{count}I", *(n & 0xFFFFFFFF for n in lengths)))
    if struct.unpack_from("<I", payload, pos)[0] != crc32c.mask(crc):
        raise DataLossError(f"checksum mismatch for {where}: its string lengths are corrupt")
    crc = crc32c.extend(crc32c.extend(crc, payload[pos:pos + 4]), payload[pos + 4:])
    if crc32c.unmask(masked_crc) != crc:
        raise DataLossError(f"checksum mismatch for {where}: the file is corrupt")
    pos += 4
    out = np.empty(count, dtype=object)
    for i, n in enumerate(lengths):
        out[i] = payload[pos:pos + n]
        pos += n
    if pos != len(payload):
        raise DataLossError(f"{where}: {len(payload) - pos} unexpected bytes after the strings")
    return out


def _string_lengths(payload: bytes, count: int, where: str) -> tuple[list[int], int]:
    # Each length takes at least one byte: checked before anything of `count` slots is allocated.
    if count + 4 > len(payload):
        raise DataLossError(f"{where}: {count} strings need at least {count + 4} bytes, but the entry has "
                            f"{len(payload)}")
    lengths, pos, total = [], 0, 0
    for _ in range(count):
        n, pos = leveldb_table.get_varint(payload, pos, len(payload), 64, where)
        lengths.append(n)
        total += n
    if pos + 4 + total > len(payload):
        raise DataLossError(f"{where}: the string lengths add up to {total} bytes, but the entry has "
                            f"{len(payload) - pos - 4} after them")
    return lengths, pos
