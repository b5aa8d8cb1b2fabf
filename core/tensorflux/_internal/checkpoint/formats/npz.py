"""The ``npz`` checkpoint format: one numpy ``.npz`` archive per checkpoint, loaded with ``allow_pickle=False``.

Each variable is one ``.npy`` member named after it. bfloat16, which numpy's format cannot name,
is stored as its 16-bit patterns and listed in the reserved member ``__tensorflux_dtypes__``.
String variables are refused (they would need pickled object arrays); use the native format.
Zip's per-member CRC-32 is verified on load.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import Any

import numpy as np

from ... import dtypes as _dtypes
from ...errors import DataLossError
from ...fileio import atomic_write, path_lock, remove_stale_temps_in
from ...untrusted import check_expansion, parsing
from . import CheckpointFormat

SUFFIX = ".npz"
DTYPES_MEMBER = "__tensorflux_dtypes__"


class NpzFormat(CheckpointFormat):
    """Numpy's ``.npz`` archive (see the module docstring).

    Example:
        >>> import numpy as np, os, tempfile
        >>> from tensorflux._internal.checkpoint.formats.npz import NpzFormat
        >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
        >>> NpzFormat().write(prefix, {"layer/w": np.arange(3)})
        >>> NpzFormat().read(prefix)["layer/w"]
        array([0, 1, 2])
    """

    name = "npz"

    def files(self, prefix: str) -> list[str]:
        return [prefix + SUFFIX]

    def detect(self, prefix: str) -> bool:
        try:
            with open(prefix + SUFFIX, "rb") as f:
                return f.read(4) == b"PK\x03\x04"
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            return False

    def write(self, prefix: str, tensors: dict[str, np.ndarray]) -> None:
        """Write ``tensors`` as ``<prefix>.npz``, replacing it atomically; saves of one prefix take turns.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NpzFormat().write(prefix, {"b": np.zeros(2)})
            >>> sorted(NpzFormat().read(prefix))
            ['b']
        """
        if DTYPES_MEMBER in tensors:
            raise ValueError(f"npz checkpoint: the variable name '{DTYPES_MEMBER}' is reserved by the npz format")
        os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
        special = []
        # The lock keeps a Saver's view of the file (its fingerprint) consistent with what it wrote;
        # atomic_write alone already makes the last rename win with a whole archive.
        remove_stale_temps_in(os.path.dirname(os.path.abspath(prefix)))
        with path_lock(prefix), atomic_write(prefix + SUFFIX) as f, \
                zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for name in sorted(tensors):
                arr = np.asarray(tensors[name])
                if arr.dtype.kind in "OSU":
                    raise TypeError(f"npz checkpoint '{prefix}{SUFFIX}': variable '{name}' holds strings, which the "
                                    "npz format cannot store without pickle; use format='native'")
                if arr.dtype == _dtypes.bfloat16.np_dtype:
                    special.append((name, "bfloat16"))
                    arr = arr.view(np.uint16)
                _write_member(zf, name, arr)
            if special:
                _write_member(zf, DTYPES_MEMBER, np.array(special, dtype=str))

    def read(self, prefix: str) -> dict[str, np.ndarray]:
        """Every variable of ``<prefix>.npz``; sizes are checked against the archive before anything is inflated.

        Each member's declared size must match its ``.npy`` header's shape and dtype, a stored member must
        lie within the archive, and compressed members may inflate to at most ``TENSORFLUX_MAX_EXPANDED_BYTES``
        more than the bytes they occupy. Errors are DataLossError naming the file and the variable.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NpzFormat().write(prefix, {"w": np.arange(2, dtype=np.int32)})
            >>> NpzFormat().read(prefix)
            {'w': array([0, 1], dtype=int32)}
        """
        path = prefix + SUFFIX
        with parsing(f"npz checkpoint '{path}'", invalid=DataLossError):
            out = _read_archive(path)
            records = out.pop(DTYPES_MEMBER, np.empty((0, 2), dtype=str))
            if records.ndim != 2 or records.shape[1] != 2:
                raise DataLossError(f"npz checkpoint '{path}': member '{DTYPES_MEMBER}' has shape {list(records.shape)}, "
                                    "expected [N, 2]")
            for name, dtype_name in records.tolist():
                if name not in out or dtype_name != "bfloat16" or out[name].dtype != np.uint16:
                    raise DataLossError(f"npz checkpoint '{path}': bad dtype record for variable '{name}': {dtype_name}")
                out[name] = out[name].view(_dtypes.bfloat16.np_dtype)
        return out

    def variables(self, prefix: str) -> dict[str, tuple]:
        """``{name: (DType, shape list)}``.

        Example:
            >>> import numpy as np, os, tempfile
            >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
            >>> NpzFormat().write(prefix, {"w": np.zeros((2, 3), np.float32)})
            >>> NpzFormat().variables(prefix)
            {'w': (tf.float32, [2, 3])}
        """
        return {name: (_dtypes.as_dtype(arr.dtype), list(arr.shape)) for name, arr in self.read(prefix).items()}


def _read_archive(path: str) -> dict[str, np.ndarray]:
    try:
        archive_size = os.path.getsize(path)
    except FileNotFoundError:
        raise DataLossError(f"npz checkpoint '{path}' does not exist") from None
    out: dict[str, np.ndarray] = {}
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise DataLossError(f"npz checkpoint '{path}' is corrupt or truncated: {exc}") from None
    with zf:
        infos = zf.infolist()
        _check_sizes(path, infos, archive_size)
        for info in infos:
            name = info.filename[:-len(".npy")]
            where = f"variable '{name}' in npz checkpoint '{path}'"
            if name in out:
                raise DataLossError(f"{where}: the archive holds two members named '{info.filename}'")
            with parsing(where, invalid=DataLossError):
                with zf.open(info) as member:
                    _check_header(member, info, name, where)
                # Sizes verified: numpy reads the member (never unpickling) into an array of the checked size.
                with zf.open(info) as member:
                    arr = np.lib.format.read_array(member, allow_pickle=False)
            out[name] = arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    return out


def _check_sizes(path: str, infos: list, archive_size: int) -> None:
    """Declared sizes against the archive, before any member is read or inflated."""
    packed = inflated = 0
    for info in infos:
        where = f"member '{info.filename}' of npz checkpoint '{path}'"
        if not info.filename.endswith(".npy"):
            raise DataLossError(f"{where}: expected only .npy members (one per variable)")
        if info.compress_size > archive_size:
            raise DataLossError(f"{where} claims {info.compress_size} stored bytes, but the archive has {archive_size}")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise DataLossError(f"{where} is stored uncompressed, yet claims {info.file_size} bytes in "
                                    f"{info.compress_size}")
        else:
            packed += info.compress_size
            inflated += info.file_size
    check_expansion(inflated, packed, f"npz checkpoint '{path}' (its compressed members)")


def _check_header(member: Any, info: zipfile.ZipInfo, name: str, where: str) -> None:
    """The ``.npy`` header's shape and dtype against the member's declared size, and the dtype against ours."""
    version = np.lib.format.read_magic(member)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0,
                   (3, 0): getattr(np.lib.format, "_read_array_header", None)}.get(version)
    if read_header is None:
        raise DataLossError(f"{where}: .npy format version {version} is not supported")
    shape, _, dtype = read_header(member) if version != (3, 0) else read_header(member, version)
    wanted = "U" if name == DTYPES_MEMBER else "biuf"
    if dtype.hasobject or dtype.kind not in wanted or not dtype.itemsize:
        raise DataLossError(f"{where}: dtype {dtype} is not a tensor dtype this format stores")
    if name != DTYPES_MEMBER and dtype.newbyteorder("=") != np.uint16:  # uint16: bfloat16's bit patterns
        _dtypes.as_dtype(dtype.newbyteorder("="))
    nbytes = math.prod(shape) * dtype.itemsize
    header = member.tell()
    if header + nbytes != info.file_size:
        raise DataLossError(f"{where}: its header says {dtype} of shape {list(shape)} ({nbytes} bytes), but the "
                            f"member holds {info.file_size - header}")


def _write_member(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(name + ".npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.asarray(arr, order="C"), allow_pickle=False)
